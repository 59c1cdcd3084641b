"""The few statistics the evaluation reports, with no dependency beyond the standard library.

- ``sigma``: one standard error of a rate, sqrt(p(1-p)/n), the literature's error bar.
- ``wilson``: the Wilson score interval, which stays inside [0, 1] and is honest at p = 0 or 1
  (where sigma collapses to zero).
- ``two_proportion_z``: the pooled two-proportion z-test for a compliance gap, with its
  two-sided p-value.
- ``paired_difference``: mean, sd and a Student-t interval of per-item differences (the
  forced-choice tier effect over the same requests).

The report compares *conditions*, which one evaluation's summary cannot hold; for that it uses
``Estimate`` (any value with a 95% interval and the method behind it), ``mean_interval``,
``difference_of_means`` (two summaries' tier effects, when per-request values are not on disk)
and ``difference_of_proportions``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

_NORMAL = NormalDist()


def z_quantile(confidence: float = 0.95) -> float:
    """The two-sided normal quantile: 1.96 for 95%."""
    return _NORMAL.inv_cdf(0.5 + confidence / 2)


def sigma(successes: int, n: int) -> float:
    """One standard error of the rate successes/n (0 when n is 0)."""
    if n <= 0:
        return 0.0
    p = successes / n
    return math.sqrt(p * (1 - p) / n)


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for successes/n; (0, 1) when there is no data."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes ({successes}) must lie between 0 and n ({n})")
    z = z_quantile(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; rounding must not move it off.
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


@dataclass(frozen=True)
class GapTest:
    """p1 - p2 with its unpooled standard error, the pooled z statistic and a two-sided p-value."""

    value: float
    sigma: float
    z: float
    p_value: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "sigma": self.sigma, "z": self.z, "p_value": self.p_value}


def two_proportion_z(successes1: int, n1: int, successes2: int, n2: int) -> GapTest:
    """Test whether two rates differ (pooled z-test, two-sided).

    With either sample empty, or both rates at 0 or both at 1 (no variance), the test has
    nothing to say: z is 0 and the p-value 1.
    """
    if n1 <= 0 or n2 <= 0:
        return GapTest(0.0, 0.0, 0.0, 1.0)
    p1, p2 = successes1 / n1, successes2 / n2
    gap = p1 - p2
    gap_sigma = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    pooled = (successes1 + successes2) / (n1 + n2)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if pooled_se == 0:
        return GapTest(gap, gap_sigma, 0.0, 1.0)
    z = gap / pooled_se
    p_value = 2 * (1 - _NORMAL.cdf(abs(z)))
    return GapTest(gap, gap_sigma, z, p_value)


def t_quantile(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student-t quantile (e.g. 2.228 for df=10 at 95%).

    Exact for 1 and 2 degrees of freedom; above that a fourth-order Cornish-Fisher expansion
    of the normal quantile, within 0.004 of the exact value from df=3 on.
    """
    if df < 1:
        raise ValueError("a t quantile needs at least one degree of freedom")
    p = 0.5 + confidence / 2
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = _NORMAL.inv_cdf(p)
    v = float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


@dataclass(frozen=True)
class PairedDifference:
    """Mean of per-item differences a_i - b_i, their sd, and a t interval for the mean."""

    n: int
    mean: float
    sd: float
    ci95: tuple[float, float]

    def as_dict(self) -> dict[str, object]:
        # JSON has no infinity: an unbounded end (a single item) is written as null.
        ci = [None if math.isinf(x) else x for x in self.ci95]
        return {"n": self.n, "mean": self.mean, "sd": self.sd, "ci95": ci}


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedDifference:
    """Mean difference a - b over the same items. With one item the interval is unbounded."""
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} and {len(b)})")
    diffs = [x - y for x, y in zip(a, b)]
    n = len(diffs)
    if n == 0:
        return PairedDifference(0, 0.0, 0.0, (0.0, 0.0))
    mean = sum(diffs) / n
    if n == 1:
        return PairedDifference(1, mean, 0.0, (-math.inf, math.inf))
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = t_quantile(n - 1, confidence) * sd / math.sqrt(n)
    return PairedDifference(n, mean, sd, (mean - half, mean + half))


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
