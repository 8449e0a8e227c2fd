"""The absorbed-site-effects path of the pooled attribution fit against the reference:
statsmodels' GLM (estimates, model covariance, Pearson scale, residuals, panel HAC), the dense
numerical rank and variance inflation, and a whole :func:`qieval.attribution.fit` on a 40-site panel
with the fast path switched off (the reference path) versus on."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from qieval.attribution import diagnostics, fast_fit, fit, identifiability

G, T = 40, 24


def _panel(seed: int = 1):
    rng = np.random.default_rng(seed)
    site = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    start = rng.integers(6, 18, G)
    cols = {f"site[{s}]": (site == s).astype(float) for s in range(G)}
    cols.update({f"month[{m}]": (t == m).astype(float) for m in range(1, T)})
    cols["step"] = (t >= start[site]).astype(float)
    cols.update({f"ev{h}": (t - start[site] == h).astype(float) for h in range(6)})
    X = pd.DataFrame(cols)
    n = rng.integers(50, 400, len(site)).astype(float)
    eta = -1 + rng.normal(0, 0.3, G)[site] + 0.02 * t + 0.3 * cols["step"]
    return rng, site, X, n, eta


@pytest.mark.parametrize("family", ["binomial", "poisson", "gaussian"])
def test_glm_equals_statsmodels(family):
    rng, site, X, n, eta = _panel()
    if family == "binomial":
        y = rng.binomial(n.astype(int), 1 / (1 + np.exp(-eta))).astype(float)
        ref = sm.GLM(y / n, X, family=sm.families.Binomial(), var_weights=n)
    elif family == "poisson":
        y = rng.poisson(n * np.exp(eta - 1)).astype(float)
        ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(n))
    else:
        y = eta + rng.normal(0, 0.5, len(site))
        ref = sm.GLM(y, X, family=sm.families.Gaussian())
    r = ref.fit(scale="X2")
    f = fast_fit.glm(y, n, X.to_numpy(float), list(X.columns), family)
    assert f is not None and f.converged
    np.testing.assert_allclose(f.params.to_numpy(), r.params.to_numpy(), rtol=1e-6, atol=1e-9)
    se_r, se_f = np.sqrt(np.diag(r.cov_params())), np.sqrt(np.diag(f.cov_params()))
    np.testing.assert_allclose(se_f, se_r, rtol=1e-6)
    np.testing.assert_allclose(f.cov_params().to_numpy(), r.cov_params().to_numpy(), rtol=1e-6, atol=1e-12)
    assert f.scale == pytest.approx(r.scale, rel=1e-9)
    np.testing.assert_allclose(f.mu, np.asarray(r.mu), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f.resid_pearson, np.asarray(r.resid_pearson), rtol=1e-6, atol=1e-9)
    assert f.df_resid == r.df_resid
    # panel HAC (the sensitivity interval), lag 3 within each site
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = ref.fit(cov_type="hac-panel", cov_kwds={"groups": site, "maxlags": 3})
    hf = f.model.fit(cov_type="hac-panel", cov_kwds={"groups": site, "maxlags": 3})
    names = [c for c in X.columns if not c.startswith("site[")]
    np.testing.assert_allclose(hf.cov_params().loc[names, names].to_numpy(),
                               h.cov_params().loc[names, names].to_numpy(), rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(hf.params.to_numpy(), h.params.to_numpy(), rtol=1e-6, atol=1e-9)


def test_rank_and_vif_equal_the_dense_computation():
    _, _, X, _, _ = _panel()
    A = X.to_numpy(float)
    dense_rank = int(np.linalg.matrix_rank(A / np.linalg.norm(A, axis=0), tol=1e-8 * max(A.shape)))
    assert fast_fit.rank(A) == dense_rank == G + (T - 1) + 7
    dependent = np.column_stack([A, A[:, -1] + A[:, -2]])  # a combination of two columns adds no rank
    assert fast_fit.rank(dependent) == dense_rank
    assert identifiability.rank(dependent) == dense_rank  # the package's rank takes the absorbed path
    # variance inflation by hand: centred TSS over the RSS of the dense least squares on all other columns
    for c in ("step", "ev0", "ev5"):
        j = list(X.columns).index(c)
        others = np.delete(A, j, axis=1)
        beta, *_ = np.linalg.lstsq(others, A[:, j], rcond=None)
        want = np.sum((A[:, j] - A[:, j].mean()) ** 2) / np.sum((A[:, j] - others @ beta) ** 2)
        assert fast_fit.vif(A, list(X.columns), [c])[c] == pytest.approx(want, rel=1e-9)
        assert diagnostics.vif(X, [c])[c] == pytest.approx(want, rel=1e-9)
    # no indicator block (e.g. one site): the callers' dense path
    assert fast_fit.rank(A[:, G:]) is None and fast_fit.indicator_block(A[:, :10]) is None


def _programme(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """40 practices × 36 months, two categories with staggered starts (known odds ratios 0.8, 1.0)."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2021-01-01", periods=36, freq="MS")
    rows, cycles = [], []
    for s in range(G):
        sid = f"p{s:02d}"
        starts = {"education": months[rng.integers(6, 20)], "IT": months[rng.integers(8, 26)]}
        cycles += [(sid, d, c) for c, d in starts.items()]
        eta = -1.2 + rng.normal(0, 0.3) - 0.004 * np.arange(36)
        eta = eta + np.log(0.8) * (months >= starts["education"])
        n = rng.integers(80, 300, 36)
        y = rng.binomial(n, 1 / (1 + np.exp(-(eta + rng.normal(0, 0.05, 36)))))
        rows += [(sid, m, int(a), int(b)) for m, a, b in zip(months, y, n)]
    values = pd.DataFrame(rows, columns=["site_id", "period", "numerator", "denominator"])
    return values, pd.DataFrame(cycles, columns=["site_id", "start", "category"])


def test_whole_fit_is_the_same_with_and_without_the_fast_path(monkeypatch):
    values, cycles = _programme()
    fast = fit(values, cycles, family="binomial")
    assert fast.model is not None and isinstance(fast.model, fast_fit.AbsorbedGLM)
    monkeypatch.setattr(fast_fit, "MIN_SITES", 10_000)  # the reference path: statsmodels, dense algebra
    ref = fit(values, cycles, family="binomial")
    assert not isinstance(ref.model, fast_fit.AbsorbedGLM)
    num = ref.effects.select_dtypes("number").columns
    pd.testing.assert_frame_equal(fast.effects[num], ref.effects[num], rtol=1e-6, atol=1e-9)
    assert list(fast.effects["sentence"]) == list(ref.effects["sentence"])
    assert list(fast.effects["separable"]) == list(ref.effects["separable"])
    pd.testing.assert_frame_equal(fast.sensitivity, ref.sensitivity, rtol=1e-6, atol=1e-9)
    pd.testing.assert_frame_equal(fast.diagnostics, ref.diagnostics, rtol=1e-6, atol=1e-9)
    pd.testing.assert_frame_equal(fast.counterfactual, ref.counterfactual, rtol=1e-6, atol=1e-9)
    assert fast.dispersion == pytest.approx(ref.dispersion, rel=1e-9)
    assert fast.warnings == ref.warnings and fast.df_resid == ref.df_resid
