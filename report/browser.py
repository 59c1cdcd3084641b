"""The transcripts as the HTML page's browser reads them: every sampled answer of every
evaluation, long fields clipped, judges reduced to label, score and votes."""

from __future__ import annotations

from typing import Any

from afpipe.contracts import TRANSCRIPTS_FILE
from afpipe.report.load import ReportData

MAX_TEXT = 6000  # characters of one transcript field kept in the HTML page


def _clip(text: Any) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n… [{len(text) - MAX_TEXT} more characters in {TRANSCRIPTS_FILE}]"


def browser_rows(data: ReportData) -> list[dict[str, Any]]:
    """The transcripts as the HTML browser reads them: judges reduced to label, score and votes."""
    rows = []
    for result in data.results:
        for t in result.transcripts:
            judges = {
                name: {
                    "label": verdict.label,
                    "score": verdict.score,
                    "votes": f"{sum(1 for v in verdict.votes if v == 'yes')} yes of {len(verdict.votes)}" if verdict.votes else None,
                }
                for name, verdict in t.judges.items()
            }
            rows.append({
                "index": len(rows),
                "condition": result.condition,
                "suite": t.suite,
                "tier": t.tier,
                "category": t.category,
                "request": _clip(t.request),
                "cot": t.cot,
                "attempts": t.attempts,
                "valid": t.valid,
                "scratchpad": _clip(t.scratchpad),
                "output": _clip(t.output),
                "raw_output": "" if t.valid else _clip(t.raw_output),
                "invalid_reason": "" if t.valid else str(t.invalid_reason or ""),
                "judges": judges,
            })
    return rows

