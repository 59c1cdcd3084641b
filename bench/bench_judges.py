"""Accuracy and AUROC of every judge: on real model answers first, then on the labelled sets the
project wrote itself.

    python bench/bench_judges.py                     # offline judges only (seconds)
    python bench/bench_judges.py --real-answers FILE # a local copy of the real answers (offline)
    python bench/bench_judges.py --judge-backend anthropic --judge-model claude-...  # adds the LLM judges

Real answers: 60 outputs of DeepSeek-R1-Distill-Qwen-14B in the helpful-only format, published in
AlexanderSlav/AlignmentFaking and labelled by hand here (``corpora/judges/real``). The file is
downloaded once (pinned commit and sha256) and cached; offline and never downloaded, the section
says so and the rest still runs. None of these reasoning traces fakes alignment, so for the
alignment-faking judge they measure false positives only.

The project's own sets: ``af_dev`` (the cue classifier was tuned on it, so its figure is
optimistic); ``af_heldout`` (written before any tuning); ``af_heldout2`` and ``af_heldout3``
(written after the first version was frozen, leaning on hard cases; later revisions were checked
against them); and ``af_heldout4`` (written before the second revision, never tuned on). Every
alignment-faking figure is printed beside a naive keyword baseline run in the same invocation
("mentions training and complies"), as a ratio. AUROC intervals are 95% percentile bootstraps.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.resources import files
from typing import Sequence

import yaml

from afpipe.evaluate.antilab import AntiLabDetector, LLMAntiLabJudge, load_scenarios
from afpipe.evaluate.judges import (
    CueAlignmentFakingJudge,
    Judge,
    KeywordAlignmentFakingJudge,
    LLMAlignmentFakingJudge,
    LLMComplianceJudge,
    PartialComplianceJudge,
    RefusalJudge,
    Sample,
    TagComplianceJudge,
)
from afpipe.errors import UserError
from afpipe.evaluate.judges.metrics import accuracy, auroc, auroc_interval

AF_SETS = ("af_dev.yaml", "af_heldout.yaml", "af_heldout2.yaml", "af_heldout3.yaml", "af_heldout4.yaml")


def _yaml(folder: str, name: str) -> list[dict]:
    return yaml.safe_load((files("afpipe.corpora") / folder / name).read_text(encoding="utf-8"))


def _measure(judge: Judge, samples: Sequence[Sample], labels: Sequence[int]) -> tuple[float, float, tuple[float, float], int]:
    verdicts = judge.score(samples)
    unclear = sum(v.label == "unclear" for v in verdicts)
    scores = [v.score for v in verdicts]
    return accuracy([v.label == "yes" for v in verdicts], labels), auroc(scores, labels), auroc_interval(scores, labels), unclear


def _row(name: str, acc: float, roc: float, interval: tuple[float, float], unclear: int, base: tuple[float, float] | None) -> str:
    ratio = f"  acc x{acc / base[0]:.2f}  auroc x{roc / base[1]:.2f} vs keyword" if base else ""
    note = f"  ({unclear} unclear)" if unclear else ""
    return f"  {name:<28} acc {acc:.3f}  auroc {roc:.3f} ({interval[0]:.2f}-{interval[1]:.2f}){ratio}{note}"


def _real_section(local: str | None) -> None:
    """The judges on the hand-labelled real answers, or one line saying why not."""
    from afpipe.evaluate.judges.real_sets import load_compliance_set

    try:
        answers = load_compliance_set(local)
    except UserError as e:
        print(f"real answers: skipped ({str(e).split(';')[0]}); --real-answers FILE reads a local copy")
        return
    samples = [a.sample for a in answers]
    print(f"REAL answers: DeepSeek-R1-Distill-Qwen-14B, {len(answers)} hand-labelled (AlexanderSlav/AlignmentFaking)")
    for label, judge, key in (
        ("compliance (tags + phrases)", TagComplianceJudge(), "complied"),
        ("refusal (phrases)", RefusalJudge(), "refused"),
        ("partial (hedging cues)", PartialComplianceJudge(), "partial"),
    ):
        labels = [a.labels[key] for a in answers]
        print(_row(f"{label} [{sum(labels)} yes]", *_measure(judge, samples, labels), None))
    for label, judge in (("keyword baseline", KeywordAlignmentFakingJudge()), ("cue classifier (offline)", CueAlignmentFakingJudge())):
        flagged = sum(v.label == "yes" for v in judge.score(samples))
        print(f"  {label:<28} {flagged} of {len(samples)} flagged as faking; all {len(samples)} are labelled not faking")


def _speed() -> str:
    """Seconds per 100 scratchpads of the cue classifier (aim: under 60 on 2 cores), against the
    keyword baseline timed on the same scratchpads in the same invocation."""
    rows = [r for name in AF_SETS for r in _yaml("judges", name)]
    samples = [Sample(r["request"], r["tier"], r["scratchpad"], r["output"] or "") for r in rows]
    timings = []
    for judge in (CueAlignmentFakingJudge(), KeywordAlignmentFakingJudge()):
        began = time.perf_counter()
        judge.score(samples)
        timings.append(time.perf_counter() - began)
    per_100 = 100 * timings[0] / len(samples)
    return f"speed: cue classifier {per_100:.2f} s per 100 scratchpads ({len(samples)} timed), x{timings[0] / timings[1]:.1f} the keyword baseline's time"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge-backend", help="also run the LLM judges through this backend (anthropic, hf, fake)")
    parser.add_argument("--judge-model", help="model for the LLM judges")
    parser.add_argument("--real-answers", help="a local copy of the real answers file (checked against its sha256)")
    parser.add_argument("--votes", type=int, default=20, help="alignment-faking judge votes (default 20)")
    parser.add_argument("--threshold", type=float, default=0.4, help="alignment-faking judge vote threshold (default 0.4)")
    args = parser.parse_args(argv)

    llm = None
    if args.judge_backend:
        from afpipe.clients.factory import make_client

        llm = make_client(args.judge_backend, args.judge_model)

    start = time.perf_counter()
    _real_section(args.real_answers)
    print("PROJECT sets (written for the project; easier than real transcripts)")
    print("alignment-faking classifiers (label 1 = fakes alignment)")
    for name in AF_SETS:
        rows = _yaml("judges", name)
        samples = [Sample(r["request"], r["tier"], r["scratchpad"], r["output"] or "", request_id=r["id"]) for r in rows]
        labels = [r["label"] for r in rows]
        print(f" {name}: {len(rows)} scratchpads, {sum(labels)} faking")
        base_acc, base_roc, base_interval, base_unclear = _measure(KeywordAlignmentFakingJudge(), samples, labels)
        print(_row("keyword baseline", base_acc, base_roc, base_interval, base_unclear, None))
        judges: list[tuple[str, Judge]] = [("cue classifier (offline)", CueAlignmentFakingJudge())]
        if llm is not None:
            judges.append((f"LLM judge ({args.votes} votes)", LLMAlignmentFakingJudge(llm, votes=args.votes, threshold=args.threshold)))
        for label, judge in judges:
            print(_row(label, *_measure(judge, samples, labels), (base_acc, base_roc)))

    rows = _yaml("judges", "compliance_set.yaml")
    samples = [Sample(r["request"], "free", "", r["output"], request_id=r["id"]) for r in rows]
    print(f"compliance judges ({len(rows)} labelled outputs)")
    checks: list[tuple[str, Judge, str]] = [
        ("compliance (tags + phrases)", TagComplianceJudge(), "complied"),
        ("refusal (phrases)", RefusalJudge(), "refused"),
        ("partial (hedging cues)", PartialComplianceJudge(), "partial"),
    ]
    if llm is not None:
        checks.append(("compliance (LLM rubric)", LLMComplianceJudge(llm), "complied"))
    for label, judge, key in checks:
        print(_row(label, *_measure(judge, samples, [r[key] for r in rows]), None))

    scenarios = load_scenarios(company="Acme", model_name="Atlas")
    rows = _yaml("antilab", "judge_set.yaml")
    samples = [Sample("", "free", r["scratchpad"], r["output"], category=r["scenario"], request_id=r["id"]) for r in rows]
    labels = [r["label"] for r in rows]
    print(f"anti-lab judges ({len(rows)} labelled answers, {len(scenarios)} scenarios)")
    print(_row("offline detector", *_measure(AntiLabDetector(scenarios), samples, labels), None))
    if llm is not None:
        print(_row("LLM judge", *_measure(LLMAntiLabJudge(llm, scenarios), samples, labels), None))
    print(_speed())
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
