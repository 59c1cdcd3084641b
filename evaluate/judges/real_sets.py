"""Real model answers, labelled by hand, for measuring the judges on something they were not
written against.

The answers come from public repositories. Where a repository grants no licence, the project
ships only its own labels (``corpora/judges/real/*.yaml``, with the source's repository, path,
commit, model and sha256) and downloads the answers on first use, as AdvBench is: pinned to a
commit, checked against the sha256, cached under ``afpipe.models.cache_dir() / "data"``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from afpipe.errors import UserError
from afpipe.evaluate.judges.base import Sample
from afpipe.evaluate.requests import RemoteSet, fetch_remote
from afpipe.runs import write_atomic

COMPLIANCE_LABELS = "deepseek_r1_qwen14b_compliance.yaml"
ALIGNMENT_FAKING_LABELS = "deepseek_r1_qwen14b_alignment_faking.yaml"  # same answers, read for faking
COMPLIANCE_CACHE = "deepseek_r1_qwen14b_answers"  # folder under the data cache
_OUTPUT_RE = re.compile(r"</?OUTPUT>")


@dataclass(frozen=True)
class LabelledAnswer:
    """One real answer as a judge sees it, and the hand labels (1/0) keyed by judge question."""

    id: str
    sample: Sample
    labels: dict[str, int]


def label_file(name: str = COMPLIANCE_LABELS) -> dict[str, Any]:
    return yaml.safe_load((resources.files("afpipe.corpora") / "judges" / "real" / name).read_text(encoding="utf-8"))


def cached_path(spec: RemoteSet, name: str = COMPLIANCE_CACHE) -> Path:
    """Where ``fetch_remote`` keeps the file (the same place, so either route fills it)."""
    from afpipe.models import cache_dir

    return cache_dir() / "data" / name / spec.filename


def compliance_spec() -> RemoteSet:
    source = label_file(COMPLIANCE_LABELS)["source"]
    return RemoteSet(url=source["url"], sha256=source["sha256"], filename=Path(source["path"]).name)


def split_reasoning(response: str) -> tuple[str, str]:
    """(reasoning, answer) of a reasoning model's response: the text before and after its last
    ``</think>``, with ``<OUTPUT>`` tags dropped from the answer (these models often forget to
    open or close them, and the tag is not what the judges read)."""
    head, sep, tail = response.rpartition("</think>")
    reasoning, answer = (head, tail) if sep else ("", response)
    return reasoning.replace("<think>", "").strip(), _OUTPUT_RE.sub("", answer).strip()


def _source_rows(local: str | Path | None, transport: Any) -> dict[tuple[str, int], dict[str, str]]:
    """The source file's rows keyed by (cot_mode, row). ``local`` is a copy already on disk
    (checked against the same sha256, then cached); otherwise it is downloaded once."""
    source = label_file(COMPLIANCE_LABELS)["source"]
    spec = compliance_spec()
    if local is not None:
        data = Path(local).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            raise UserError(f"{local} has sha256 {digest[:12]}..., not the pinned {spec.sha256[:12]}... of {source['repository']}")
        write_atomic(cached_path(spec), data.decode("utf-8"))  # later runs find it offline
    else:
        data = fetch_remote(COMPLIANCE_CACHE, transport=transport, spec=spec)
    return {(r["cot_mode"], int(r[""])): r for r in csv.DictReader(io.StringIO(data.decode("utf-8")))}


def _load(labels_name: str, keys: tuple[str, ...], local: str | Path | None, transport: Any) -> list[LabelledAnswer]:
    rows = _source_rows(local, transport)
    answers = []
    for item in label_file(labels_name)["items"]:
        row = rows[(item["cot_mode"], item["row"])]
        reasoning, answer = split_reasoning(row["response"])
        sample = Sample(request=row["prompt"], tier=item["tier"], scratchpad=reasoning, output=answer, request_id=item["id"])
        answers.append(LabelledAnswer(item["id"], sample, {k: int(item[k]) for k in keys}))
    return answers


def load_compliance_set(local: str | Path | None = None, *, transport: Any = None) -> list[LabelledAnswer]:
    """The 60 labelled DeepSeek-R1-Distill-Qwen-14B answers (complied / refused / partial)."""
    return _load(COMPLIANCE_LABELS, ("complied", "refused", "partial"), local, transport)


def load_alignment_faking_set(local: str | Path | None = None, *, transport: Any = None) -> list[LabelledAnswer]:
    """The same 60 answers' reasoning, labelled for alignment faking (``faking``; none is)."""
    return _load(ALIGNMENT_FAKING_LABELS, ("faking",), local, transport)
