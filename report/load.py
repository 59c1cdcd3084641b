"""What the report reads: the finished evaluations of one experiment folder.

An experiment folder written by ``pipeline run`` has a ``graph.json`` naming each evaluation's
run folder, its condition and which model it used; a folder without one (evaluations run by
hand and gathered in one place) is scanned for ``summary.json`` files instead. Everything the
report draws comes from these files, read through the records of ``afpipe.contracts``, so
``pipeline report DIR`` can rebuild it at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from afpipe.contracts import (
    BELIEF_FILE,
    CONDITION_MODEL,
    CONDITION_ORDER,
    FORCED_CHOICE_FILE,
    GRAPH_FILE,
    HARMFUL_SUITE,
    SUMMARY_FILE,
    TIERS,
    TRANSCRIPTS_FILE,
    Summary,
    Transcript,
)
from afpipe.errors import UserError
from afpipe.jsonl import read_jsonl
from afpipe.runs import read_json


@dataclass
class EvalResult:
    """One finished evaluation run folder."""

    condition: str
    folder: Path
    summary: Summary
    transcripts: list[Transcript]
    model_role: str | None
    system_prompt: str | None
    forced_choice_records: list[dict[str, Any]] = field(default_factory=list)
    belief_records: list[dict[str, Any]] = field(default_factory=list)
    dose: int | None = None  # documents per corpus, in a dose-response sweep

    @property
    def model(self) -> str:
        return self.summary.model or ""

    @property
    def suite(self) -> str:
        return self.summary.suite or HARMFUL_SUITE

    @property
    def sampled(self) -> bool:
        """A harmful-request evaluation with sampled answers (the paper's measure)."""
        return self.suite == HARMFUL_SUITE and any(self.summary.tier(t).n for t in TIERS)

    def answers(self) -> tuple[int, int]:
        """(valid, all) sampled answers over both tiers, from the summary."""
        return (sum(self.summary.tier(t).valid for t in TIERS), sum(self.summary.tier(t).n for t in TIERS))


@dataclass
class ReportData:
    run_dir: Path
    experiment: dict[str, Any]  # graph.json's "experiment" block (name, model, corpus sizes...)
    results: list[EvalResult]
    nodes: list[dict[str, Any]] = field(default_factory=list)  # graph.json's stage runs, when there is one

    def conditions(self) -> list[str]:
        seen: list[str] = []
        for r in self.results:
            if r.condition not in seen:
                seen.append(r.condition)
        return seen

    def for_condition(self, condition: str) -> list[EvalResult]:
        return [r for r in self.results if r.condition == condition]


def _order_key(condition: str) -> tuple[int, str]:
    return (CONDITION_ORDER.index(condition) if condition in CONDITION_ORDER else len(CONDITION_ORDER), condition)


def collect(run_dir: str | Path) -> ReportData:
    """Read every finished evaluation under ``run_dir`` (see the module docstring)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a folder; pass the --out folder of 'pipeline run'")
    graph_path = run_dir / GRAPH_FILE
    experiment: dict[str, Any] = {}
    results: list[EvalResult] = []
    nodes: list[dict[str, Any]] = []
    if graph_path.exists():
        graph = read_json(graph_path)
        experiment = graph.get("experiment", {})
        nodes = graph.get("nodes", [])
        for node in nodes:
            if node.get("stage") != "eval":
                continue
            folder = run_dir / node["folder"]
            if (folder / SUMMARY_FILE).exists():
                results.append(load_result(folder, node))
    else:
        for summary_path in sorted(run_dir.rglob(SUMMARY_FILE)):
            if any(part.startswith(".") for part in summary_path.relative_to(run_dir).parts):
                continue
            results.append(load_result(summary_path.parent, {}))
    if not results:
        raise UserError(
            f"{run_dir} holds no finished evaluation (no {SUMMARY_FILE}); "
            "run 'pipeline run EXPERIMENT.yaml --out DIR' first, or let it finish"
        )
    results.sort(key=lambda r: _order_key(r.condition))
    return ReportData(run_dir, experiment, results, nodes)


def load_result(folder: Path, node: dict[str, Any]) -> EvalResult:
    """One eval run folder; ``node`` is its graph.json entry ({} without a graph)."""
    summary = _parse(Summary, read_json(folder / SUMMARY_FILE), folder / SUMMARY_FILE)
    transcripts = [_parse(Transcript, row, folder / TRANSCRIPTS_FILE) for row in read_jsonl(folder / TRANSCRIPTS_FILE)]
    condition = node.get("condition") or summary.condition or folder.name
    return EvalResult(
        condition=condition,
        folder=folder,
        summary=summary,
        transcripts=transcripts,
        model_role=node.get("model_role") or CONDITION_MODEL.get(condition),
        system_prompt=summary.system_prompt or node.get("system_prompt"),
        forced_choice_records=read_jsonl(folder / FORCED_CHOICE_FILE),
        belief_records=read_jsonl(folder / BELIEF_FILE),
        dose=node.get("dose"),
    )


def _parse(record: type, row: Any, path: Path):
    try:
        return record.model_validate(row)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{path} does not hold eval records ({where}: {first['msg']}); rerun the eval stage into that folder") from None
