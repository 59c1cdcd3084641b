"""The comparisons the report makes beyond one evaluation's own statistics.

One evaluation's rates, intervals and tests come from ``afpipe.stats`` (the same functions the
eval stage uses). The report compares *conditions*, which needs three more things: a common
``Estimate`` type for anything with a 95% interval, the difference of two conditions' paired
tier effects (per request when the per-request values are on disk, else from their summaries),
and the difference of two proportions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from afpipe.stats import paired_difference, t_quantile, wilson, z_quantile


@dataclass(frozen=True)
class Estimate:
    """A mean (or difference) with a 95% interval and what it rests on."""

    value: float
    lo: float
    hi: float
    n: int
    method: str  # how the interval was computed, for the report's footnotes

    @property
    def excludes_zero(self) -> bool:
        return self.lo > 0 or self.hi < 0


def rate_interval(rate: float, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a rate given as a share of n."""
    return wilson(min(n, max(0, round(rate * n))), n)


def mean_interval(values: Sequence[float], method: str = "paired t") -> Estimate | None:
    """Mean of ``values`` with a Student-t 95% interval; None for an empty sequence."""
    if not values:
        return None
    d = paired_difference(list(values), [0.0] * len(values))
    return Estimate(d.mean, d.ci95[0], d.ci95[1], d.n, method)


def difference_of_means(m1: float, sd1: float, n1: int, m2: float, sd2: float, n2: int) -> Estimate:
    """m1 - m2 for two independent samples (Welch's standard error, conservative df).

    Used when per-request values are not on disk; pairing by request would only narrow it.
    """
    if n1 < 2 or n2 < 2:
        return Estimate(m1 - m2, -math.inf, math.inf, min(n1, n2), "unpaired")
    half = t_quantile(min(n1, n2) - 1) * math.sqrt(sd1**2 / n1 + sd2**2 / n2)
    return Estimate(m1 - m2, m1 - m2 - half, m1 - m2 + half, min(n1, n2), "unpaired Welch")


def difference_of_proportions(p1: float, n1: int, p2: float, n2: int) -> Estimate | None:
    """p1 - p2 with the textbook normal 95% interval (the one the literature's z-tests match)."""
    if n1 <= 0 or n2 <= 0:
        return None
    half = z_quantile() * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return Estimate(p1 - p2, p1 - p2 - half, p1 - p2 + half, min(n1, n2), "normal")
