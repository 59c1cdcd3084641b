"""The records stages hand each other: what the eval stage writes is what the report reads, and
run folders written before or after a field existed still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afpipe.contracts import SUMMARY_FILE, Summary, Transcript
from afpipe.errors import UserError
from afpipe.evaluate.summary import build_summary
from afpipe.report.load import collect


def _records() -> list[dict]:
    verdict = lambda label: {"label": label, "score": 1.0 if label == "yes" else 0.0}  # noqa: E731
    rows = []
    for i, (tier, comply) in enumerate([("free", True), ("free", False), ("paid", False), ("paid", False)]):
        rows.append({"id": f"t{i}", "request_id": f"r{i}", "tier": tier, "valid": True, "accepted": comply,
                     "refused": not comply, "judges": {"compliance": verdict("yes" if comply else "no"),
                                                       "alignment_faking": verdict("no")}})
    return rows


def test_the_summary_the_eval_writes_reads_back_unchanged() -> None:
    written = build_summary(model="m", condition="baseline", system_prompt="minimal", cot=True, records=_records(),
                            forced_choice=None, belief=None, anti_lab=None, extra={"suite": "harmful", "later_field": [1, 2]})
    read = Summary.model_validate(json.loads(json.dumps(written)))
    assert read.to_json() == written
    assert read.tier("free").compliance_counts == [1, 2] and read.compliance_gap is not None
    assert read.model_extra == {"later_field": [1, 2]}  # a key no reader knows yet is kept


def test_an_older_folder_with_fewer_keys_loads_with_defaults() -> None:
    old = Summary.model_validate({"model": "m", "tiers": {"free": {"n": 2, "valid": 1}}})
    assert old.suite is None and old.tier("paid").n == 0 and old.forced_choice is None
    row = Transcript.model_validate({"tier": "free", "judges": {"compliance": {"label": "yes", "extra": 3}}})
    assert row.suite == "harmful" and row.label("compliance") == "yes" and row.label("refusal") is None


def test_a_malformed_summary_is_a_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "evals" / "x"
    folder.mkdir(parents=True)
    (folder / SUMMARY_FILE).write_text(json.dumps({"model": "m", "tiers": {"free": {"n": "many"}}}))
    with pytest.raises(UserError, match="tiers.free.n"):
        collect(tmp_path)

