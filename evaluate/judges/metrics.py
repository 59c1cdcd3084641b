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
