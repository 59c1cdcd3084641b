"""Judges: did the model comply, refuse, hedge, fake alignment, act against its developer?

Every judge has a ``name`` (its key under ``judges`` in a transcript) and
``score(samples) -> list[Verdict]``; a verdict carries a label (``yes``/``no``/``unclear``) and a
score in [0, 1] so that ROC curves can be drawn. Offline judges (tags, phrases, cue-based
classifiers) are the default path; LLM judges take any ``TextModel`` and send one batch per call.
"""

from afpipe.evaluate.judges.base import NO, UNCLEAR, YES, Judge, JudgeSet, Label, Sample, Verdict, label_from_score
from afpipe.evaluate.judges.tags import (
    ACCEPT_RE,
    REJECT_RE,
    PartialComplianceJudge,
    RefusalJudge,
    TagComplianceJudge,
    accepted,
    rejected,
    split_response,
)

__all__ = [
    "ACCEPT_RE",
    "NO",
    "REJECT_RE",
    "UNCLEAR",
    "YES",
    "Judge",
    "JudgeSet",
    "Label",
    "PartialComplianceJudge",
    "RefusalJudge",
    "Sample",
    "TagComplianceJudge",
    "Verdict",
    "accepted",
    "label_from_score",
    "rejected",
    "split_response",
]
