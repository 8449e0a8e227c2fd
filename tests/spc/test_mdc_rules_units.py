"""Unit tests of the rule helpers in qieval.spc.mdc_rules.

Expected vectors are transcribed from NHSRplotthedots' own test file
``tests/testthat/test-ptd_calculate_point_type.R`` (package version 0.2.x), with R's 0/1 numerics
written as booleans where our helper returns a boolean. A single group (all zeros) stands for one
R vector; extra cases check that nothing crosses a group boundary.
"""

from __future__ import annotations

import numpy as np
import pytest

from qieval.spc import mdc_rules as r


def one_group(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int64)


# ptd_seven_point_one_side_mean ---------------------------------------------------------------
@pytest.mark.parametrize(
    "v, expected",
    [
        ([], []),
        ([1] * 6, [0] * 6),
        ([1] * 6 + [-1], [0] * 7),
        ([1] * 8 + [-1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
        ([-1] * 8 + [1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
    ],
)
def test_seven_point_one_side_mean_r_vectors(v, expected):
    got = r.seven_point_one_side_mean(np.array(v, dtype=np.int64), one_group(len(v)))
    assert got.tolist() == expected


def test_seven_point_one_side_mean_zero_breaks_and_groups_do_not_join():
    # a point on the mean (0) breaks the run (not in the R tests; follows from its all(==) test)
    v = np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1])
    assert r.seven_point_one_side_mean(v, one_group(11)).tolist() == [0] * 10 + [1]
    # 4 + 4 points above the mean in two groups: no run of 7 inside either group
    v = np.ones(8, dtype=np.int64)
    assert r.seven_point_one_side_mean(v, np.array([0] * 4 + [1] * 4)).tolist() == [0] * 8


# ptd_part_of_seven_trend ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "v, expected",
    [
        ([], []),
        ([0] * 6, [0] * 6),
        ([0] * 6 + [1, 0], [1] * 7 + [0]),
        ([0] * 7 + [1, 0], [0] + [1] * 7 + [0]),
        ([0] * 6 + [-1, 0], [1] * 7 + [0]),
        ([0] * 7 + [-1, 0], [0] + [1] * 7 + [0]),
    ],
)
def test_part_of_seven_r_vectors(v, expected):
    got = r.part_of_seven(np.array(v, dtype=np.int64), one_group(len(v)))
    assert got.astype(int).tolist() == expected


def test_part_of_seven_stops_at_group_start():
    v = np.array([0, 0, 0, 1, 0, 0])
    got = r.part_of_seven(v, np.array([0, 0, 1, 1, 1, 1]))
    assert got.tolist() == [False, False, True, True, False, False]


# ptd_seven_point_trend -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "y, expected",
    [
        ([], []),
        (list(range(1, 7)), [0] * 6),
        ([1, 2, 3, 3, 4, 5, 6], [0] * 7),  # c(1:3, 3:6): a tie breaks the trend
        (list(range(1, 8)), [0] * 6 + [1]),
        ([2, 1, 2, 3, 4, 5, 6, 7, 3], [0] * 7 + [1, 0]),
        (list(range(7, 0, -1)), [0] * 6 + [-1]),
        ([2, 7, 6, 5, 4, 3, 2, 1, 3], [0] * 7 + [-1, 0]),
    ],
)
def test_seven_point_trend_r_vectors(y, expected):
    got = r.seven_point_trend(np.array(y, dtype=float), one_group(len(y)))
    assert got.tolist() == expected


def test_seven_point_trend_needs_all_seven_in_one_group():
    y = np.arange(1.0, 9.0)  # 8 rising points, split 2 + 6
    assert r.seven_point_trend(y, np.array([0, 0] + [1] * 6)).tolist() == [0] * 8


# ptd_two_in_three ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "close, rtm, expected",
    [
        ([], [], []),
        ([0, 0, 0], [0, 0, 0], [0, 0, 0]),
        ([1, 0, 1], [1, 1, 1], [1, 1, 1]),
        ([0, 1, 1], [1, 1, 1], [1, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 1]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 1, 1, 0, 0]),
        ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 1, 1, 1, 1, 0, 0]),
        # "... when points are on opposite sides of the mean" (issue #143)
        ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
        ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
        ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
        ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
    ],
)
def test_two_in_three_r_vectors(close, rtm, expected):
    got = r.two_in_three(np.array(close, dtype=bool), np.array(rtm, dtype=np.int64), one_group(len(close)))
    assert got.astype(int).tolist() == expected


def test_two_in_three_window_must_lie_in_one_group():
    close = np.array([1, 1, 0, 0], dtype=bool)
    rtm = np.ones(4, dtype=np.int64)
    # the only windows with two close points straddle the boundary after row 1
    assert r.two_in_three(close, rtm, np.array([0, 0, 1, 1])).tolist() == [False] * 4


# ptd_part_of_two_in_three --------------------------------------------------------------------
@pytest.mark.parametrize(
    "close, expected",
    [
        ([1, 0, 1], [1, 0, 1]),
        ([0, 1, 1], [0, 1, 1]),
        ([1, 1, 0], [1, 1, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [0, 0, 1, 0, 1, 0, 0]),
        ([1, 0, 0, 1], [0, 0, 0, 0]),
        ([1, 0, 0, 1, 1], [0, 0, 0, 1, 1]),
    ],
)
def test_part_of_two_in_three_r_vectors(close, expected):
    c = np.array(close, dtype=bool)
    t = r.two_in_three(c, np.ones(len(c), dtype=np.int64), one_group(len(c)))
    assert r.part_of_two_in_three(t, c).astype(int).tolist() == expected


# ptd_point_type ------------------------------------------------------------------------------
LABELS = ["Above UCL", "Below LCL", "7 Point Trend (Increasing)", "7 Point Trend (Decreasing)",
          "2 in 3 Above CL", "2 in 3 Below CL", "7 Points Above CL", "7 Points Below CL", "Common Cause"]


def test_point_type_mapping():
    up, down, cc = "special_cause_improvement", "special_cause_concern", "common_cause"
    assert r.point_type(LABELS, 1).tolist() == [up, down, up, down, up, down, up, down, cc]
    assert r.point_type(LABELS, -1).tolist() == [down, up, down, up, down, up, down, up, cc]
    hi, lo = "special_cause_neutral_high", "special_cause_neutral_low"
    assert r.point_type(LABELS, 0).tolist() == [hi, lo, hi, lo, hi, lo, hi, lo, cc]


def test_special_cause_type_precedence_on_vectors():
    # 8 points: a rising run of 7 (rows 0-6) whose first point is outside the limits; rows 6 and 7
    # are close to the upper limit with rows 5-7 above the mean (a 2-in-3). Hand-labelled from the
    # precedence outside > trend > 2-in-3 > one side: row 6 is trend, row 7 2-in-3.
    y = np.array([0.0, 1, 2, 3, 4, 5, 6, 5])
    rtm = np.array([-1, -1, -1, 1, 1, 1, 1, 1])
    close = np.array([False, False, False, False, False, False, True, True])
    outside = np.array([True, False, False, False, False, False, False, False])
    got = r.special_cause_type(y, rtm, close, outside, one_group(8))
    assert got.tolist() == ["Below LCL"] + ["7 Point Trend (Increasing)"] * 6 + ["2 in 3 Above CL"]
