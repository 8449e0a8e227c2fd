"""Anhoej runs analysis: thresholds against the published table and exact binomial sums,
runs and crossings counted by hand, and the vectorised version against a plain loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qieval.spc.anhoej import crossings_min, longest_run_max, runs_analysis


def exact_qbinom_05(m: int) -> int:
    """Smallest k with P(Binomial(m, 1/2) <= k) >= 0.05, by exact integer arithmetic."""
    total = 0
    for k in range(m + 1):
        total += math.comb(m, k)
        if total * 20 >= 2**m:  # total / 2^m >= 1/20
            return k
    return m


# n useful observations -> (upper limit for longest run, lower limit for number of crossings).
# n = 10, 20, 24, 30: Anhoej & Olesen (2014), PLoS ONE 9(11) e113825, Table 1 (24 also in the
# qicharts2 vignette: "round(log2(24) + 3) = 8", "qbinom(0.05, 24 - 1, 0.5) = 8").
# n = 11..19 worked by hand: limit = round(log2 n) + 3; crossings = smallest k with
# sum_{j<=k} C(n-1, j) / 2^(n-1) >= 0.05, e.g. n = 19: P(X<=5) = 12616/262144 = 0.048,
# P(X<=6) = 31180/262144 = 0.119 -> 6; n = 14: P(X<=3) = 378/8192 = 0.046, P(X<=4) = 0.133 -> 4.
PUBLISHED = {10: (6, 2), 11: (6, 2), 12: (7, 3), 13: (7, 3), 14: (7, 4), 15: (7, 4),
             16: (7, 4), 17: (7, 5), 18: (7, 5), 19: (7, 6), 20: (7, 6), 24: (8, 8),
             30: (8, 10)}


@pytest.mark.parametrize("n", sorted(PUBLISHED))
def test_thresholds_match_published_table(n: int) -> None:
    lr_max, cr_min = PUBLISHED[n]
    assert longest_run_max(np.array([n]))[0] == lr_max
    assert crossings_min(np.array([n]))[0] == cr_min


def test_thresholds_match_first_principles_for_1_to_400() -> None:
    n = np.arange(1, 401)
    # round(log2 n) + 3 with round-half-even; log2 of an integer is never exactly k + 0.5
    expected_lr = np.array([round(math.log2(int(k))) + 3 for k in n])
    expected_cr = np.array([exact_qbinom_05(int(k) - 1) for k in n])
    np.testing.assert_array_equal(longest_run_max(n), expected_lr)
    np.testing.assert_array_equal(crossings_min(n), expected_cr)


def test_thresholds_missing_without_useful_points() -> None:
    assert np.isnan(longest_run_max(np.array([0]))[0])
    assert np.isnan(crossings_min(np.array([0]))[0])


def one(y, cl, include=None):
    y = np.asarray(y, dtype=float)
    include = np.ones(len(y), bool) if include is None else np.asarray(include)
    r = runs_analysis(y, np.full(len(y), float(cl)), include, np.zeros(len(y), np.int64), 1)
    return {k: getattr(r, k)[0] for k in ("n_obs", "n_useful", "longest_run", "longest_run_max",
                                           "n_crossings", "n_crossings_min", "runs_signal")}


def test_hand_counted_sequence_with_points_on_centre_line_and_missing() -> None:
    # cl = 5
    # y     : 6  7  5  8  4  3  nan 2  5  6  7  8  9  1
    # side  : +  +  0  +  -  -  .   -  0  +  +  +  +  -
    # useful: 11 (the two 5s and the nan are not useful); n_obs = 14
    # runs (0 and nan neither break nor count): [+ + +] [- - -] [+ + + +] [-]
    #   -> 4 runs, longest 4, crossings 3
    # limits for n = 11: round(log2 11) + 3 = round(3.46) + 3 = 6; qbinom(0.05, 10, 0.5) = 2
    #   (P(X<=1) = 11/1024 = 0.011, P(X<=2) = 56/1024 = 0.055)
    r = one([6, 7, 5, 8, 4, 3, np.nan, 2, 5, 6, 7, 8, 9, 1], 5)
    assert r["n_obs"] == 14 and r["n_useful"] == 11
    assert r["longest_run"] == 4 and r["n_crossings"] == 3
    assert r["longest_run_max"] == 6 and r["n_crossings_min"] == 2
    assert not r["runs_signal"]


def test_long_run_signals() -> None:
    # 10 points: 7 above then 3 below cl = 0 -> longest run 7 > 6 (limit for n = 10); 1 crossing
    # (< 2 as well)
    r = one([1] * 7 + [-1] * 3, 0)
    assert r["longest_run"] == 7 and r["n_crossings"] == 1 and r["runs_signal"]


def test_exactly_at_limits_does_not_signal() -> None:
    # n = 10, longest run 6 (= limit 6, not greater), crossings: + x6, -, +, -, +
    # runs: [6][1][1][1][1] -> 5 runs, 4 crossings >= 2
    r = one([1] * 6 + [-1, 1, -1, 1], 0)
    assert r["longest_run"] == 6 and r["n_crossings"] == 4 and not r["runs_signal"]


def test_few_crossings_alone_signals() -> None:
    # n = 20: limits 7 and 6. Runs 5,5,5,5 -> longest 5 (fine), 3 crossings < 6 -> signal
    r = one([1] * 5 + [-1] * 5 + [1] * 5 + [-1] * 5, 0)
    assert r["longest_run"] == 5 and r["n_crossings"] == 3
    assert r["longest_run_max"] == 7 and r["n_crossings_min"] == 6 and r["runs_signal"]


def test_excluded_points_are_skipped() -> None:
    # exclude the single '-' at position 4: the remaining 9 useful points form [+ x8][-]
    # n_obs = 9 (included points), longest 8, crossings 1
    y = [1, 1, 1, -1, 1, 1, 1, 1, 1, -1]
    include = [True, True, True, False, True, True, True, True, True, True]
    r = one(y, 0, include)
    assert r["n_obs"] == 9 and r["n_useful"] == 9
    assert r["longest_run"] == 8 and r["n_crossings"] == 1


def test_no_useful_points() -> None:
    r = one([5, 5, np.nan], 5)
    assert r["n_useful"] == 0 and r["n_obs"] == 3
    assert np.isnan(r["longest_run"]) and np.isnan(r["n_crossings"]) and not r["runs_signal"]


def loop_reference(y, cl, include):
    """Plain per-series implementation of the Anhoej rules, for comparison."""
    sides = [math.copysign(1, v - cl) for v, inc in zip(y, include)
             if inc and not math.isnan(v) and v != cl]
    n = len(sides)
    if n == 0:
        return (sum(include), 0, None, None, False)
    runs = [1]
    for a, b in zip(sides, sides[1:]):
        if a == b:
            runs[-1] += 1
        else:
            runs.append(1)
    longest, crossings = max(runs), len(runs) - 1
    signal = longest > round(math.log2(n)) + 3 or crossings < exact_qbinom_05(n - 1)
    return (sum(include), n, longest, crossings, signal)


def test_vectorised_matches_loop_over_many_segments() -> None:
    rng = np.random.default_rng(7)
    lengths = rng.integers(1, 40, 300)
    seg = np.repeat(np.arange(len(lengths)), lengths)
    y = np.round(rng.normal(size=len(seg)) + np.repeat(rng.normal(size=len(lengths)), lengths), 1)
    y[rng.random(len(y)) < 0.05] = np.nan
    cl = np.repeat(np.round(rng.normal(size=len(lengths)), 1), lengths)
    include = rng.random(len(y)) > 0.1
    r = runs_analysis(y, cl, include, seg, len(lengths))
    for s in range(len(lengths)):
        m = seg == s
        n_obs, n_useful, longest, crossings, signal = loop_reference(y[m], cl[m][0], include[m])
        assert r.n_obs[s] == n_obs and r.n_useful[s] == n_useful
        if longest is None:
            assert np.isnan(r.longest_run[s]) and not r.runs_signal[s]
        else:
            assert r.longest_run[s] == longest and r.n_crossings[s] == crossings
            assert bool(r.runs_signal[s]) == signal
