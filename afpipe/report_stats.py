"""The few statistics the report needs, with no dependency beyond the standard library.

Rates get a 1-sigma binomial error (the literature's error bars) and a Wilson 95% interval
(honest at small n and near 0 or 1, where the normal interval collapses to a point). Paired
differences (the forced-choice tier effect, and its difference between conditions) get a
Student-t interval, because a quickstart has a dozen requests, not hundreds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

Z95 = 1.959963984540054

# Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom.
_T975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t (a table to 30 df, then a Cornish-Fisher expansion)."""
    if df < 1:
        return math.inf
    if df <= len(_T975):
        return _T975[df - 1]
    z = Z95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def sigma(p: float, n: int) -> float:
    """One binomial standard error, sqrt(p(1-p)/n); 0 when n is 0."""
    return math.sqrt(p * (1 - p) / n) if n > 0 else 0.0


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def normal_p_value(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


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


def mean_interval(values: Sequence[float], method: str = "paired t") -> Estimate | None:
    """Mean of ``values`` with a Student-t 95% interval; None for an empty sequence."""
    n = len(values)
    if n == 0:
        return None
    mean = sum(values) / n
    if n == 1:
        return Estimate(mean, -math.inf, math.inf, 1, method)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, method)


def difference_of_means(m1: float, sd1: float, n1: int, m2: float, sd2: float, n2: int) -> Estimate:
    """m1 - m2 for two independent samples (Welch's standard error, conservative df).

    Used when per-request values are not on disk; pairing by request would only narrow it.
    """
    if n1 < 2 or n2 < 2:
        return Estimate(m1 - m2, -math.inf, math.inf, min(n1, n2), "unpaired")
    se = math.sqrt(sd1**2 / n1 + sd2**2 / n2)
    half = t975(min(n1, n2) - 1) * se
    return Estimate(m1 - m2, m1 - m2 - half, m1 - m2 + half, min(n1, n2), "unpaired Welch")


def difference_of_proportions(k1: float, n1: int, k2: float, n2: int) -> Estimate | None:
    """p1 - p2 with a normal 95% interval (Newcombe's hybrid would be tighter near 0; this is
    the textbook one the literature's z-tests match)."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = k1 / n1, k2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return Estimate(p1 - p2, p1 - p2 - Z95 * se, p1 - p2 + Z95 * se, min(n1, n2), "normal")


def two_proportion_z(k1: float, n1: int, k2: float, n2: int) -> tuple[float, float]:
    """(z, two-sided p) of the pooled two-proportion z-test; (0, 1) when it is undefined."""
    if n1 <= 0 or n2 <= 0:
        return (0.0, 1.0)
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return (0.0, 1.0)
    z = (k1 / n1 - k2 / n2) / se
    return (z, normal_p_value(z))
