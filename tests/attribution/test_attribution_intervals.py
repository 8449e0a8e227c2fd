"""The interval rules checked by hand: the dispersion floor, the cluster-robust sandwich
(against statsmodels), the wider-of rule, the minimum detectable effect and the event-time average."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import attribution_simulate as sim
from attribution_helpers import iv
from qieval.attribution import fit


def _underdispersed_series():
    # a persistent cohort: the count moves far less than binomial sampling would make it
    periods = pd.date_range("2021-01-01", periods=36, freq="MS")
    n = np.full(36, 1000)
    p = 0.2 - 0.03 * (np.arange(36) >= 18)
    y = np.round(n * p + np.random.default_rng(2).normal(0, 2, 36))  # binomial SD would be about 12.6
    return pd.DataFrame({"site_id": "A", "period": periods, "numerator": y, "denominator": n})


def test_a_dispersion_below_one_never_narrows_the_interval():
    mv = _underdispersed_series()
    ivs = iv([("A", "2022-07-01", "x")])
    quasi = fit(mv, ivs, interval="model")
    plain = fit(mv, ivs, interval="model", overdispersion=False)  # dispersion fixed at 1
    assert quasi.dispersion < 0.2
    assert quasi.effects["std_error"].iloc[0] == pytest.approx(plain.effects["std_error"].iloc[0], rel=1e-9)
    assert any("not allowed to narrow" in w for w in quasi.warnings)


@pytest.fixture(scope="module")
def five_sites():
    with sim.single_threaded_blas():
        mv = sim.simulate5(np.random.default_rng(5), "ramp")
        return mv, {k: fit(mv, sim.interventions5(), interval=k) for k in ("model", "cluster", "model+cluster")}


@pytest.mark.filterwarnings("ignore:cov_type not fully supported")
def test_cluster_sandwich_matches_statsmodels(five_sites):
    mv, fits = five_sites
    a = fits["cluster"]
    res = a.model  # the GLM as fitted (var_weights = denominator)
    robust = res.model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(mv["site_id"])[0]})
    month0 = "reviews:month_0"
    row = a.effects.set_index("category").loc[month0]
    assert row["std_error"] == pytest.approx(float(robust.bse[month0]), rel=1e-6)
    q = stats.t.ppf(0.975, 4)  # t on sites - 1 df
    assert row["estimate_high"] == pytest.approx(row["estimate"] + q * row["std_error"], rel=1e-9)


def test_default_is_the_wider_of_quasi_likelihood_and_cluster(five_sites):
    _, fits = five_sites
    se = {k: f.effects.set_index("category")["std_error"] for k, f in fits.items()}
    rows = se["model"].dropna().index
    np.testing.assert_allclose(se["model+cluster"][rows], np.maximum(se["model"][rows], se["cluster"][rows]))
    assert fits["model+cluster"].interval == "wider of quasi-likelihood and cluster-robust by site, t on 4 df"


def test_headline_is_the_site_month_weighted_average_of_the_months_since_the_start(five_sites):
    mv, fits = five_sites
    eff = fits["cluster"].effects
    months = eff[eff["category"].str.startswith("reviews:month_")]
    # site-months observed h months after each site's start, from the simulation's own start months
    counts = {h: sum(1 for s in sim.SITES5 if 0 <= h <= 35 - sim.REVIEW_START[s]) for h in range(36)}
    w = np.array([counts[int(h)] for h in months["horizon"]], float)
    head = eff.set_index("category").loc["reviews"]
    assert head["estimate"] == pytest.approx(float(w @ months["estimate"].to_numpy() / w.sum()), rel=1e-9)
    assert list(months["n_sites"])[:3] == [5.0, 5.0, 5.0]


def test_minimum_detectable_effect_when_nothing_is_found():
    with sim.single_threaded_blas():
        a = fit(sim.simulate5(np.random.default_rng(8), "null"), sim.interventions5())
    row = a.effects.set_index("category").loc["reviews"]
    q = stats.t.ppf(0.975, 4) + stats.norm.ppf(0.8)
    assert row["mde"] == pytest.approx(q * row["std_error"], rel=1e-9)
    assert row["mde_ratio"] == pytest.approx(np.exp(row["mde"]))
    if row["ratio_low"] <= 1 <= row["ratio_high"]:
        assert "compatible with no change and with changes from odds ratio" in row["sentence"]
        assert f"{np.exp(row['mde']):.2f}" in row["sentence"] and "80% power" in row["sentence"]
        assert "associated with" not in row["sentence"]
