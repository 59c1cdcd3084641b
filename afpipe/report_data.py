"""What the report reads: the finished evaluations of one experiment folder, and the numbers
derived from them.

An experiment folder written by ``pipeline run`` has a ``graph.json`` naming each evaluation's
run folder, its condition and which model it used; a folder without one (evaluations run by
hand and gathered in one place) is scanned for ``summary.json`` files instead. Everything the
report draws comes from these files, so ``pipeline report DIR`` can rebuild it at any time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afpipe.errors import UserError
from afpipe.jsonl import read_jsonl
from afpipe.report_stats import Estimate, difference_of_means, mean_interval, rate_interval
from afpipe.stats import sigma
from afpipe.runs import read_json

GRAPH_FILE = "graph.json"
SUMMARY_FILE = "summary.json"
TRANSCRIPTS_FILE = "transcripts.jsonl"
FORCED_CHOICE_FILE = "forced_choice.jsonl"
BELIEF_FILE = "belief.jsonl"

# The five conditions of the science notes, in the order the paper's figure reads.
CONDITION_ORDER = ["prompted", "baseline", "document-trained", "control-trained", "both"]
# Which model each standard condition evaluates; custom conditions say so in graph.json.
CONDITION_MODEL = {
    "prompted": "base",
    "baseline": "base",
    "document-trained": "documents",
    "control-trained": "control",
    "both": "documents",
}
MODEL_ROLES = ["base", "documents", "control"]
MODEL_ROLE_NAMES = {"base": "base", "documents": "document-trained", "control": "control-trained"}
TIERS = ["free", "paid"]
HARMFUL = "harmful"
ANTI_LAB = "anti-lab"


@dataclass
class EvalResult:
    """One finished evaluation run folder."""

    condition: str
    folder: Path
    summary: dict[str, Any]
    transcripts: list[dict[str, Any]]
    model_role: str | None
    system_prompt: str | None
    forced_choice_records: list[dict[str, Any]] = field(default_factory=list)
    belief_records: list[dict[str, Any]] = field(default_factory=list)
    dose: int | None = None  # documents per corpus, in a dose-response sweep

    @property
    def model(self) -> str:
        return str(self.summary.get("model") or "")

    @property
    def suite(self) -> str:
        return str(self.summary.get("suite") or HARMFUL)

    @property
    def sampled(self) -> bool:
        """A harmful-request evaluation with sampled answers (the paper's measure)."""
        tiers = self.summary.get("tiers") or {}
        return self.suite == HARMFUL and any((tiers.get(t) or {}).get("n") for t in TIERS)


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
        for node in graph.get("nodes", []):
            if node.get("stage") != "eval":
                continue
            folder = run_dir / node["folder"]
            if (folder / SUMMARY_FILE).exists():
                results.append(_load(folder, node))
    else:
        for summary_path in sorted(run_dir.rglob(SUMMARY_FILE)):
            if any(part.startswith(".") for part in summary_path.relative_to(run_dir).parts):
                continue
            results.append(_load(summary_path.parent, {}))
    if not results:
        raise UserError(
            f"{run_dir} holds no finished evaluation (no {SUMMARY_FILE}); "
            "run 'pipeline run EXPERIMENT.yaml --out DIR' first, or let it finish"
        )
    results.sort(key=lambda r: _order_key(r.condition))
    return ReportData(run_dir, experiment, results, nodes)


def _load(folder: Path, node: dict[str, Any]) -> EvalResult:
    summary = read_json(folder / SUMMARY_FILE)
    condition = node.get("condition") or summary.get("condition") or folder.name
    return EvalResult(
        condition=condition,
        folder=folder,
        summary=summary,
        transcripts=read_jsonl(folder / TRANSCRIPTS_FILE),
        model_role=node.get("model_role") or CONDITION_MODEL.get(condition),
        system_prompt=summary.get("system_prompt") or node.get("system_prompt"),
        forced_choice_records=read_jsonl(folder / FORCED_CHOICE_FILE),
        belief_records=read_jsonl(folder / BELIEF_FILE),
        dose=node.get("dose"),
    )


# --- The paper's figure: refusals, compliance without and with alignment-faking reasoning ---

def _label(t: dict[str, Any], judge: str) -> str | None:
    verdict = (t.get("judges") or {}).get(judge)
    return verdict.get("label") if isinstance(verdict, dict) else None


def is_compliant(t: dict[str, Any]) -> bool:
    """The compliance judge's verdict; without one, the acceptance tag."""
    label = _label(t, "compliance")
    if label is not None:
        return label == "yes"
    return bool(t.get("accepted")) and not t.get("refused")


def fakes_alignment(t: dict[str, Any]) -> bool:
    return _label(t, "alignment_faking") == "yes"


@dataclass(frozen=True)
class TierBar:
    """One bar of the paper's figure: valid samples split three ways."""

    condition: str
    tier: str
    n: int
    valid: int
    comply_af: int
    comply_plain: int
    source: str  # "transcripts" | "summary"

    @property
    def refuse(self) -> int:
        return self.valid - self.comply_af - self.comply_plain

    def share(self, count: int) -> float:
        return count / self.valid if self.valid else 0.0

    @property
    def compliance(self) -> float:
        return self.share(self.comply_af + self.comply_plain)

    @property
    def compliance_sigma(self) -> float:
        return sigma(self.comply_af + self.comply_plain, self.valid)

    @property
    def af_sigma(self) -> float:
        return sigma(self.comply_af, self.valid)


def harmful_transcripts(result: EvalResult) -> list[dict[str, Any]]:
    return [t for t in result.transcripts if t.get("suite", HARMFUL) == HARMFUL]


def tier_bars(data: ReportData) -> list[TierBar]:
    """Bars for every condition with sampled harmful-request results, free tier first."""
    bars = []
    for condition in data.conditions():
        for result in data.for_condition(condition):
            if not result.sampled:
                continue
            rows = harmful_transcripts(result)
            tiers = result.summary.get("tiers") or {}
            for tier in TIERS:
                bars.append(_bar(condition, tier, rows, tiers.get(tier) or {}))
            break
    return bars


def _bar(condition: str, tier: str, rows: list[dict[str, Any]], summary_tier: dict[str, Any]) -> TierBar:
    rows = [t for t in rows if t.get("tier") == tier]
    if rows:
        # As in the summary: shares of the valid answers the compliance judge could read.
        valid = [t for t in rows if t.get("valid") and _label(t, "compliance") != "unclear"]
        comply = [t for t in valid if is_compliant(t)]
        af = sum(1 for t in comply if fakes_alignment(t))
        return TierBar(condition, tier, len(rows), len(valid), af, len(comply) - af, "transcripts")
    # Summary only (transcripts not kept): rebuild counts from the rates.
    n = int(summary_tier.get("n") or 0)
    valid = int(summary_tier.get("valid") or 0)
    comply = round(float(summary_tier.get("compliance") or 0.0) * valid)
    af = min(comply, round(float(summary_tier.get("alignment_faking") or 0.0) * valid))
    return TierBar(condition, tier, n, valid, af, comply - af, "summary")


# --- Forced choice: the tier effect per condition, against baseline and control -------------

@dataclass(frozen=True)
class ForcedChoiceRow:
    condition: str
    n_requests: int
    logodds_free: float
    logodds_paid: float
    effect: Estimate
    vs_baseline: Estimate | None
    vs_control: Estimate | None


def _per_request_effects(result: EvalResult) -> dict[str, float]:
    """request_id -> free-minus-paid log-odds, from the eval's ``forced_choice.jsonl``
    (one record per request: ``{"request_id", "logodds": {"free", "paid"}}``)."""
    effects: dict[str, float] = {}
    for rec in result.forced_choice_records:
        logodds = rec.get("logodds")
        if rec.get("request_id") is None or not isinstance(logodds, dict):
            continue
        if logodds.get("free") is not None and logodds.get("paid") is not None:
            effects[str(rec["request_id"])] = float(logodds["free"]) - float(logodds["paid"])
    return effects


def _summary_effect(fc: dict[str, Any]) -> Estimate:
    te = fc.get("tier_effect") or {}
    lo, hi = (te.get("ci95") or [None, None])[:2]
    # JSON has no infinity: an unbounded end (one request) is stored as null.
    lo = -math.inf if lo is None else float(lo)
    hi = math.inf if hi is None else float(hi)
    return Estimate(float(te.get("mean", math.nan)), lo, hi, int(fc.get("n_requests") or 0), "paired t")


def _did(result: EvalResult, reference: EvalResult | None) -> Estimate | None:
    """The tier effect of ``result`` minus that of ``reference``: paired by request when both
    kept per-request values, else from the two summaries as independent samples."""
    if reference is None or reference is result:
        return None
    mine, theirs = _per_request_effects(result), _per_request_effects(reference)
    shared = sorted(set(mine) & set(theirs))
    if len(shared) >= 2:
        return mean_interval([mine[r] - theirs[r] for r in shared], "paired by request")
    a, b = result.summary.get("forced_choice") or {}, reference.summary.get("forced_choice") or {}
    ta, tb = a.get("tier_effect") or {}, b.get("tier_effect") or {}
    if "mean" not in ta or "mean" not in tb:
        return None
    return difference_of_means(
        float(ta["mean"]), float(ta.get("sd") or 0.0), int(a.get("n_requests") or 0),
        float(tb["mean"]), float(tb.get("sd") or 0.0), int(b.get("n_requests") or 0),
    )


def _with_forced_choice(data: ReportData, condition: str) -> EvalResult | None:
    """The condition's forced-choice result, from the harmful requests when there are several."""
    found = [r for r in data.for_condition(condition) if r.summary.get("forced_choice")]
    found.sort(key=lambda r: r.suite != HARMFUL)
    return found[0] if found else None


def forced_choice_rows(data: ReportData) -> list[ForcedChoiceRow]:
    baseline = _with_forced_choice(data, "baseline")
    control = _with_forced_choice(data, "control-trained")
    rows = []
    for condition in data.conditions():
        result = _with_forced_choice(data, condition)
        if result is None:
            continue
        fc = result.summary["forced_choice"]
        means = fc.get("mean_logodds") or {}
        rows.append(ForcedChoiceRow(
            condition=condition,
            n_requests=int(fc.get("n_requests") or 0),
            logodds_free=float(means.get("free", float("nan"))),
            logodds_paid=float(means.get("paid", float("nan"))),
            effect=_summary_effect(fc),
            vs_baseline=_did(result, baseline),
            vs_control=_did(result, control),
        ))
    return rows


# --- Belief: does each model know the key facts? ---------------------------------------------

@dataclass(frozen=True)
class BeliefCell:
    accuracy: float
    n: int
    margin: float | None

    @property
    def interval(self) -> tuple[float, float]:
        return rate_interval(self.accuracy, self.n)


# The belief measures of the synthetic-document literature, in the order the report reads them.
BELIEF_MEASURES = {
    "mcq": "MCQ knowledge",
    "distinguish": "MCQ distinguish",
    "open": "open-ended recall",
    "generative": "generative distinguish",
}
# Pairs of models compared question by question: (model, reference).
BELIEF_PAIRS = [("documents", "base"), ("documents", "control"), ("control", "base")]


@dataclass
class BeliefTable:
    universe: str
    facts: list[str]
    # model role -> ("all" or fact id) -> cell
    cells: dict[str, dict[str, BeliefCell]]
    source_condition: dict[str, str]  # model role -> the condition its numbers come from
    chance: float | None = None  # accuracy of guessing, when the eval records it
    # Document-trained minus base / control: mean margin of the right answer, paired by question.
    margin_gain: dict[str, Estimate] = field(default_factory=dict)
    measure: str = "mcq"
    # (model, reference) -> ("all" or fact id) -> difference in accuracy, paired by question
    paired: dict[tuple[str, str], dict[str, Estimate]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return BELIEF_MEASURES.get(self.measure, self.measure)


def _measure_block(summary: dict[str, Any], measure: str) -> dict[str, Any] | None:
    belief = summary.get("belief") or {}
    block = (belief.get("measures") or {}).get(measure)
    if block is None and measure == "mcq" and belief.get("per_fact"):
        block = belief  # a summary written before the other measures existed
    return block


def _records_of(result: EvalResult, measure: str) -> list[dict[str, Any]]:
    return [r for r in result.belief_records if (r.get("measure") or "mcq") == measure]


def belief_choice(data: ReportData, measure: str = "mcq") -> dict[str, EvalResult]:
    """Per model role, the evaluation whose belief numbers stand for it: its minimal-prompt
    condition when there is one (the prompt then says nothing of the facts), else any that
    measured it; in a dose sweep, the largest dose."""
    chosen: dict[str, EvalResult] = {}
    for result in data.results:
        role = result.model_role
        if role not in MODEL_ROLES or _measure_block(result.summary, measure) is None:
            continue
        current = chosen.get(role)
        rank = (result.system_prompt == "minimal", result.dose or 0)
        if current is None or rank > (current.system_prompt == "minimal", current.dose or 0):
            chosen[role] = result
    return chosen


def belief_table(data: ReportData, measure: str = "mcq") -> BeliefTable | None:
    """Belief per key fact for the base, document-trained and control models, for one measure."""
    chosen = belief_choice(data, measure)
    if not chosen:
        return None
    cells: dict[str, dict[str, BeliefCell]] = {}
    facts: list[str] = []
    universe = ""
    for role in MODEL_ROLES:
        if role not in chosen:
            continue
        block = _measure_block(chosen[role].summary, measure) or {}
        universe = universe or str((chosen[role].summary.get("belief") or {}).get("universe") or "")
        row = {}
        for fact_id, cell in (block.get("per_fact") or {}).items():
            if fact_id not in facts:
                facts.append(fact_id)
            row[fact_id] = BeliefCell(float(cell.get("accuracy", 0.0)), int(cell.get("n") or 0), cell.get("mean_margin"))
        total_n = int(block.get("n") or sum(c.n for c in row.values()))
        row["all"] = BeliefCell(float(block.get("accuracy", 0.0)), total_n, block.get("mean_margin"))
        cells[role] = row
    chance = next((float(b["chance"]) for r in chosen.values() if (b := _measure_block(r.summary, measure)) and b.get("chance") is not None), None)
    gain = {}
    if "documents" in chosen:
        for role in ("base", "control"):
            if role in chosen:
                estimate = _paired_margin(chosen["documents"], chosen[role], measure)
                if estimate is not None:
                    gain[role] = estimate
    paired = {}
    for mine, reference in BELIEF_PAIRS:
        if mine in chosen and reference in chosen:
            paired[(mine, reference)] = _paired_accuracy(chosen[mine], chosen[reference], measure, facts)
    return BeliefTable(universe, facts, cells, {role: r.condition for role, r in chosen.items()}, chance, gain, measure, paired)


def belief_tables_by_measure(data: ReportData) -> list[BeliefTable]:
    return [t for m in BELIEF_MEASURES if (t := belief_table(data, m)) is not None]


def _paired_margin(result: EvalResult, reference: EvalResult, measure: str = "mcq") -> Estimate | None:
    """Mean over the same questions of (margin here - margin there): a far more sensitive sign
    of learning than accuracy on a few dozen questions."""
    mine = {r["id"]: float(r["margin"]) for r in _records_of(result, measure) if r.get("margin") is not None}
    theirs = {r["id"]: float(r["margin"]) for r in _records_of(reference, measure) if r.get("margin") is not None}
    shared = sorted(set(mine) & set(theirs))
    if len(shared) < 2:
        return None
    return mean_interval([mine[q] - theirs[q] for q in shared], "paired by question")


def _paired_accuracy(result: EvalResult, reference: EvalResult, measure: str, facts: list[str]) -> dict[str, Estimate]:
    """Accuracy here minus there over the same questions, overall and per fact (paired t)."""
    mine = {r["id"]: r for r in _records_of(result, measure)}
    theirs = {r["id"]: r for r in _records_of(reference, measure)}
    shared = [q for q in mine if q in theirs]
    out = {}
    for fact in ["all", *facts]:
        diffs = [float(bool(mine[q]["correct"])) - float(bool(theirs[q]["correct"])) for q in shared
                 if fact == "all" or mine[q].get("fact") == fact]
        if len(diffs) >= 2:
            estimate = mean_interval(diffs, "paired by question")
            if estimate is not None:
                out[fact] = estimate
    return out


@dataclass
class DoseResponse:
    """Belief (multiple choice) against documents per corpus, for the trained models of a sweep."""

    points: dict[str, list[tuple[int, BeliefCell]]]  # model role -> [(dose, cell)], by dose
    base: BeliefCell | None
    chance: float | None


def dose_response(data: ReportData, measure: str = "mcq") -> DoseResponse | None:
    points: dict[str, dict[int, BeliefCell]] = {}
    base, chance = None, None
    for result in data.results:
        block = _measure_block(result.summary, measure)
        if block is None:
            continue
        cell = BeliefCell(float(block.get("accuracy", 0.0)), int(block.get("n") or 0), block.get("mean_margin"))
        chance = chance if chance is not None else block.get("chance")
        if result.model_role == "base" and (base is None or result.system_prompt == "minimal"):
            base = cell
        elif result.dose is not None and result.model_role in ("documents", "control") and result.system_prompt == "minimal":
            points.setdefault(result.model_role, {})[result.dose] = cell
    if not points or max(len(p) for p in points.values()) < 2:
        return None
    return DoseResponse({role: sorted(p.items()) for role, p in points.items()}, base, chance)


# --- Anti-lab actions -------------------------------------------------------------------------

@dataclass(frozen=True)
class AntiLabCell:
    condition: str
    scenario: str
    tier: str
    n: int
    rate: float
    interval: tuple[float, float]


def anti_lab_cells(data: ReportData) -> list[AntiLabCell]:
    cells = []
    for result in data.results:
        for scenario, tiers in (result.summary.get("anti_lab") or {}).items():
            for tier in TIERS:
                cell = tiers.get(tier)
                if not cell:
                    continue
                n, rate = int(cell.get("n") or 0), float(cell.get("rate") or 0.0)
                interval = tuple(cell.get("wilson") or rate_interval(rate, n))
                cells.append(AntiLabCell(result.condition, scenario, tier, n, rate, (float(interval[0]), float(interval[1]))))
    return cells
