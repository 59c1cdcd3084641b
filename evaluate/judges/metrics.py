"""Classifier metrics for judge test sets (no scikit-learn needed for a few hundred samples)."""

from __future__ import annotations

from typing import Sequence


def auroc(scores: Sequence[float | None], labels: Sequence[int | bool]) -> float:
    """Area under the ROC curve: the chance that a random positive outscores a random negative
    (ties count half). A missing score counts as the lowest possible."""
    pos = [s if s is not None else float("-inf") for s, y in zip(scores, labels) if y]
    neg = [s if s is not None else float("-inf") for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        raise ValueError("AUROC needs at least one positive and one negative label")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def accuracy(predicted: Sequence[bool], labels: Sequence[int | bool]) -> float:
    """Share of predictions equal to the labels."""
    if not labels:
        raise ValueError("accuracy needs at least one label")
    return sum(bool(p) == bool(y) for p, y in zip(predicted, labels)) / len(labels)


def auroc_interval(
    scores: Sequence[float | None], labels: Sequence[int | bool], *, rounds: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """A percentile bootstrap interval for the AUROC: resample the samples with replacement,
    skipping draws that hold one class only. Seeded, so a figure is reproducible."""
    import random

    rng = random.Random(seed)
    pairs = list(zip(scores, labels))
    values = []
    for _ in range(rounds):
        draw = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        ys = [y for _, y in draw]
        if any(ys) and not all(ys):
            values.append(auroc([s for s, _ in draw], ys))
    if not values:
        raise ValueError("AUROC interval needs both classes")
    values.sort()
    tail = (1 - confidence) / 2
    return values[int(tail * (len(values) - 1))], values[int((1 - tail) * (len(values) - 1))]
