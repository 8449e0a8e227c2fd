"""Reproduce the Bernal, Cummins & Gasparrini (2017) ITS tutorial analysis of the Sicily smoking ban.

Data: tests/data/reference/sicily.csv (the tutorial's data set, also sicily.csv in
github.com/gasparrini/2017_lopezbernal_IJE_codedata). Model specifications: that repository's Rcode.R
(read at commit 35a91d30f388f8b4aaf3cf04866b71dc1936bf10):

    model1 <- glm(aces ~ offset(log(stdpop)) + smokban + time, family=poisson, data)
    model2 <- glm(aces ~ offset(log(stdpop)) + smokban + time, family=quasipoisson, data)
    model3 <- glm(aces ~ offset(log(stdpop)) + smokban + time + harmonic(month,2,12),
                  family=quasipoisson, data)
    model4 <- glm(aces ~ offset(log(stdpop)) + smokban + time + I(time-36):smokban +
                  harmonic(month,2,12), family=quasipoisson, data)

``test_fit_is_the_tutorial_model`` checks that ``fit`` (dates in, ban starting 2005-01) gives the same
model as these formulas applied to the file's own ``time``/``smokban`` columns, computed independently
here with a plain Newton–Raphson (IRLS) Poisson fit written in numpy, with the quasi-Poisson dispersion
as Pearson X²/df by hand. (The rate ratios printed in the paper could not be retrieved here; the
reproduction is of the published model specification, computed independently of statsmodels.)
"""

import numpy as np
import pandas as pd
import pytest
from qitest_support import REFERENCE_DATA, require
from scipy import stats

from qieval.attribution import fit

SICILY = REFERENCE_DATA / "sicily.csv"


@pytest.fixture(scope="module")
def sicily():
    require(SICILY.exists(), f"reference data {SICILY} not available")
    d = pd.read_csv(SICILY)
    mv = pd.DataFrame({"site_id": "Sicily", "period": pd.to_datetime(dict(year=d.year, month=d.month, day=1)),
                       "numerator": d.aces, "denominator": d.stdpop})
    ban = pd.DataFrame({"site_id": ["ALL"], "start": [pd.Timestamp("2005-01-01")], "category": ["smoking ban"]})
    return d, mv, ban


def _direct(d, harmonics=0, slope=False, quasi=True):
    X = pd.DataFrame({"const": 1.0, "smokban": d.smokban.astype(float), "time": d.time.astype(float)})
    if slope:
        X["slope"] = (d.time - 36) * d.smokban
    for j in range(1, harmonics + 1):  # tsModel::harmonic(month, k, 12) spans the same space
        X[f"s{j}"] = np.sin(2 * np.pi * j * d.month / 12)
        X[f"c{j}"] = np.cos(2 * np.pi * j * d.month / 12)
    params, bse, mu = _irls_poisson(X.to_numpy(), d.aces.to_numpy(float), np.log(d.stdpop.to_numpy(float)))
    df_resid = len(d) - X.shape[1]
    phi = np.sum((d.aces - mu) ** 2 / mu) / df_resid if quasi else 1.0
    return (pd.Series(params, X.columns), pd.Series(bse, X.columns) * np.sqrt(phi), phi, df_resid)


def _irls_poisson(X, y, offset, iters=50):
    """Poisson log-link GLM by Newton-Raphson: β ← β + (XᵀWX)⁻¹Xᵀ(y − μ), W = diag(μ)."""
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(y.sum() / np.exp(offset).sum())
    for _ in range(iters):
        mu = np.exp(X @ beta + offset)
        info = X.T @ (X * mu[:, None])
        step = np.linalg.solve(info, X.T @ (y - mu))
        beta += step
        if np.max(np.abs(step)) < 1e-13:
            break
    mu = np.exp(X @ beta + offset)
    cov = np.linalg.inv(X.T @ (X * mu[:, None]))
    return beta, np.sqrt(np.diag(cov)), mu


@pytest.mark.parametrize("harmonics,quasi", [(0, False), (0, True), (2, True)], ids=["model1", "model2", "model3"])
def test_fit_is_the_tutorial_model(sicily, harmonics, quasi):
    d, mv, ban = sicily
    a = fit(mv, ban, family="poisson", harmonics=harmonics, overdispersion=quasi, ci_distribution="t")
    b, se, phi, df = _direct(d, harmonics, quasi=quasi)
    row = a.effects.iloc[0]
    assert row["estimate"] == pytest.approx(b["smokban"], rel=1e-8)
    assert row["std_error"] == pytest.approx(se["smokban"], rel=1e-6)
    assert a.dispersion == pytest.approx(phi, rel=1e-8)
    assert a.df_resid == df
    q = stats.t.ppf(0.975, df) if quasi else stats.norm.ppf(0.975)
    assert row["ratio_low"] == pytest.approx(np.exp(b["smokban"] - q * se["smokban"]), rel=1e-6)
    # the trend coefficient is the same too (time = months since 2002-01 + 1, as in the file)
    assert a.model.params["time"] == pytest.approx(b["time"], rel=1e-7)


def test_the_tutorial_call_gives_the_tutorial_interval(sicily):
    """The contract: this exact call is the tutorial's step model with its quasi-Poisson interval,
    printed with normal quantiles as the tutorial's R code (Epi::ci.exp) does: RR 0.8851, 0.8394-0.9332."""
    d, mv, ban = sicily
    a = fit(mv, ban, family="poisson", harmonics=2, slope_change=False)
    row = a.effects.set_index("category").loc["smoking ban"]
    assert (round(row["ratio"], 4), round(row["ratio_low"], 4), round(row["ratio_high"], 4)) == (0.8851, 0.8394, 0.9332)
    b, se, phi, _ = _direct(d, 2)
    assert row["estimate_low"] == pytest.approx(b["smokban"] - stats.norm.ppf(0.975) * se["smokban"], rel=1e-6)
    assert a.dispersion == pytest.approx(phi, rel=1e-8) and phi > 1  # the floor at 1 changes nothing here
    assert len(a.effects) == 1 and row["method"].startswith("interrupted time series at one site")


def test_normal_intervals_option(sicily):
    d, mv, ban = sicily
    b, se, _, _ = _direct(d, 2)
    row = fit(mv, ban, family="poisson", harmonics=2, ci_distribution="normal").effects.iloc[0]
    assert row["ratio_high"] == pytest.approx(np.exp(b["smokban"] + stats.norm.ppf(0.975) * se["smokban"]), rel=1e-6)


def test_fit_slope_change_is_tutorial_model4(sicily):
    d, mv, ban = sicily
    a = fit(mv, ban, family="poisson", harmonics=2, slope_change=True)
    b, se, _, _ = _direct(d, 2, slope=True)
    eff = a.effects.set_index("category")
    assert eff.loc["smoking ban:slope", "estimate"] == pytest.approx(b["slope"], rel=1e-7)
    assert eff.loc["smoking ban:slope", "std_error"] == pytest.approx(se["slope"], rel=1e-6)
    # model4's slope term is 1 in the first ban month, ours is 0, so our level = theirs + one month of slope
    assert eff.loc["smoking ban:level", "estimate"] == pytest.approx(b["smokban"] + b["slope"], rel=1e-7)
    # the bare category is the average over the ban months (months since the start 0..n-1)
    months_after = int(d.smokban.sum())
    avg = b["smokban"] + b["slope"] + b["slope"] * (months_after - 1) / 2
    assert eff.loc["smoking ban", "estimate"] == pytest.approx(avg, rel=1e-7)
