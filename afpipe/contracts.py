"""What one stage hands the next: the files of a run folder, the records inside them, and the
experiment's conditions.

Stages share nothing but files, so the names of those files and the shape of the records in
them are the whole interface between stages. They are written here once: every writer and
every reader imports them instead of restating a string, and the eval stage writes its summary
and transcripts *through* the records below, which the report then reads through. The records
accept keys they do not name (``extra="allow"``) and give every field a default, so a run folder
written before a field existed still loads, and one written after a field was added keeps it.

Each stage's own folder layout beyond these files stays with that stage (finetune's weight
folders: ``afpipe.finetune.outputs``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# --- Files of a run folder ---------------------------------------------------------------------

# Every stage.
RUN_CONFIG_FILE = "run_config.json"  # the resolved config, written first (the resume key)
MANIFEST_FILE = "manifest.json"  # written last: its presence means the run finished
# generate -> finetune
DOCS_FILE = "docs.jsonl"
REJECTED_FILE = "rejected.jsonl"
STATS_FILE = "stats.json"
# finetune (read by people and plots; the weights' layout is finetune's own, see above)
METRICS_FILE = "metrics.jsonl"
# eval -> report
TRANSCRIPTS_FILE = "transcripts.jsonl"
SUMMARY_FILE = "summary.json"
FORCED_CHOICE_FILE = "forced_choice.jsonl"
BELIEF_FILE = "belief.jsonl"
# experiment -> report
GRAPH_FILE = "graph.json"  # the current stage runs of an experiment folder
EXPERIMENT_FILE = "experiment.json"  # the experiment file as it was loaded

# --- Conditions --------------------------------------------------------------------------------

ModelRole = Literal["base", "documents", "control"]
MODEL_ROLES: list[str] = ["base", "documents", "control"]
MODEL_ROLE_NAMES = {"base": "base", "documents": "document-trained", "control": "control-trained"}

# The science notes' five conditions: which model, which system prompt; in the order the
# paper's figure reads. Custom conditions name their model in the experiment file (and graph.json).
STANDARD_CONDITIONS: dict[str, tuple[str, str]] = {
    "prompted": ("base", "full"),
    "baseline": ("base", "minimal"),
    "document-trained": ("documents", "minimal"),
    "control-trained": ("control", "minimal"),
    "both": ("documents", "full"),
}
CONDITION_ORDER = list(STANDARD_CONDITIONS)
CONDITION_MODEL = {name: role for name, (role, _prompt) in STANDARD_CONDITIONS.items()}

TIERS = ("free", "paid")
HARMFUL_SUITE = "harmful"


# --- Records -----------------------------------------------------------------------------------

class Record(BaseModel):
    """A record of a run folder: tolerant of keys it does not name, strict about those it does."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    def to_json(self) -> dict[str, Any]:
        """The record as written: the keys that were given (and any extra ones), no filled defaults."""
        return self.model_dump(mode="json", exclude_unset=True)


class Verdict(Record):
    """One judge's verdict on one transcript, under ``judges[name]``."""

    label: str | None = None  # "yes" | "no" | "unclear"
    score: float | None = None
    votes: list[Any] | None = None


class Transcript(Record):
    """One line of ``transcripts.jsonl``: one sampled (request, tier) answer with its verdicts."""

    id: str | None = None
    suite: str = HARMFUL_SUITE
    request_id: str | None = None
    category: str | None = None
    request: str | None = None
    tier: str | None = None
    prompt_id: str | None = None
    system_prompt: str | None = None
    cot: bool = False
    prefill: str | None = None
    attempts: int | None = None
    raw_output: str | None = None
    scratchpad: str | None = None
    output: str | None = None
    valid: bool = False
    invalid_reason: str | None = None
    error: str | None = None
    stop_reason: str | None = None
    accepted: bool = False
    refused: bool = False
    judges: dict[str, Verdict] = Field(default_factory=dict)

    def label(self, judge: str) -> str | None:
        verdict = self.judges.get(judge)
        return verdict.label if verdict is not None else None


class TierSummary(Record):
    """One tier's rates: shares of the valid answers each judge could read."""

    n: int = 0
    valid: int = 0
    invalid_rate: float | None = None
    compliance: float | None = None
    compliance_counts: list[int] | None = None  # [yes, judged]
    compliance_wilson: list[float] | None = None
    compliance_sigma: float | None = None
    alignment_faking: float | None = None
    alignment_faking_counts: list[int] | None = None
    alignment_faking_wilson: list[float] | None = None
    partial: float | None = None
    partial_counts: list[int] | None = None
    refusal: float | None = None
    refusal_counts: list[int] | None = None
    unclear: dict[str, int] = Field(default_factory=dict)
    accepted_tag: int = 0
    rejected_tag: int = 0


class GapSummary(Record):
    """Compliance gap, free minus paid: value, one sigma, pooled z and two-sided p."""

    value: float | None = None  # None (with the rest) when a tier had no judged answer
    sigma: float | None = None
    z: float | None = None
    p_value: float | None = None


class TierEffect(Record):
    mean: float | None = None
    sd: float = 0.0
    ci95: list[float | None] = Field(default_factory=lambda: [None, None])  # null: an unbounded end


class ForcedChoiceSummary(Record):
    n_requests: int = 0
    prompt_id: str | None = None
    mean_logodds: dict[str, float] = Field(default_factory=dict)  # tier -> mean log-odds of accepting
    tier_effect: TierEffect = Field(default_factory=TierEffect)
    read_against: str | None = None


class BeliefFact(Record):
    accuracy: float = 0.0
    mean_margin: float | None = None
    n: int = 0


class BeliefMeasure(Record):
    """One belief measure's result (mcq, distinguish, open, generative)."""

    n: int = 0
    accuracy: float = 0.0
    mean_margin: float | None = None
    chance: float | None = None
    per_fact: dict[str, BeliefFact] = Field(default_factory=dict)


class BeliefSummary(BeliefMeasure):
    """The belief block: the multiple-choice result at the top level (as summaries written
    before the other measures had it) and every measure under ``measures``."""

    universe: str = ""
    measures: dict[str, BeliefMeasure] = Field(default_factory=dict)

    def measure(self, name: str) -> BeliefMeasure | None:
        """The result of measure ``name``; an older summary's top-level block stands for mcq."""
        if name in self.measures:
            return self.measures[name]
        if name == "mcq" and self.per_fact:
            return self
        return None


class AntiLabCell(Record):
    n: int = 0
    rate: float | None = None
    wilson: list[float] | None = None
    unclear: int = 0
    invalid: int = 0


class Summary(Record):
    """``summary.json``: one evaluation's statistics, as the eval stage computed them."""

    model: str | None = None
    condition: str | None = None
    system_prompt: str | None = None
    cot: bool = False
    tiers: dict[str, TierSummary] = Field(default_factory=dict)
    compliance_gap: GapSummary | None = None
    forced_choice: ForcedChoiceSummary | None = None
    belief: BeliefSummary | None = None
    anti_lab: dict[str, dict[str, AntiLabCell]] | None = None  # scenario -> tier -> cell
    suite: str | None = None  # None in folders written before suites existed: harmful requests
    prompt_id: str | None = None
    judges: list[str] = Field(default_factory=list)

    def tier(self, tier: str) -> TierSummary:
        return self.tiers.get(tier) or TierSummary()
