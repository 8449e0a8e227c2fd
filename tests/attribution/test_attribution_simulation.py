"""Validity evidence: a seeded simulation with known effects (see attribution_simulate.py), used to choose defaults.

Settings (60 replicates each, numpy Generator seed 2024; about 200 fits, ~10 s):

* ``calendar``: site + calendar-month fixed effects (the default for staggered multi-site data),
* ``trend``: site fixed effects + a common linear trend,
each with no common shock and with a shock (+0.25 on the logit scale from 2022-01 at every site).

Checks: estimates recover the true log odds ratios (mean error small against the SE), 95% intervals
cover near the nominal rate, and the common-trend model is biased by a shared shock while calendar
effects are not — the evidence for the default documented in :func:`qieval.attribution.fit`.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution_simulate as simulate
from qieval.attribution import fit

REPS = 60


def _run(time_effects: str, shock: float) -> pd.DataFrame:
    rng = np.random.default_rng(2024)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(REPS):
            a = fit(simulate.simulate(rng, shock=shock), simulate.interventions(), time_effects=time_effects)
            sens = a.sensitivity.set_index(["category", "method"])
            for _, r in a.effects.iterrows():
                truth = np.log(simulate.TRUE_OR[r["category"]])
                cl = sens.loc[(r["category"], "cluster-robust by site")]
                rows.append({"category": r["category"], "error": r["estimate"] - truth, "se": r["std_error"],
                             "covered": r["estimate_low"] <= truth <= r["estimate_high"],
                             "covered_cluster": cl["estimate_low"] <= truth <= cl["estimate_high"]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def results():
    return {(te, s): _run(te, s) for te, s in [("calendar", 0.0), ("calendar", 0.25), ("trend", 0.25)]}


def _summary(df):
    return df.groupby("category").agg(bias_in_se=("error", lambda e: e.mean() / df.loc[e.index, "se"].mean()),
                                       coverage=("covered", "mean"), coverage_cluster=("covered_cluster", "mean"))


@pytest.mark.parametrize("shock", [0.0, 0.25])
def test_calendar_effects_recover_truth_with_near_nominal_coverage(results, shock):
    df = results[("calendar", shock)]
    s = _summary(df)
    assert (s["bias_in_se"].abs() < 0.3).all(), s
    # 3 x 60 intervals: nominal 95%; quasi-likelihood SEs are a little narrow with AR(1) noise (rho 0.4)
    assert 0.87 <= df["covered"].mean() <= 0.99, s
    assert (s["coverage"] >= 0.8).all(), s
    assert 0.8 <= df["covered_cluster"].mean() <= 1.0, s


def test_common_trend_is_biased_by_a_shared_shock(results):
    cal, tr = _summary(results[("calendar", 0.25)]), _summary(results[("trend", 0.25)])
    # staffing starts 2021-07..2022-04, around the shock (2022-01): the common-trend model absorbs the
    # shock into the intervention terms, calendar effects do not
    assert tr.loc["staffing", "bias_in_se"] > 1.0
    assert results[("trend", 0.25)]["covered"].mean() < 0.8
    assert abs(cal.loc["staffing", "bias_in_se"]) < 0.3


def test_auto_chooses_calendar_effects_for_staggered_starts():
    rng = np.random.default_rng(1)
    a = fit(simulate.simulate(rng), simulate.interventions())
    assert a.time_effects == "calendar"
