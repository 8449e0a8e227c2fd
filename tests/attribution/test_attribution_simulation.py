"""Validity evidence for the defaults of ``fit``: a seeded simulation with known truth.

``attribution_simulate.simulate5``: 5 sites x 36 months; ``reviews`` starts in a different month at
each site with no effect, a step (OR 0.7) or a ramp growing month by month towards OR 0.5;
``education`` and ``focus group`` start in the same month everywhere and do nothing; the shared
pattern over time bends when education starts; persistent-cohort + AR(1) noise (dispersion < 1,
Durbin–Watson about 0.4). The truth of each headline is computed from the simulation's own
mechanism (``attribution_simulate.truth``), never from fit(). 40 seeded replicates per setting here
(about 25 CPU-seconds); ``benchmarks/attribution_simulation.py`` runs 200 and prints every analysis.

The old 4-site simulation (``simulate``) checks that a shock hitting every site at once biases a
common-trend model but not calendar-month effects.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution_simulate as sim
from qieval.attribution import fit

REPS = 40


@pytest.fixture(scope="module")
def blas():
    with sim.single_threaded_blas():
        yield


@pytest.fixture(scope="module")
def defaults(blas):
    return {e: sim.replicate5(e, {"default": {}}, REPS) for e in sim.EFFECTS}


@pytest.fixture(scope="module")
def alternatives(blas):
    return sim.replicate5("ramp", {"step": {"impact": "step"},
                                   "trend": {"time_effects": "trend", "impact": "step", "interval": "model"}},
                          REPS, seed=7)


def test_noise_has_dispersion_below_one_and_strong_autocorrelation(blas):
    rng = np.random.default_rng(11)
    checks = []
    for _ in range(10):
        mv = sim.simulate5(rng, "ramp", with_truth=True)
        disp, dw = sim.noise_checks(mv)
        checks.append((disp, dw, fit(mv.drop(columns="p_true"), sim.interventions5()).dispersion))
    disp, dw, fitted = np.mean(checks, axis=0)
    assert disp < 1 and fitted < 1
    assert 0.2 < dw < 0.7


@pytest.mark.parametrize("effect", sim.EFFECTS)
def test_defaults_are_unbiased_cover_and_make_no_false_claims(defaults, effect):
    df = defaults[effect]
    reviews = df[df["category"] == "reviews"]
    assert reviews["estimate"].notna().all()
    truth = sim.truth(effect)
    assert reviews["truth"].iloc[0] == truth
    assert abs(reviews["estimate"].mean() - truth) < 0.05  # about half a standard error
    assert reviews["covered"].astype(float).mean() >= 0.90
    assert df["wrong"].mean() <= 0.05  # null effects claimed, or a claim in the wrong direction
    # same-month categories are not separable from the shared pattern: never estimated, never claimed
    same = df[df["category"] != "reviews"]
    assert same["estimate"].isna().all() and not same["claim"].any()


def test_defaults_find_real_effects(defaults):
    assert defaults["ramp"].query("category == 'reviews'")["claim"].mean() >= 0.8
    assert defaults["step"].query("category == 'reviews'")["claim"].mean() >= 0.5


def test_a_step_model_is_biased_towards_zero_for_a_ramp_and_a_trend_makes_false_findings(alternatives):
    df = alternatives
    step = df[(df["analysis"] == "step") & (df["category"] == "reviews")]
    assert step["estimate"].mean() - sim.truth("ramp") > 0.15  # staggered ramp: TWFE step biased to zero
    assert step["covered"].astype(float).mean() < 0.5
    trend = df[(df["analysis"] == "trend") & (df["category"] == "focus group")]
    assert trend["claim"].mean() > 0.5  # a null same-month category "found" against a straight trend


def _old(time_effects: str, shock: float, reps: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(2024)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            a = fit(sim.simulate(rng, shock=shock), sim.interventions(), time_effects=time_effects)
            for _, r in a.effects[a.effects["category"].isin(sim.TRUE_OR)].iterrows():
                truth = np.log(sim.TRUE_OR[r["category"]])
                rows.append({"category": r["category"], "error": r["estimate"] - truth, "se": r["std_error"],
                             "covered": r["estimate_low"] <= truth <= r["estimate_high"]})
    return pd.DataFrame(rows)


def test_common_trend_is_biased_by_a_shared_shock_calendar_effects_are_not(blas):
    cal, tr = _old("auto", 0.25), _old("trend", 0.25)
    bias = lambda d, c: d.loc[d.category == c, "error"].mean() / d.loc[d.category == c, "se"].mean()  # noqa: E731
    assert bias(tr, "staffing") > 1.0
    assert abs(bias(cal, "staffing")) < 0.3 and cal["covered"].mean() >= 0.9
