"""Numbers checked against independent calculations: dispersion, standard errors, abs_change, slopes."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from qieval.attribution import fit
from attribution_helpers import iv, series


@pytest.fixture(scope="module")
def binomial_fit():
    rng = np.random.default_rng(5)
    periods = pd.date_range("2021-01-01", periods=36, freq="MS")
    n = rng.integers(150, 250, 36)
    eta = -0.8 - 0.01 * np.arange(36) - 0.3 * (np.arange(36) >= 18) + rng.normal(0, 0.15, 36)  # overdispersed
    y = rng.binomial(n, expit(eta))
    mv = pd.DataFrame({"site_id": "A", "period": periods, "numerator": y, "denominator": n})
    return mv, fit(mv, iv([("A", "2022-07-01", "bundle")]))


def test_dispersion_equals_pearson_chi2_over_df_by_hand(binomial_fit):
    mv, a = binomial_fit
    # independent calculation: design by hand, probabilities from the fitted coefficients
    t = np.arange(36) + 1.0
    X = np.column_stack([np.ones(36), t, (np.arange(36) >= 18).astype(float)])
    b = a.model.params.to_numpy()
    p = expit(X @ b)
    y, n = mv["numerator"].to_numpy(float), mv["denominator"].to_numpy(float)
    x2 = np.sum((y - n * p) ** 2 / (n * p * (1 - p)))
    assert a.df_resid == 33
    assert a.dispersion == pytest.approx(x2 / 33, rel=1e-10)
    assert a.model.scale == pytest.approx(x2 / 33, rel=1e-8)  # statsmodels' X2 scale with var_weights agrees
    assert a.dispersion > 1.5  # the simulated extra-binomial noise is detected
    # quasi-binomial SE = sqrt(phi * diag((X' W X)^-1)), W = n p (1 - p)
    cov = np.linalg.inv(X.T @ (X * (n * p * (1 - p))[:, None])) * a.dispersion
    eff = a.effects.iloc[0]
    assert eff["std_error"] == pytest.approx(np.sqrt(cov[2, 2]), rel=1e-6)
    # and the score equations hold: X'(y - n p) = 0 (the MLE of the binomial with var_weights = n)
    np.testing.assert_allclose(X.T @ (y - n * p), 0, atol=1e-6)


def test_abs_change_by_hand_binomial(binomial_fit):
    mv, a = binomial_fit
    b0, bt, bs = a.model.params.to_numpy()
    t_end = 36.0
    p1, p0 = expit(b0 + bt * t_end + bs), expit(b0 + bt * t_end)
    eff = a.effects.iloc[0]
    assert eff["abs_change"] == pytest.approx(100 * (p1 - p0), rel=1e-9)
    assert eff["abs_low"] < eff["abs_change"] < eff["abs_high"]
    assert eff["ratio"] == pytest.approx(np.exp(bs))
    assert a.counterfactual["counterfactual"].iloc[-1] == pytest.approx(p0)
    assert a.counterfactual["fitted"].iloc[-1] == pytest.approx(p1)


def _exact_gaussian(slope=False):
    # value = 10 + 0.5 t + 3 step (+ 0.2 * months since the step), no noise except a tiny wiggle
    periods = pd.date_range("2022-01-01", periods=24, freq="MS")
    t = np.arange(24) + 1.0
    step = (np.arange(24) >= 12).astype(float)
    since = np.where(step > 0, np.arange(24) - 12, 0)
    value = 10 + 0.5 * t + 3 * step + (0.2 * since if slope else 0) + 1e-6 * np.cos(np.arange(24) * 2.1)
    mv = pd.DataFrame({"site_id": "ward", "period": periods, "value": value})
    return mv, iv([("ward", "2023-01-15", "rota")])


def test_abs_change_tiny_gaussian_case_by_hand():
    mv, ivs = _exact_gaussian()
    a = fit(mv, ivs, family="gaussian")
    eff = a.effects.iloc[0]
    # by hand: the step adds 3 units from 2023-01 on; at the end the difference is 3
    assert eff["estimate"] == pytest.approx(3, abs=1e-4)
    assert eff["abs_change"] == pytest.approx(3, abs=1e-4)
    assert np.isnan(eff["ratio"])


def test_slope_change_rows():
    mv, ivs = _exact_gaussian(slope=True)
    a = fit(mv, ivs, family="gaussian", slope_change=True)
    # the bare category is the headline (average over the months after the start), then
    # the level and slope rows
    assert list(a.effects["category"]) == ["rota", "rota:level", "rota:slope"]
    head, lvl, slp = a.effects.iloc[0], a.effects.iloc[1], a.effects.iloc[2]
    assert lvl["estimate"] == pytest.approx(3, abs=1e-4)
    assert slp["estimate"] == pytest.approx(0.2, abs=1e-5)
    # by hand: 12 months after the start (0..11 months since it): average 3 + 0.2 * 5.5 = 4.1
    assert head["estimate"] == pytest.approx(4.1, abs=1e-4)
    # by hand: last month is 11 months after the on month -> 3 + 0.2 * 11 = 5.2
    assert head["abs_change"] == pytest.approx(5.2, abs=1e-4)
    assert np.isnan(slp["abs_change"])


def test_slope_change_ratio_is_per_month_binomial(binomial_fit):
    mv, _ = binomial_fit
    a = fit(mv, iv([("A", "2022-07-01", "bundle")]), slope_change=True)
    slp = a.effects.set_index("category").loc["bundle:slope"]
    assert slp["ratio"] == pytest.approx(np.exp(slp["estimate"]))
    assert slp["ratio_low"] == pytest.approx(np.exp(slp["estimate_low"]))
    # Holm runs over the headline rows (one per category); level and slope rows are detail
    eff = a.effects.set_index("category")
    assert eff.loc["bundle", "p_adjusted"] == pytest.approx(eff.loc["bundle", "p_value"])
    assert eff.loc[["bundle:level", "bundle:slope"], "p_adjusted"].isna().all()


def test_holm_over_headline_rows():
    mv = series(["A"], months=36, effects={"A": [(10, -0.5), (20, 0.2)]})
    a = fit(mv, iv([("A", "2022-11-01", "x"), ("A", "2023-09-01", "y")]))
    p = a.effects["p_value"].to_numpy()
    lo, hi = np.sort(p)
    expect = {lo: min(1, 2 * lo), hi: min(1, max(2 * lo, hi))}
    np.testing.assert_allclose(a.effects["p_adjusted"], [expect[x] for x in p])


def test_mid_month_start_switches_on_in_that_month():
    # documented rule: a start on the 20th counts from the month containing it
    mv = series(["A"], months=24, effects={"A": [(12, -0.6)]})
    a20 = fit(mv, iv([("A", "2023-01-20", "x")]))
    a01 = fit(mv, iv([("A", "2023-01-01", "x")]))
    a_next = fit(mv, iv([("A", "2023-02-01", "x")]))
    assert a20.effects["estimate"].iloc[0] == pytest.approx(a01.effects["estimate"].iloc[0])
    assert a20.effects["estimate"].iloc[0] != pytest.approx(a_next.effects["estimate"].iloc[0])
    d = a20.diagnostics.set_index(["check", "category"])["value"]
    assert d[("points_before", "x")] == 12 and d[("points_after", "x")] == 12


def test_harmonics_add_sin_cos_pairs(binomial_fit):
    mv, _ = binomial_fit
    a = fit(mv, iv([("A", "2022-07-01", "bundle")]), harmonics=2)
    assert [c for c in a.model.params.index if c[:3] in ("sin", "cos")] == ["sin1", "cos1", "sin2", "cos2"]
    assert a.df_resid == 36 - 7
