"""Hand-worked short series for every Making Data Count rule, option and icon value.

Every expected number below was worked out by hand (the arithmetic is in the comments) from the
NHSRplotthedots 0.2.2 definitions: mean of the (first n) points, moving ranges |y_i - y_(i-1)|
inside a rebase group, screening of moving ranges >= 3.267 x their mean (once), limits
mean +/- 2.66 x mean MR, near limits mean +/- 2 x (2.66/3) x mean MR.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from qieval.spc.mdc import mdc, mdc_icons

REL = 1e-9
NEAR = 2 * (2.66 / 3)  # 1.773333...


def frame(y, start="2020-01-01"):
    return pd.DataFrame({"month": pd.date_range(start, periods=len(y), freq="MS"), "v": list(map(float, y))})


def run(y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every series here has >= 13 points per group: no warning
        return mdc(frame(y), "v", "month", **kw)


def flagged(res):
    return np.flatnonzero(res["special_cause_flag"].to_numpy()).tolist()


CC, IMP, CON = "common_cause", "special_cause_improvement", "special_cause_concern"
NHI, NLO = "special_cause_neutral_high", "special_cause_neutral_low"

# --- series ------------------------------------------------------------------------------------
# 8,12 alternating then a jump to 30. mean = (7*8 + 7*12 + 30)/15 = 170/15 = 34/3.
# MRs: 13 x 4 and |30 - 12| = 18 -> mean MR 70/14 = 5; 18 >= 3.267*5 = 16.335 is screened out
# -> mean MR 52/13 = 4. Limits 34/3 -/+ 2.66*4 = 0.69333 / 21.97333; near 4.24 / 18.42667.
# 8 < 34/3 < 12, so the points alternate about the mean: only the last point is special.
OUT_HIGH = [8, 12] * 7 + [30]
# mirror: 12,8 then -10. mean = (84 + 56 - 10)/15 = 26/3; MRs 13 x 4 + 18 -> same mean MR 4.
# lpl = 26/3 - 10.64 = -1.97333 > -10.
OUT_LOW = [12, 8] * 7 + [-10]
# 10,14 x4 then 9..15 (seven strictly rising points). mean = (40+56+84)/15 = 12 (exact).
# MRs 7 x 4, |9-14| = 5, 6 x 1 -> 39/14 = 2.7857 (nothing screened: 3.267*2.79 = 9.1);
# limits 12 -/+ 7.41 and near 12 -/+ 4.94 hold every point.
TREND_UP = [10, 14] * 4 + [9, 10, 11, 12, 13, 14, 15]
TREND_DOWN = [14, 10] * 4 + [15, 14, 13, 12, 11, 10, 9]  # mirror image, mean 12
# as TREND_UP but 10,10,11,...,15: the tie leaves only six rising points (5 rises).
# mean = 181/15 = 12.0667; MRs 28 + 4 + 0 + 5 -> 37/14; near limits 12.07 -/+ 4.69 hold all.
# runs about the mean: 10,10,11,12 below (4), 13,14,15 above (3): nothing special.
TREND_SIX = [10, 14] * 4 + [10, 10, 11, 12, 13, 14, 15]
# 9,11 x6 then 16,11,16. mean = (54+66+43)/15 = 163/15 = 10.8667; MRs 11 x 2 + 3 x 5 = 37 -> 37/14
# = 2.642857; nupl = 10.8667 + 1.77333*2.642857 = 15.5533 < 16 < upl = 17.8967: both 16s are close
# to the upper limit, and 16, 11, 16 are all above the mean -> the two 16s are special.
TWO_IN_THREE = [9, 11] * 6 + [16, 11, 16]
# 9,11 x6 then 16,11,4. mean = 151/15 = 10.0667; MRs 22 + 5 + 5 + 7 = 39 -> 39/14 = 2.7857;
# 16 > nupl 15.0067 (upl 17.477) and 4 < nlpl 5.1267 (lpl 2.657): two close points but on opposite
# sides of the mean -> nothing special.
TWO_OPPOSITE = [9, 11] * 6 + [16, 11, 4]
# 11,9 x4 then seven 12s. mean = 164/15 = 10.9333 (11 above, 9 below); MRs 14 + 3 + 0 -> 17/14;
# nupl = 10.9333 + 2.1533 = 13.0867 > 12. The seven 12s are a run of 7 above the mean.
SIDE_SEVEN = [11, 9] * 4 + [12] * 7
# six 12s then 9: mean = 161/15 = 10.7333, MRs 14+3+0+3 = 20 -> 20/14; a run of only 6.
SIDE_SIX = [11, 9] * 4 + [12] * 6 + [9]
# 11,6 x4 then 12,12,12,10,12,12,12. mean = (68 + 10 + 72)/15 = 10 exactly, so the 10 lies on the
# mean and splits the 12s into two runs of 3. MRs 35 + 6 + 0+0+2+2+0+0 = 45 -> 45/14 (near 10 -/+ 5.7).
SIDE_ON_MEAN = [11, 6] * 4 + [12, 12, 12, 10, 12, 12, 12]
# control: the same with 12 instead of 10: mean 152/15 = 10.1333 -> run of 7 above the mean.
SIDE_ON_MEAN_CONTROL = [11, 6] * 4 + [12] * 7


# --- outside the limits ----------------------------------------------------------------------
def test_point_above_upper_limit():
    res = run(OUT_HIGH)
    assert res["mean"].to_numpy() == pytest.approx([34 / 3] * 15, rel=REL)
    assert res["upl"].to_numpy() == pytest.approx([34 / 3 + 2.66 * 4] * 15, rel=REL)
    assert res["lpl"].to_numpy() == pytest.approx([34 / 3 - 2.66 * 4] * 15, rel=REL)
    assert res["nupl"].to_numpy() == pytest.approx([34 / 3 + NEAR * 4] * 15, rel=REL)
    assert res["nlpl"].to_numpy() == pytest.approx([34 / 3 - NEAR * 4] * 15, rel=REL)
    assert res["outside_limits"].tolist() == [False] * 14 + [True]
    assert not res["close_to_limits"].any()
    assert res["relative_to_mean"].tolist() == [-1, 1] * 7 + [1]
    assert res["point_type"].tolist() == [CC] * 14 + [IMP]


def test_point_below_lower_limit():
    res = run(OUT_LOW)
    assert res["lpl"].iloc[0] == pytest.approx(26 / 3 - 2.66 * 4, rel=REL)
    assert res["outside_limits"].tolist() == [False] * 14 + [True]
    assert res["point_type"].tolist() == [CC] * 14 + [CON]


@pytest.mark.parametrize(
    "series, direction, last",
    [
        (OUT_HIGH, "increase", IMP), (OUT_HIGH, "decrease", CON), (OUT_HIGH, "neutral", NHI),
        (OUT_LOW, "increase", CON), (OUT_LOW, "decrease", IMP), (OUT_LOW, "neutral", NLO),
    ],
)
def test_point_type_for_each_direction(series, direction, last):
    res = run(series, improvement_direction=direction)
    assert res["point_type"].tolist() == [CC] * 14 + [last]
    assert res["special_cause_flag"].tolist() == [False] * 14 + [True]


def test_screen_outliers_true_and_false():
    # screened: mean MR 4 (the 18 dropped); unscreened (MDC Excel tool): mean MR 70/14 = 5.
    on = run(OUT_HIGH, screen_outliers=True)
    off = run(OUT_HIGH, screen_outliers=False)
    assert on["upl"].iloc[0] == pytest.approx(34 / 3 + 10.64, rel=REL)
    assert off["upl"].iloc[0] == pytest.approx(34 / 3 + 13.3, rel=REL)  # 24.6333
    assert off["lpl"].iloc[0] == pytest.approx(34 / 3 - 13.3, rel=REL)  # -1.9667
    assert off["nupl"].iloc[0] == pytest.approx(34 / 3 + NEAR * 5, rel=REL)
    assert off["mean"].iloc[0] == pytest.approx(34 / 3, rel=REL)  # the mean is never screened
    assert off["outside_limits"].tolist() == [False] * 14 + [True]  # 30 > 24.63 still


def test_screening_is_applied_once_and_is_strict():
    # 0,1 x6, 0 then 5, 35. MRs: twelve 1s, 5 and 30 -> mean 47/14 = 3.357; only 30 >= 3.267*3.357
    # = 10.97 is dropped -> mean MR 17/13 = 1.3077. A second pass (threshold 4.27) would also drop
    # the 5; NHSRplotthedots screens once, so the 5 stays. mean = (6 + 5 + 35)/15 = 46/15.
    res = run([0, 1] * 6 + [0, 5, 35])
    assert res["upl"].iloc[0] == pytest.approx(46 / 15 + 2.66 * 17 / 13, rel=REL)
    # equal MRs are never screened: an MR equal to the mean MR is < 3.267 x itself
    flat = run([0, 2] * 7)
    assert flat["upl"].iloc[0] == pytest.approx(1 + 2.66 * 2, rel=REL)


def test_deviations_vignette_example():
    # NHSRplotthedots vignette "Deviations from excel defaults" (vignettes/deviations.Rmd) uses
    # c(1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1). Worked by hand: nine 1s, eight 2s
    # and a 10 -> mean 35/18. MRs: 1, 1, 1, 8, 9 and twelve 1s -> 32/17 = 1.882; 8 and 9 are
    # >= 3.267 x 1.882 = 6.15, so screened -> 15/15 = 1 (UPL 4.60, LPL -0.72); the Excel way keeps
    # them (UPL 6.95, LPL -3.06).
    y = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
    on, off = run(y), run(y, screen_outliers=False)
    assert on["mean"].iloc[0] == pytest.approx(35 / 18, rel=REL)
    assert on["upl"].iloc[0] == pytest.approx(35 / 18 + 2.66, rel=REL)
    assert on["lpl"].iloc[0] == pytest.approx(35 / 18 - 2.66, rel=REL)
    assert off["upl"].iloc[0] == pytest.approx(35 / 18 + 2.66 * 32 / 17, rel=REL)
    assert off["lpl"].iloc[0] == pytest.approx(35 / 18 - 2.66 * 32 / 17, rel=REL)
    assert on["outside_limits"].tolist() == off["outside_limits"].tolist() == [False] * 4 + [True] + [False] * 13


# --- seven-point trend -----------------------------------------------------------------------
def test_seven_point_rising_trend_flags_all_seven():
    res = run(TREND_UP)
    assert res["mean"].iloc[0] == pytest.approx(12, rel=REL)
    assert res["upl"].iloc[0] == pytest.approx(12 + 2.66 * 39 / 14, rel=REL)
    assert not res["outside_limits"].any() and not res["close_to_limits"].any()
    assert flagged(res) == list(range(8, 15))
    # all seven are "improvement" for increase, though 9, 10, 11 lie below the mean and 12 on it
    assert res["relative_to_mean"].iloc[8:15].tolist() == [-1, -1, -1, 0, 1, 1, 1]
    assert res["point_type"].tolist() == [CC] * 8 + [IMP] * 7
    assert run(TREND_UP, improvement_direction="decrease")["point_type"].tolist() == [CC] * 8 + [CON] * 7
    assert run(TREND_UP, improvement_direction="neutral")["point_type"].tolist() == [CC] * 8 + [NHI] * 7


def test_seven_point_falling_trend():
    res = run(TREND_DOWN)
    assert flagged(res) == list(range(8, 15))
    assert res["point_type"].tolist() == [CC] * 8 + [CON] * 7


def test_six_point_trend_and_tie_do_not_flag():
    res = run(TREND_SIX)
    assert res["mean"].iloc[0] == pytest.approx(181 / 15, rel=REL)
    assert res["upl"].iloc[0] == pytest.approx(181 / 15 + 2.66 * 37 / 14, rel=REL)
    assert flagged(res) == []
    assert set(res["point_type"]) == {CC}


# --- two of three close to a limit -----------------------------------------------------------
def test_two_of_three_beyond_two_sigma_same_side():
    res = run(TWO_IN_THREE)
    assert res["mean"].iloc[0] == pytest.approx(163 / 15, rel=REL)
    assert res["nupl"].iloc[0] == pytest.approx(163 / 15 + NEAR * 37 / 14, rel=REL)
    assert res["close_to_limits"].tolist() == [False] * 12 + [True, False, True]
    assert not res["outside_limits"].any()
    # only the two close points are flagged, not the middle one
    assert res["point_type"].tolist() == [CC] * 12 + [IMP, CC, IMP]


def test_two_of_three_on_opposite_sides_do_not_flag():
    res = run(TWO_OPPOSITE)
    assert res["nupl"].iloc[0] == pytest.approx(151 / 15 + NEAR * 39 / 14, rel=REL)
    assert res["nlpl"].iloc[0] == pytest.approx(151 / 15 - NEAR * 39 / 14, rel=REL)
    assert res["close_to_limits"].tolist() == [False] * 12 + [True, False, True]
    assert flagged(res) == []


# --- seven points one side of the mean -------------------------------------------------------
def test_seven_points_above_mean():
    res = run(SIDE_SEVEN)
    assert res["mean"].iloc[0] == pytest.approx(164 / 15, rel=REL)
    assert not res["close_to_limits"].any() and not res["outside_limits"].any()
    assert res["point_type"].tolist() == [CC] * 8 + [IMP] * 7


def test_six_points_above_mean_do_not_flag():
    assert flagged(run(SIDE_SIX)) == []


def test_point_on_mean_breaks_run():
    res = run(SIDE_ON_MEAN)
    assert res["mean"].iloc[0] == 10.0
    assert res["relative_to_mean"].iloc[11] == 0
    assert flagged(res) == []
    control = run(SIDE_ON_MEAN_CONTROL)
    assert control["mean"].iloc[0] == pytest.approx(152 / 15, rel=REL)
    assert flagged(control) == list(range(8, 15))


# --- precedence ------------------------------------------------------------------------------
def test_trend_beats_one_side_of_mean():
    # 16,4 x4 then 15,14.5,...,12: a falling trend lying wholly above the mean.
    # mean = (80 + 94.5)/15 = 11.6333; MRs 7 x 12 + 11 + 6 x 0.5 = 98 -> 7 (3.267*7 = 22.9, none
    # screened); limits 11.63 -/+ 18.62, near -/+ 12.41: nothing outside or close.
    # The side rule alone would say "above the mean" (improvement for increase); the trend rule,
    # which comes first, says "decreasing" (concern).
    res = run([16, 4] * 4 + [15, 14.5, 14, 13.5, 13, 12.5, 12])
    assert res["upl"].iloc[0] == pytest.approx(174.5 / 15 + 2.66 * 7, rel=REL)
    assert res["relative_to_mean"].iloc[8:].tolist() == [1] * 7
    assert res["point_type"].tolist() == [CC] * 8 + [CON] * 7


def test_outside_limits_beats_trend():
    # 10,12 x8 then 3,9,10,11,12,13,14 (a rising trend of 7 starting low). 23 points.
    # mean = (80 + 96 + 72)/23 = 248/23 = 10.7826. MRs 15 x 2 + 9 + 6 + 5 x 1 = 50 over 22 -> 2.2727;
    # 9 >= 3.267*2.2727 = 7.425 is screened -> 41/21 = 1.95238. lpl = 10.7826 - 5.1933 = 5.589 > 3.
    # The 3 is "below the lower limit" (concern for increase) although it starts a rising trend.
    res = run([10, 12] * 8 + [3, 9, 10, 11, 12, 13, 14])
    assert res["lpl"].iloc[0] == pytest.approx(248 / 23 - 2.66 * 41 / 21, rel=REL)
    assert res["outside_limits"].tolist() == [False] * 16 + [True] + [False] * 6
    assert res["point_type"].tolist() == [CC] * 16 + [CON] + [IMP] * 6


# --- rebase and fix_after_n_points -----------------------------------------------------------
REBASE = [10, 12] * 7 + [20, 22] * 7  # two phases: mean 11 then 21, mean MR 2 in each


@pytest.mark.parametrize("screen", [True, False])
@pytest.mark.parametrize("when", ["2021-03-01", pd.Timestamp("2021-03-01"), ["2021-03-01"]])
def test_rebase_separate_means_and_no_mr_across_boundary(screen, when):
    # point 15 (index 14) is 2021-03-01. Within each phase 13 MRs of 2 -> 2; had the MR across the
    # boundary (|20 - 12| = 8) been kept, unscreened phase 2 would have (8 + 26)/14 = 2.43.
    res = run(REBASE, rebase=when, screen_outliers=screen)
    assert res["x"].iloc[14] == pd.Timestamp("2021-03-01")
    assert res["rebase_group"].tolist() == [0] * 14 + [1] * 14
    assert res["mean"].tolist() == pytest.approx([11] * 14 + [21] * 14, rel=REL)
    assert res["upl"].tolist() == pytest.approx([11 + 5.32] * 14 + [21 + 5.32] * 14, rel=REL)
    assert res["lpl"].tolist() == pytest.approx([11 - 5.32] * 14 + [21 - 5.32] * 14, rel=REL)
    assert flagged(res) == []


def test_rebase_on_first_date_starts_group_one():
    res = run(REBASE, rebase=["2020-01-01"])
    assert res["rebase_group"].tolist() == [1] * 28


def test_fix_after_n_points():
    # 10,12 x6 then 13,15,13,15. Fixed on the first 12: mean 11, MRs 11 x 2 -> 2, nupl 14.5467,
    # upl 16.32: both 15s are close and 13,15,13 / 15,13,15 lie above 11 -> the 15s are special.
    # Unfixed: mean 188/16 = 11.75, MRs 22 + 1 + 6 = 29 -> 29/15; nupl 15.178 > 15: nothing special.
    y = [10, 12] * 6 + [13, 15, 13, 15]
    fixed = run(y, fix_after_n_points=12)
    assert fixed["mean"].tolist() == pytest.approx([11] * 16, rel=REL)
    assert fixed["upl"].tolist() == pytest.approx([16.32] * 16, rel=REL)
    assert fixed["nupl"].iloc[0] == pytest.approx(11 + NEAR * 2, rel=REL)
    assert fixed["point_type"].tolist() == [CC] * 13 + [IMP, CC, IMP]
    free = run(y)
    assert free["mean"].iloc[0] == pytest.approx(11.75, rel=REL)
    assert free["upl"].iloc[0] == pytest.approx(11.75 + 2.66 * 29 / 15, rel=REL)
    assert flagged(free) == []
    # fixing after more points than there are changes nothing
    assert run(y, fix_after_n_points=100)["upl"].tolist() == free["upl"].tolist()


def test_fix_after_n_points_applies_per_rebase_group():
    # phase 2 of REBASE shifted from 20,22 to 20,22 x6 then 40,40: fixed on 12 -> mean 21, MR 2
    y = [10, 12] * 7 + [20, 22] * 6 + [40, 40]
    res = run(y, rebase=["2021-03-01"], fix_after_n_points=12)
    assert res["mean"].tolist() == pytest.approx([11] * 14 + [21] * 14, rel=REL)
    assert res["upl"].iloc[-1] == pytest.approx(26.32, rel=REL)
    assert res["outside_limits"].tolist() == [False] * 26 + [True, True]


# --- facets, dicts -----------------------------------------------------------------------------
def two_facets():
    a = frame(OUT_HIGH).assign(unit="A")
    b = frame(REBASE).assign(unit="B")
    return pd.concat([b, a], ignore_index=True)


def test_facet_dicts_for_rebase_and_target():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mdc(two_facets(), "v", "month", facet="unit", rebase={"B": ["2021-03-01"]}, target={"A": 0.0})
    assert list(res.columns)[0] == "unit"
    assert res["unit"].tolist() == ["A"] * 15 + ["B"] * 28  # sorted by facet, then date
    a, b = res[res.unit == "A"], res[res.unit == "B"]
    assert a["rebase_group"].tolist() == [0] * 15
    assert b["rebase_group"].tolist() == [0] * 14 + [1] * 14
    assert a["upl"].tolist() == pytest.approx([34 / 3 + 10.64] * 15, rel=REL)
    assert b["mean"].tolist() == pytest.approx([11] * 14 + [21] * 14, rel=REL)
    assert a["target"].tolist() == [0.0] * 15
    assert b["target"].isna().all()
    icons = mdc_icons(res)
    assert icons.to_dict("list") == {
        "unit": ["A", "B"],
        "variation": ["improvement_high", "common_cause"],
        "assurance": ["pass", ""],  # B has no target
    }


def test_single_target_applies_to_every_facet():
    res = mdc(two_facets(), "v", "month", facet="unit", target=10)
    assert (res["target"] == 10.0).all()


# --- icons -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "series, direction, variation",
    [
        (TREND_SIX, "increase", "common_cause"),
        (OUT_HIGH, "increase", "improvement_high"),
        (OUT_LOW, "decrease", "improvement_low"),
        (OUT_HIGH, "decrease", "concern_high"),
        (OUT_LOW, "increase", "concern_low"),
        (OUT_HIGH, "neutral", "neutral_high"),
        (OUT_LOW, "neutral", "neutral_low"),
        # a falling trend lying above the mean ends in "concern_low" for increase (the trend's
        # direction, not the side of the mean, decides)
        ([16, 4] * 4 + [15, 14.5, 14, 13.5, 13, 12.5, 12], "increase", "concern_low"),
    ],
)
def test_each_variation_icon(series, direction, variation):
    icons = mdc_icons(run(series, improvement_direction=direction))
    assert icons.to_dict("list") == {"f": ["no facet"], "variation": [variation], "assurance": [""]}


@pytest.mark.parametrize(
    "direction, target, assurance",
    [
        # OUT_HIGH limits: lpl 0.69333, upl 21.97333
        ("increase", 0, "pass"),  # target below lpl: every expected value beats it
        ("increase", 25, "fail"),  # target above upl
        ("increase", 10, "inconsistent"),
        ("decrease", 0, "fail"),
        ("decrease", 25, "pass"),
        ("decrease", 10, "inconsistent"),
        ("neutral", 10, ""),
        ("increase", None, ""),
    ],
)
def test_each_assurance_value(direction, target, assurance):
    icons = mdc_icons(run(OUT_HIGH, improvement_direction=direction, target=target))
    assert icons["assurance"].tolist() == [assurance]


def test_assurance_uses_last_rebase_group():
    # phase 2 limits 15.68..26.32: target 14 is passed for increase; phase 1 (5.68..16.32) would
    # have said "inconsistent".
    icons = mdc_icons(run(REBASE, rebase=["2021-03-01"], target=14))
    assert icons["assurance"].tolist() == ["pass"]
    icons = mdc_icons(run(REBASE, rebase=["2021-03-01"], target=14, improvement_direction="decrease"))
    assert icons["assurance"].tolist() == ["fail"]


def test_mean_is_computed_like_r():
    # R's mean() sums in long double and adds a residual correction. The doubles 0.1, 0.2, 0.3 sum
    # exactly to 0.60000000000000000555; a third of that is 0.20000000000000000185, whose nearest
    # double is 0.2 itself (naive double arithmetic gives 0.6000000000000001/3 =
    # 0.20000000000000004). So in NHSRplotthedots the 0.2 points lie *on* the mean.
    from qieval.spc.mdc import r_mean

    assert r_mean(np.array([0.1, 0.2, 0.3])) == 0.2
    res = run([0.1, 0.2, 0.3] * 5)
    assert (res["mean"] == 0.2).all()
    assert res["relative_to_mean"].tolist() == [-1, 0, 1] * 5
