"""Honest handling of awkward data: zero baselines, no interventions, too few points; output shapes."""

import re
import warnings

import numpy as np
import pandas as pd

from qieval.attribution import fit, Attribution
from attribution_helpers import iv, series


def test_zero_event_baseline_is_not_estimable_single_site():
    mv = series(["A"], months=24)
    mv.loc[mv["period"] < "2023-01-01", "numerator"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PerfectSeparationWarning leaks out
        a = fit(mv, iv([("A", "2023-01-01", "x")]))
    row = a.effects.iloc[0]
    assert not row["separable"] and np.isnan(row["ratio"])
    assert "no events" in row["note"] and "not" in row["note"] and "estimat" in row["note"]
    assert any("zero baseline" in w for w in a.warnings)


def test_zero_event_site_is_left_out_of_multisite_fit():
    mv = series(["A", "B", "C"], months=30, effects={"A": [(8, -0.4)], "B": [(12, -0.4)]})
    mv.loc[(mv["site_id"] == "C") & (mv["period"] < "2023-01-01"), "numerator"] = 0
    ivs = iv([("A", "2022-09-01", "x"), ("B", "2023-01-01", "x"), ("C", "2023-01-01", "only_C")])
    a = fit(mv, ivs)
    eff = a.effects.set_index("category")
    assert eff.loc["x", "separable"] and np.isfinite(eff.loc["x", "ratio"])
    assert not eff.loc["only_C", "separable"] and "zero baseline" in eff.loc["only_C", "note"]
    assert "C" not in set(a.counterfactual["site_id"])
    assert any("site c had no events" in w.lower() for w in a.warnings)


def test_poisson_zero_baseline():
    mv = series(["A"], months=24)
    mv.loc[mv["period"] < "2023-01-01", "numerator"] = 0
    a = fit(mv, iv([("A", "2023-01-01", "x")]), family="poisson")
    assert not a.effects["separable"].any() and a.effects["ratio"].isna().all()


def test_no_interventions():
    a = fit(series(["A"]), None)
    assert isinstance(a, Attribution)
    assert len(a.effects) == 0 and list(a.effects.columns)[:3] == ["category", "estimate", "std_error"]
    assert any("No interventions" in w for w in a.warnings)
    assert len(a.counterfactual) == 30
    np.testing.assert_allclose(a.counterfactual["counterfactual"], a.counterfactual["fitted"])
    a2 = fit(series(["A"]), iv([])[["site_id", "start", "category"]])
    assert len(a2.effects) == 0


def test_too_few_points_overall():
    mv = series(["A"], months=3)
    a = fit(mv, iv([("A", "2022-02-01", "x")]), harmonics=0)
    assert not a.effects["separable"].any()
    assert a.effects["note"].iloc[0]  # a reason in words
    assert np.isnan(a.effects["estimate"].iloc[0])
    a = fit(series(["A"], months=10), iv([("A", "2022-02-01", "x")]), harmonics=5, min_points=3)
    assert a.effects["note"].iloc[0].startswith("Too few points to fit the model: 10 site-months for 12")
    assert a.time_effects == "none" and np.isnan(a.dispersion)


def test_multisite_outputs_and_language():
    import attribution_simulate as simulate

    rng = np.random.default_rng(99)
    a = fit(simulate.simulate(rng), simulate.interventions())
    assert a.time_effects == "calendar"
    assert [c for c in a.effects["category"] if ":" not in c] == ["IT", "education", "staffing"]
    assert a.impact == "event_time" and a.interval.startswith("wider of quasi-likelihood and cluster-robust")
    months = a.effects[a.effects["category"].str.startswith("IT:month_")]
    assert list(months["horizon"]) == list(range(len(months)))
    cf = a.counterfactual
    assert set(cf["site_id"]) == {"A", "B", "C", "D", "ALL"}
    assert (cf["counterfactual_low"] <= cf["counterfactual"]).all()
    assert (cf["counterfactual"] <= cf["counterfactual_high"]).all()
    pooled = cf[cf["site_id"] == "ALL"].set_index("period")
    per_site = cf[cf["site_id"] != "ALL"]
    obs = per_site.groupby("period").apply(lambda g: np.average(g["observed"], weights=g["denominator"]))
    np.testing.assert_allclose(pooled["observed"], obs.loc[pooled.index])
    assert set(a.sensitivity["method"]) == {"panel HAC (lag 9)"}  # the other two make the primary interval
    checks = set(a.diagnostics["check"])
    assert {"durbin_watson", "ljung_box_p", "points_before", "points_after"} <= checks
    # variance inflation is reported for level/slope terms, not for one term per month since the start
    assert "vif" in set(fit(simulate.simulate(rng), simulate.interventions(), impact="step").diagnostics["check"])
    for s, lo, hi in zip(a.sentences, a.effects["ratio_low"], a.effects["ratio_high"]):
        assert ("associated with" in s) == (hi < 1 or lo > 1)
        assert ("compatible with no change and with changes from" in s) == (lo <= 1 <= hi)
        assert not re.search(r"\bcaus", s, re.I)
        assert "%" not in s.replace("95% CI", "").replace("80% power", "")


def test_autocorrelation_warning():
    rng = np.random.default_rng(4)
    periods = pd.date_range("2020-01-01", periods=48, freq="MS")
    e = np.zeros(48)
    for i in range(1, 48):
        e[i] = 0.85 * e[i - 1] + rng.normal(0, 0.15)
    n = np.full(48, 500)
    y = rng.binomial(n, 1 / (1 + np.exp(-(-1 + e))))
    mv = pd.DataFrame({"site_id": "A", "period": periods, "numerator": y, "denominator": n})
    a = fit(mv, iv([("A", "2022-01-01", "x")]))
    assert any(w.startswith("Residuals are autocorrelated (Ljung–Box p = ") for w in a.warnings)
    lb = a.diagnostics.query("check == 'ljung_box_p'")
    assert lb["value"].iloc[0] < 0.05 and "lag 12" in lb["note"].iloc[0]
    assert a.sensitivity["method"].iloc[0] == "HAC (Newey-West, lag 12)"


def test_zero_events_after_the_change_is_reported_not_a_huge_number():
    mv = series(["A"], months=24)
    mv.loc[mv["period"] >= "2023-01-01", "numerator"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = fit(mv, iv([("A", "2023-01-01", "x")]), slope_change=True)
    assert not a.effects["separable"].any() and a.effects["ratio"].isna().all()
    assert "perfect separation" in a.effects["note"].iloc[0]
    assert sum("perfect separation" in w for w in a.warnings) == 1  # one per category


def test_many_zero_baseline_sites_are_counted_not_listed_in_the_sentences():
    """A network where most practices had no events before their change: the warning and the note
    give a count and three examples (a sentence per site would fill pages at 6,500 practices); every
    site left out is a ``left_out`` diagnostics row with its reason."""
    sites = [f"S{i}" for i in range(10)]
    mv = series(sites, months=30)
    zero = sites[2:]  # 8 sites with no events before 2023-01
    mv.loc[mv["site_id"].isin(zero) & (mv["period"] < "2023-01-01"), "numerator"] = 0
    ivs = iv([(s, "2023-01-01", "only_zero") for s in zero] + [("S0", "2022-06-01", "x"), ("S1", "2022-10-01", "x")])
    a = fit(mv, ivs, family="poisson")
    left = a.diagnostics[a.diagnostics["check"] == "left_out"]
    assert sorted(left["site_id"]) == zero and left["note"].str.contains("no events").all()
    warn = [w for w in a.warnings if "left out of the model" in w]
    assert len(warn) == 1 and warn[0].startswith("8 sites are left out")
    assert "and 5 more sites the same way" in warn[0] and warn[0].count("no events") == 3
    note = a.effects.set_index("category").loc["only_zero", "note"]
    assert "and 5 more sites the same way" in note and note.count("had no events") == 3
