"""Identifiability on hand-made designs: what the data can and cannot separate."""

import numpy as np

from qieval.attribution import fit
from qieval.attribution import identifiability
from qieval.attribution.design import build_design
from qieval.attribution.inputs import tidy_interventions, tidy_measure
from attribution_helpers import iv, series


def _verdict(mv, ivs, time_effects="trend"):
    data = tidy_measure(mv, "binomial")
    starts = tidy_interventions(ivs, sorted(data["site_id"].unique()))
    d = build_design(data, starts, harmonics=0, slope_change=False, time_effects=time_effects)
    return identifiability.check(data, d, starts), d


def test_rank_helper_on_hand_made_matrix():
    a = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 1], [1, 1, 1]], float)  # columns 2 and 3 identical
    assert identifiability.rank(a) == 2
    assert not identifiability.adds_rank(a[:, :2], a[:, 2:])
    assert identifiability.adds_rank(a[:, :1], a[:, 1:2])


def test_collinear_pair_same_month_everywhere():
    mv = series(["A", "B"], effects={"A": [(10, -0.4)], "B": [(14, -0.4)]})
    ivs = iv([("A", "2022-11-01", "staffing"), ("A", "2022-11-20", "IT"),
              ("B", "2023-03-01", "staffing"), ("B", "2023-03-02", "IT"),
              ("A", "2022-05-01", "education"), ("B", "2022-08-01", "education")])
    v, _ = _verdict(mv, ivs)
    assert v.separable == {"IT": False, "education": True, "staffing": False}
    assert v.groups == [["IT", "staffing"]]
    assert "2022-11 at A, 2023-03 at B" in v.reasons["IT"]

    a = fit(mv, ivs)
    eff = a.effects.set_index("category")
    assert not eff.loc["IT", "separable"] and not eff.loc["staffing", "separable"]
    assert np.isnan(eff.loc["IT", "estimate"]) and np.isnan(eff.loc["staffing", "ratio_low"])
    note = eff.loc["staffing", "note"]
    assert "IT and staffing started in the same month at every site" in note
    assert "combined change is odds ratio" in note and "cannot separate them" in note
    assert eff.loc["education", "separable"] and np.isfinite(eff.loc["education", "estimate"])
    # the joint term's estimate is the same as fitting one merged category
    merged = fit(mv, ivs.assign(category=ivs["category"].replace({"IT": "both", "staffing": "both"})))
    ratio = merged.effects.set_index("category").loc["both", "ratio"]
    assert f"odds ratio {ratio:.2f}" in note


def test_fewer_than_8_points_after():
    mv = series(["A"], months=30)  # 2022-01 .. 2024-06
    ivs = iv([("A", "2022-12-01", "early"), ("A", "2023-12-01", "late")])  # late: 2023-12..2024-06 = 7 months
    v, _ = _verdict(mv, ivs)
    assert v.separable == {"early": True, "late": False}
    assert "only 7 month(s) after its start" in v.reasons["late"]
    a = fit(mv, ivs)
    eff = a.effects.set_index("category")
    assert not eff.loc["late", "separable"] and np.isnan(eff.loc["late", "estimate"])
    assert eff.loc["early", "separable"]
    # 8 months is enough
    v8, _ = _verdict(mv, iv([("A", "2023-11-01", "late")]))
    assert v8.separable == {"late": True}


def test_category_only_at_one_site_is_separable_with_site_and_calendar_effects():
    mv = series(["A", "B", "C"], months=36, effects={"B": [(12, -0.5)]}, seed=11)
    ivs = iv([("B", "2023-01-01", "only_B"), ("A", "2022-07-01", "x"), ("C", "2022-10-01", "x")])
    v, d = _verdict(mv, ivs, time_effects="calendar")
    assert v.separable == {"only_B": True, "x": True}
    a = fit(mv, ivs)
    assert a.time_effects == "calendar"
    eff = a.effects.set_index("category")
    assert eff.loc["only_B", "ratio_low"] < np.exp(-0.5) < eff.loc["only_B", "ratio_high"]


def test_same_month_everywhere_is_not_separable_and_never_silently_fitted_against_a_trend():
    # "auto" used to fall back to one linear trend here, which manufactured false findings
    mv = series(["A", "B"], effects={"A": [(10, -0.4)], "B": [(10, -0.4)]})
    ivs = iv([("ALL", "2022-11-01", "campaign")])
    v, _ = _verdict(mv, ivs, time_effects="calendar")
    assert not v.separable["campaign"]
    a = fit(mv, ivs)  # defaults
    assert a.time_effects == "calendar"
    row = a.effects.set_index("category").loc["campaign"]
    assert not row["separable"] and np.isnan(row["estimate"])
    assert "not separable from other changes over time shared by all sites" in row["note"]
    assert not any("trend" in w for w in a.warnings)
    # an interrupted time series against a trend only when asked, and then labelled as such
    asked = fit(mv, ivs, time_effects="trend")
    assert asked.time_effects == "trend" and asked.effects["separable"].all()
    assert asked.effects["method"].str.startswith("interrupted time series against a linear trend").all()
    assert "interrupted-time-series estimate against a linear trend" in asked.effects["sentence"].iloc[0]


def test_no_before_period():
    mv = series(["A"])
    v, _ = _verdict(mv, iv([("A", "2021-06-01", "old")]))
    assert not v.separable["old"] and "no before period" in v.reasons["old"]
