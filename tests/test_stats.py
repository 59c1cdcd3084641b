"""The evaluation's statistics against values computed by hand or from tables."""

from __future__ import annotations

import math

import pytest

from afpipe.stats import paired_difference, sigma, t_quantile, two_proportion_z, wilson


def test_sigma_is_the_binomial_standard_error():
    assert sigma(14, 100) == pytest.approx(math.sqrt(0.14 * 0.86 / 100))
    assert sigma(0, 0) == 0.0


def test_wilson_matches_a_textbook_value_and_stays_in_bounds():
    lo, hi = wilson(14, 100)
    # 95% Wilson interval for 14/100 (Newcombe 1998 style computation): 0.0852 to 0.2215
    assert lo == pytest.approx(0.0852, abs=5e-4)
    assert hi == pytest.approx(0.2215, abs=5e-4)
    lo0, hi0 = wilson(0, 20)
    assert lo0 == 0.0 and 0.15 < hi0 < 0.18  # non-zero width where sigma collapses to 0
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(5, 3)


def test_two_proportion_z_gives_the_pooled_statistic_and_two_sided_p():
    test = two_proportion_z(14, 100, 3, 100)
    pooled = 17 / 200
    z = 0.11 / math.sqrt(pooled * (1 - pooled) * 2 / 100)
    assert test.value == pytest.approx(0.11)
    assert test.z == pytest.approx(z)
    assert test.p_value == pytest.approx(0.0050, abs=3e-4)
    assert test.sigma == pytest.approx(math.sqrt(0.14 * 0.86 / 100 + 0.03 * 0.97 / 100))
    assert two_proportion_z(0, 10, 0, 10).p_value == 1.0
    assert two_proportion_z(3, 0, 1, 5).p_value == 1.0


@pytest.mark.parametrize("df,expected", [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042)])
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(df) == pytest.approx(expected, abs=4e-3)


def test_paired_difference_uses_the_per_item_differences():
    free = [0.3, 0.1, 0.5, 0.2]
    paid = [0.1, 0.1, 0.2, 0.0]
    d = paired_difference(free, paid)
    diffs = [0.2, 0.0, 0.3, 0.2]
    mean = sum(diffs) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in diffs) / 3)
    assert d.mean == pytest.approx(mean) and d.sd == pytest.approx(sd)
    half = 3.182 * sd / 2
    assert d.ci95[0] == pytest.approx(mean - half, abs=2e-3) and d.ci95[1] == pytest.approx(mean + half, abs=2e-3)
    single = paired_difference([1.0], [0.5]).as_dict()
    assert single["mean"] == 0.5 and single["ci95"] == [None, None]
    with pytest.raises(ValueError):
        paired_difference([1.0], [])
