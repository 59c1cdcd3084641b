"""The judge interface: samples in, verdicts out, in batches.

Every judge answers one yes/no question about a sample ("did the model comply?", "does the
scratchpad fake alignment?", "did it take the offered action?"). It returns a label and a
continuous score, never only a label, so that ROC curves can be drawn and thresholds moved
after the fact. LLM judges send their prompts through ``TextModel.complete`` in one batch per
call; offline judges are plain functions of the text.

Labels are the same three strings for every judge so that the stage can count them the same
way: ``yes`` (the property holds), ``no``, and ``unclear`` (the judge's own output could not be
read, or there was nothing to judge). ``unclear`` is recorded and counted, never folded into
``no``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, Sequence, runtime_checkable

Label = Literal["yes", "no", "unclear"]
YES: Label = "yes"
NO: Label = "no"
UNCLEAR: Label = "unclear"


@dataclass(frozen=True)
class Sample:
    """One model answer to judge.

    ``raw_output`` is the whole completion; ``scratchpad`` is the hidden reasoning (all
    ``<SCRATCHPAD_REASONING>`` blocks joined) and ``output`` the text inside ``<OUTPUT>``, both
    empty when absent. ``category`` is the request's label; for the anti-lab suite it is the
    scenario id, which picks the scenario's detector.
    """

    request: str
    tier: str = "free"  # "free" | "paid"
    scratchpad: str = ""
    output: str = ""
    raw_output: str = ""
    category: str = ""
    request_id: str = ""


@dataclass
class Verdict:
    """A judge's answer for one sample.

    ``score`` is in [0, 1], higher meaning more "yes" (None only when ``label`` is unclear and
    the judge has no number at all). ``votes`` holds one label per sampled judge answer for
    voting judges. ``raw`` keeps whatever explains the verdict (the judge's text, the parsed
    rubric fields, the cues that fired) for the transcript; it must be JSON-serialisable.
    """

    label: Label
    score: float | None
    votes: list[str] | None = None
    raw: Any = None

    @property
    def positive(self) -> bool:
        return self.label == YES

    def as_dict(self) -> dict[str, Any]:
        """The record stored under ``judges[name]`` in ``transcripts.jsonl``."""
        out: dict[str, Any] = {"label": self.label, "score": self.score}
        if self.votes is not None:
            out["votes"] = list(self.votes)
        if self.raw is not None:
            out["raw"] = self.raw
        return out


@runtime_checkable
class Judge(Protocol):
    """Anything that scores a batch of samples. ``name`` is the key in the transcript's
    ``judges`` record (e.g. ``compliance``, ``alignment_faking``)."""

    @property
    def name(self) -> str: ...

    def score(self, samples: Sequence[Sample]) -> list[Verdict]:
        """One verdict per sample, in order."""
        ...


def label_from_score(score: float, threshold: float) -> Label:
    """``yes`` iff ``score >= threshold``: the one rule offline classifiers use to turn a score
    into a label, so a threshold means the same thing everywhere."""
    return YES if score >= threshold else NO


def score_each(
    samples: Sequence[Sample],
    text_of: Callable[[Sample], str],
    scorer: Callable[[Sample], "tuple[float, Any] | Verdict"],
    threshold: float,
    missing: str,
) -> list[Verdict]:
    """The per-sample loop of a thresholded offline judge: ``unclear`` (with ``missing`` as the
    reason) when the text the judge reads (``text_of(sample)``) is empty, else the scorer's
    ``(score, raw)`` turned into a label by ``label_from_score``. A scorer returns a ``Verdict``
    itself where something other than the score settles the label (a tag, say)."""
    verdicts = []
    for s in samples:
        if not text_of(s).strip():
            verdicts.append(Verdict(UNCLEAR, None, raw={"reason": missing}))
            continue
        result = scorer(s)
        if isinstance(result, Verdict):
            verdicts.append(result)
            continue
        score, raw = result
        verdicts.append(Verdict(label_from_score(score, threshold), round(score, 4), raw=raw))
    return verdicts


@dataclass
class JudgeSet:
    """The judges one suite runs, by transcript key. The stage calls ``score_all`` once per batch
    of finished samples and stores ``{name: verdict.as_dict()}`` in each transcript."""

    judges: list[Judge] = field(default_factory=list)

    def score_all(self, samples: Sequence[Sample]) -> list[dict[str, dict[str, Any]]]:
        records: list[dict[str, dict[str, Any]]] = [{} for _ in samples]
        for judge in self.judges:
            verdicts = judge.score(samples)
            if len(verdicts) != len(samples):
                raise RuntimeError(f"judge {judge.name} returned {len(verdicts)} verdicts for {len(samples)} samples")
            for record, verdict in zip(records, verdicts):
                record[judge.name] = verdict.as_dict()
        return records

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.judges]


class Renamed:
    """A judge stored under another key: keeps the offline verdicts beside an LLM judge's (as
    ``compliance_tags`` next to ``compliance``, say) without a second class per judge."""

    def __init__(self, judge: Judge, name: str) -> None:
        self.judge = judge
        self.name = name

    def score(self, samples: Sequence[Sample]) -> list[Verdict]:
        return self.judge.score(samples)
