"""Interval formulas against published worked examples (not against our own output)."""

import numpy as np
import pytest
from scipy import stats

from qieval.measures import intervals


@pytest.mark.parametrize(
    "x, n, low, high",
    [
        # Newcombe RG (1998) Stat Med 17:857-872, Table I, method 3 (Wilson score), 4 d.p.
        (81, 263, 0.2553, 0.3662),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998_table(x, n, low, high):
    lo, hi = intervals.wilson(x, n)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(
    "x1, n1, x2, n2, low, high",
    [
        # Newcombe RG (1998) Stat Med 17:873-890, Table II, method 10 (hybrid score):
        # 56/70 − 48/80 → 0.0524 to 0.3339; 9/10 − 3/10 → 0.1705 to 0.8090
        (48, 80, 56, 70, 0.0524, 0.3339),
        (3, 10, 9, 10, 0.1705, 0.8090),
    ],
)
def test_newcombe_difference_matches_published_examples(x1, n1, x2, n2, low, high):
    lo, hi = intervals.newcombe_difference(x1, n1, x2, n2)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


def test_poisson_exact_matches_garwood_table():
    # Exact Poisson limits (Garwood 1936), as tabulated e.g. in Ulm (1990) Am J Epidemiol 131:373:
    # x=0: 0–3.689; x=1: 0.0253–5.572; x=10: 4.795–18.39
    lo, hi = intervals.poisson_exact([0, 1, 10])
    np.testing.assert_allclose(lo, [0.0, 0.0253, 4.795], atol=5e-4)
    np.testing.assert_allclose(hi, [3.689, 5.572, 18.39], atol=5e-3)


def test_two_proportion_chi_square_by_hand():
    # 10/100 vs 20/100: χ² = N(ad − bc)² / (r1 r2 c1 c2) = 200·(10·80 − 90·20)² / (100·100·30·170)
    expected = 200 * (10 * 80 - 90 * 20) ** 2 / (100 * 100 * 30 * 170)
    out = intervals.two_proportion_test(10, 100, 20, 100)
    assert out["test"] == "chi-squared test"
    assert out["statistic"] == pytest.approx(expected, rel=1e-12)
    assert out["p_value"] == pytest.approx(stats.chi2.sf(expected, 1), rel=1e-12)


def test_small_expected_counts_use_fisher():
    # 0/10 vs 3/10: expected counts 1.5 < 5 → Fisher's exact test. Two-sided p by hand from the
    # hypergeometric: P(X=0)=P(X=3)=C(10,0)C(10,3)/C(20,3)=120/1140 → p = 240/1140 = 0.2105
    out = intervals.two_proportion_test(0, 10, 3, 10)
    assert out["test"] == "Fisher's exact test"
    assert out["p_value"] == pytest.approx(240 / 1140, rel=1e-9)


def test_rate_ratio_exact_conditional_interval():
    # 10 events in 1000 vs 20 in 1000 person-months: RR = 2. Given 30 events, x2 ~ Bin(30, π);
    # Clopper–Pearson limits for π from Beta quantiles, mapped to RR = π/(1−π)·e1/e2.
    lo_pi = stats.beta.ppf(0.025, 20, 11)
    hi_pi = stats.beta.ppf(0.975, 21, 10)
    out = intervals.rate_ratio(10, 1000, 20, 1000)
    assert out["ratio"] == pytest.approx(2.0)
    assert out["low"] == pytest.approx(lo_pi / (1 - lo_pi), rel=1e-9)
    assert out["high"] == pytest.approx(hi_pi / (1 - hi_pi), rel=1e-9)


def test_welch_by_hand():
    a = np.array([1.0, 2.0, 3.0, 4.0])  # mean 2.5, var 5/3
    b = np.array([2.0, 4.0, 6.0])  # mean 4, var 4
    va, vb = (5 / 3) / 4, 4 / 3
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    out = intervals.welch(a, b)
    assert out["diff"] == pytest.approx(1.5)
    assert out["df"] == pytest.approx(df)
    assert out["low"] == pytest.approx(1.5 - half)
    assert out["high"] == pytest.approx(1.5 + half)
