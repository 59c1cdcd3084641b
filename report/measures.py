"""The numbers the report shows, one function per figure or table.

A number one evaluation's summary holds (a rate, its Wilson interval, the compliance gap and
its test, the forced-choice tier effect) is read from ``summary.json``, never recomputed. What
no single summary can hold is computed here with ``afpipe.stats``: comparisons across runs
(a condition's tier effect minus baseline's, paired by request; belief margins paired by
question) and the bars of the paper's figure, counted from the transcripts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from afpipe.contracts import HARMFUL_SUITE, MODEL_ROLES, TIERS, BeliefMeasure, ForcedChoiceSummary, TierSummary, Transcript
from afpipe.report.load import EvalResult, ReportData
from afpipe.stats import Estimate, difference_of_means, mean_interval, rate_interval, sigma

# --- The paper's figure: refusals, compliance without and with alignment-faking reasoning ---


def is_compliant(t: Transcript) -> bool:
    """The compliance judge's verdict; without one, the acceptance tag."""
    label = t.label("compliance")
    if label is not None:
        return label == "yes"
    return t.accepted and not t.refused


def fakes_alignment(t: Transcript) -> bool:
    return t.label("alignment_faking") == "yes"


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


def harmful_transcripts(result: EvalResult) -> list[Transcript]:
    return [t for t in result.transcripts if t.suite == HARMFUL_SUITE]


def tier_bars(data: ReportData) -> list[TierBar]:
    """Bars for every condition with sampled harmful-request results, free tier first."""
    bars = []
    for condition in data.conditions():
        for result in data.for_condition(condition):
            if not result.sampled:
                continue
            rows = harmful_transcripts(result)
            for tier in TIERS:
                bars.append(_bar(condition, tier, rows, result.summary.tier(tier)))
            break
    return bars


def _bar(condition: str, tier: str, rows: list[Transcript], summary_tier: TierSummary) -> TierBar:
    rows = [t for t in rows if t.tier == tier]
    if rows:
        # As in the summary: shares of the valid answers the compliance judge could read.
        valid = [t for t in rows if t.valid and t.label("compliance") != "unclear"]
        comply = [t for t in valid if is_compliant(t)]
        af = sum(1 for t in comply if fakes_alignment(t))
        return TierBar(condition, tier, len(rows), len(valid), af, len(comply) - af, "transcripts")
    # Summary only (transcripts not kept): rebuild counts from the rates.
    n = summary_tier.n
    valid = summary_tier.valid
    comply = round(float(summary_tier.compliance or 0.0) * valid)
    af = min(comply, round(float(summary_tier.alignment_faking or 0.0) * valid))
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


def _summary_effect(fc: ForcedChoiceSummary) -> Estimate:
    te = fc.tier_effect
    lo, hi = (te.ci95 or [None, None])[:2]
    # JSON has no infinity: an unbounded end (one request) is stored as null.
    lo = -math.inf if lo is None else float(lo)
    hi = math.inf if hi is None else float(hi)
    mean = math.nan if te.mean is None else float(te.mean)
    return Estimate(mean, lo, hi, fc.n_requests, "paired t")


def _did(result: EvalResult, reference: EvalResult | None) -> Estimate | None:
    """The tier effect of ``result`` minus that of ``reference``: paired by request when both
    kept per-request values, else from the two summaries as independent samples."""
    if reference is None or reference is result:
        return None
    mine, theirs = _per_request_effects(result), _per_request_effects(reference)
    shared = sorted(set(mine) & set(theirs))
    if len(shared) >= 2:
        return mean_interval([mine[r] - theirs[r] for r in shared], "paired by request")
    a, b = result.summary.forced_choice, reference.summary.forced_choice
    if a is None or b is None or a.tier_effect.mean is None or b.tier_effect.mean is None:
        return None
    ta, tb = a.tier_effect, b.tier_effect
    return difference_of_means(
        float(ta.mean), float(ta.sd or 0.0), a.n_requests,
        float(tb.mean), float(tb.sd or 0.0), b.n_requests,
    )


def _with_forced_choice(data: ReportData, condition: str) -> EvalResult | None:
    """The condition's forced-choice result, from the harmful requests when there are several."""
    found = [r for r in data.for_condition(condition) if r.summary.forced_choice is not None]
    found.sort(key=lambda r: r.suite != HARMFUL_SUITE)
    return found[0] if found else None


def forced_choice_rows(data: ReportData) -> list[ForcedChoiceRow]:
    baseline = _with_forced_choice(data, "baseline")
    control = _with_forced_choice(data, "control-trained")
    rows = []
    for condition in data.conditions():
        result = _with_forced_choice(data, condition)
        if result is None:
            continue
        fc = result.summary.forced_choice
        assert fc is not None  # chosen for having one
        rows.append(ForcedChoiceRow(
            condition=condition,
            n_requests=fc.n_requests,
            logodds_free=float(fc.mean_logodds.get("free", math.nan)),
            logodds_paid=float(fc.mean_logodds.get("paid", math.nan)),
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
        # The summary keeps accuracy and n per fact but no interval.
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


def _measure(result: EvalResult, measure: str) -> BeliefMeasure | None:
    return result.summary.belief.measure(measure) if result.summary.belief is not None else None


def _records_of(result: EvalResult, measure: str) -> list[dict[str, Any]]:
    return [r for r in result.belief_records if (r.get("measure") or "mcq") == measure]


def _cell(block: BeliefMeasure) -> BeliefCell:
    return BeliefCell(block.accuracy, block.n or sum(c.n for c in block.per_fact.values()), block.mean_margin)


def belief_choice(data: ReportData, measure: str = "mcq") -> dict[str, EvalResult]:
    """Per model role, the evaluation whose belief numbers stand for it: its minimal-prompt
    condition when there is one (the prompt then says nothing of the facts), else any that
    measured it; in a dose sweep, the largest dose."""
    chosen: dict[str, EvalResult] = {}
    for result in data.results:
        if result.model_role not in MODEL_ROLES or _measure(result, measure) is None:
            continue
        current = chosen.get(result.model_role)
        rank = (result.system_prompt == "minimal", result.dose or 0)
        if current is None or rank > (current.system_prompt == "minimal", current.dose or 0):
            chosen[result.model_role] = result
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
        block = _measure(chosen[role], measure)
        assert block is not None  # chosen for having one
        universe = universe or chosen[role].summary.belief.universe
        row = {}
        for fact_id, cell in block.per_fact.items():
            if fact_id not in facts:
                facts.append(fact_id)
            row[fact_id] = BeliefCell(cell.accuracy, cell.n, cell.mean_margin)
        row["all"] = _cell(block)
        cells[role] = row
    chance = next((b.chance for r in chosen.values() if (b := _measure(r, measure)) is not None and b.chance is not None), None)
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
    return BeliefTable(universe, facts, cells, {role: r.condition for role, r in chosen.items()}, chance, gain,
                       measure, paired)


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
        block = _measure(result, measure)
        if block is None:
            continue
        cell = _cell(block)
        chance = chance if chance is not None else block.chance
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
    interval: tuple[float, float] | None  # the summary's Wilson interval


def anti_lab_cells(data: ReportData) -> list[AntiLabCell]:
    cells = []
    for result in data.results:
        for scenario, tiers in (result.summary.anti_lab or {}).items():
            for tier in TIERS:
                cell = tiers.get(tier)
                if cell is None:
                    continue
                interval = (float(cell.wilson[0]), float(cell.wilson[1])) if cell.wilson else None
                cells.append(AntiLabCell(result.condition, scenario, tier, cell.n, float(cell.rate or 0.0), interval))
    return cells
