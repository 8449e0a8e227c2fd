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

from qieval.attribution import design, diagnostics, fast_fit, fit, identifiability
from qieval.attribution.inference import cluster_covariance
from qieval.attribution.site_effects import SiteEffects

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


def _split(X: pd.DataFrame) -> tuple[np.ndarray, list[str], tuple[np.ndarray, int]]:
    """The non-site columns of the dense panel design, their names and the absorbed site groups."""
    rest = [c for c in X.columns if not c.startswith("site[")]
    return X[rest].to_numpy(float), rest, (np.repeat(np.arange(G), T), G)


def _reference(family: str, seed: int = 1):
    rng, site, X, n, eta = _panel(seed)
    if family == "binomial":
        y = rng.binomial(n.astype(int), 1 / (1 + np.exp(-eta))).astype(float)
        ref = sm.GLM(y / n, X, family=sm.families.Binomial(), var_weights=n)
    elif family == "poisson":
        y = rng.poisson(n * np.exp(eta - 1)).astype(float)
        ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(n))
    else:
        y = eta + rng.normal(0, 0.5, len(site))
        ref = sm.GLM(y, X, family=sm.families.Gaussian())
    return site, X, n, y, ref


@pytest.mark.parametrize("family", ["binomial", "poisson", "gaussian"])
def test_glm_equals_statsmodels(family):
    site, X, n, y, ref = _reference(family)
    r = ref.fit(scale="X2")
    Z, rest, groups = _split(X)
    sites = [c for c in X.columns if c.startswith("site[")]
    f = fast_fit.glm(y, n, Z, rest, family, groups)
    assert f.converged and not f.separation
    np.testing.assert_allclose(f.params.to_numpy(), r.params[rest].to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(f.site_effects, r.params[sites].to_numpy(), rtol=1e-6, atol=1e-9)
    V = r.cov_params()
    np.testing.assert_allclose(f.cov_params().to_numpy(), V.loc[rest, rest].to_numpy(), rtol=1e-6, atol=1e-12)
    # the site rows of the dense (X'WX)^-1 from the partitioned inverse: diag(1/w_g) + M B M' and -M B
    B, M = f.normalized_cov.to_numpy(), f.site_means
    np.testing.assert_allclose(np.diag(1 / f.site_weight) + M @ B @ M.T,
                               r.normalized_cov_params.loc[sites, sites].to_numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(-M @ B, r.normalized_cov_params.loc[sites, rest].to_numpy(), rtol=1e-6, atol=1e-12)
    assert f.scale == pytest.approx(r.scale, rel=1e-9)
    np.testing.assert_allclose(f.mu, np.asarray(r.mu), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f.resid_pearson, np.asarray(r.resid_pearson), rtol=1e-6, atol=1e-9)
    assert f.df_resid == r.df_resid
    # a fixed scale (overdispersion off): statsmodels' scale=1.0
    f1, r1 = fast_fit.glm(y, n, Z, rest, family, groups, scale=1.0), ref.fit(scale=1.0)
    assert f1.scale == 1.0
    np.testing.assert_allclose(f1.cov_params().to_numpy(), r1.cov_params().loc[rest, rest].to_numpy(),
                               rtol=1e-6, atol=1e-12)
    # panel HAC (the sensitivity interval), lag 3 within each site
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = ref.fit(cov_type="hac-panel", cov_kwds={"groups": site, "maxlags": 3})
    hf = f.model.fit(cov_type="hac-panel", cov_kwds={"groups": site, "maxlags": 3})
    np.testing.assert_allclose(hf.cov_params().to_numpy(), h.cov_params().loc[rest, rest].to_numpy(),
                               rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(hf.params.to_numpy(), h.params[rest].to_numpy(), rtol=1e-6, atol=1e-9)


def test_site_effect_variances_equal_the_dense_quadratic_forms():
    """Row variances and variances of weighted sums of rows (the counterfactual's intervals) from the
    block form, against x' V x with the dense covariance statsmodels gives (model-based), and with
    the dense cluster-robust sandwich (whose site block the absorbed form sets to M C M')."""
    site, X, n, y, ref = _reference("binomial", seed=3)
    r = ref.fit(scale="X2")
    Z, rest, groups = _split(X)
    f = fast_fit.glm(y, n, Z, rest, "binomial", groups)
    A = X.to_numpy(float)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(A), 50, replace=False)
    v = rng.uniform(0, 1, len(rows))
    # quasi-likelihood: D_g = scale / w_g
    V = r.cov_params().to_numpy()
    se = SiteEffects(code=groups[0], effects=f.site_effects, means=f.site_means, variance=f.scale / f.site_weight)
    C = f.cov_params().to_numpy()
    np.testing.assert_allclose(se.row_variance(Z[rows], C, rows), np.einsum("ij,jk,ik->i", A[rows], V, A[rows]),
                               rtol=1e-6)
    a = v @ A[rows]
    assert se.combination_variance(v, v @ Z[rows], C, rows) == pytest.approx(a @ V @ a, rel=1e-6)
    np.testing.assert_allclose(se.linear_predictor(Z, f.params.to_numpy()), A @ r.params.to_numpy(), rtol=1e-8,
                               atol=1e-10)
    # cluster-robust by site: dense sandwich on all columns versus the absorbed one (D = 0)
    resid = y - n * f.mu
    dense = cluster_covariance(r.normalized_cov_params.to_numpy(), A, resid, groups[0])
    small = cluster_covariance(f.normalized_cov.to_numpy(), Z, resid, groups[0], absorbed=G)
    k = [list(X.columns).index(c) for c in rest]
    np.testing.assert_allclose(small, dense[np.ix_(k, k)], rtol=1e-5, atol=1e-12)
    zero = SiteEffects(code=groups[0], effects=f.site_effects, means=f.site_means, variance=np.zeros(G))
    np.testing.assert_allclose(zero.row_variance(Z[rows], small, rows),
                               np.einsum("ij,jk,ik->i", A[rows], dense, A[rows]), rtol=1e-5)
    # panel Newey–West: statsmodels' dense covariance versus D, G and M from the absorbed fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Vh = ref.fit(cov_type="hac-panel", cov_kwds={"groups": site, "maxlags": 3}).cov_params().to_numpy()
    h = f.model.fit(cov_type="hac-panel", cov_kwds={"groups": site, "maxlags": 3})
    D, Gx, M = h.site_covariance
    hac = SiteEffects(code=groups[0], effects=f.site_effects, means=M, variance=D, cross=Gx)
    Ch = h.cov_params().to_numpy()
    np.testing.assert_allclose(hac.row_variance(Z[rows], Ch, rows), np.einsum("ij,jk,ik->i", A[rows], Vh, A[rows]),
                               rtol=1e-6)
    assert hac.combination_variance(v, v @ Z[rows], Ch, rows) == pytest.approx(a @ Vh @ a, rel=1e-6)


def test_rank_and_vif_equal_the_dense_computation():
    _, _, X, _, _ = _panel()
    A = X.to_numpy(float)
    Z, rest, groups = _split(X)
    dense_rank = int(np.linalg.matrix_rank(A / np.linalg.norm(A, axis=0), tol=1e-8 * max(A.shape)))
    assert fast_fit.rank(Z, groups) == dense_rank == G + (T - 1) + 7
    dependent = np.column_stack([Z, Z[:, -1] + Z[:, -2]])  # a combination of two columns adds no rank
    assert fast_fit.rank(dependent, groups) == dense_rank
    assert identifiability.rank(dependent, groups) == dense_rank
    assert identifiability.adds_rank(Z[:, :-1], Z[:, -1:], groups)
    assert not identifiability.adds_rank(Z, Z[:, -1:] + Z[:, -2:-1], groups)
    site_constant = np.repeat(np.arange(G, dtype=float), T)[:, None]  # a column constant within each site
    assert not identifiability.adds_rank(Z, site_constant, groups)
    # variance inflation by hand: centred TSS over the RSS of the dense least squares on all other columns
    for c in ("step", "ev0", "ev5"):
        j = list(X.columns).index(c)
        others = np.delete(A, j, axis=1)
        beta, *_ = np.linalg.lstsq(others, A[:, j], rcond=None)
        want = np.sum((A[:, j] - A[:, j].mean()) ** 2) / np.sum((A[:, j] - others @ beta) ** 2)
        assert fast_fit.vif(Z, rest, [c], groups)[c] == pytest.approx(want, rel=1e-9)
        assert diagnostics.vif(X[rest], [c], groups)[c] == pytest.approx(want, rel=1e-9)
        assert diagnostics.vif(X, [c])[c] == pytest.approx(want, rel=1e-9)  # the dense path


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


@pytest.mark.parametrize("options", [{}, {"family": "poisson", "interval": "model"},
                                     {"overdispersion": False, "impact": "step"},
                                     {"interval": "model+hac", "impact": "ramp"}])
def test_whole_fit_is_the_same_with_and_without_absorbed_site_effects(monkeypatch, options):
    values, cycles = _programme()
    options = {"family": "binomial", **options}
    fast = fit(values, cycles, **options)
    assert isinstance(fast.model, fast_fit.AbsorbedGLM)
    assert not any(c.startswith("site[") for c in fast.model.params.index)  # no site column was built
    monkeypatch.setattr(design, "ABSORB_FROM", 10_000)  # the reference path: site dummies, statsmodels
    ref = fit(values, cycles, **options)
    assert not isinstance(ref.model, fast_fit.AbsorbedGLM)
    assert sum(c.startswith("site[") for c in ref.model.params.index) == G
    num = ref.effects.select_dtypes("number").columns
    pd.testing.assert_frame_equal(fast.effects[num], ref.effects[num], rtol=1e-6, atol=1e-9)
    assert list(fast.effects["sentence"]) == list(ref.effects["sentence"])
    assert list(fast.effects["separable"]) == list(ref.effects["separable"])
    pd.testing.assert_frame_equal(fast.sensitivity, ref.sensitivity, rtol=1e-6, atol=1e-9)
    pd.testing.assert_frame_equal(fast.diagnostics, ref.diagnostics, rtol=1e-6, atol=1e-9)
    pd.testing.assert_frame_equal(fast.counterfactual, ref.counterfactual, rtol=1e-6, atol=1e-9)
    assert fast.dispersion == pytest.approx(ref.dispersion, rel=1e-9)
    assert fast.warnings == ref.warnings and fast.df_resid == ref.df_resid


def test_design_has_no_site_columns_from_30_sites():
    values, cycles = _programme()
    data = values.rename(columns={"numerator": "y", "denominator": "n"})
    data["period"] = pd.to_datetime(data["period"])
    starts = cycles.assign(on_period=pd.to_datetime(cycles["start"]).dt.to_period("M").dt.to_timestamp())
    absorbed = design.build_design(data, starts, harmonics=0, time_effects="calendar", impact="step")
    dense = design.build_design(data, starts, harmonics=0, time_effects="calendar", impact="step", absorb=False)
    assert not any(c.startswith("site[") for c in absorbed.X.columns)
    assert sum(c.startswith("site[") for c in dense.X.columns) == G
    code, g = absorbed.groups
    assert g == G and dense.groups is None
    # each row's code is its site's position among the sorted site ids
    np.testing.assert_array_equal(code, pd.Categorical(data["site_id"]).codes)
    assert list(dense.X.columns[G:]) == list(absorbed.X.columns)


def test_ljung_box_per_site_does_not_depend_on_row_order():
    """Each site's p-value is statsmodels' acorr_ljungbox on that site's residuals in time order,
    whether the rows come grouped by site or interleaved."""
    from statsmodels.stats.diagnostic import acorr_ljungbox

    rng = np.random.default_rng(5)
    sites = np.array(["b", "a", "c"], dtype=object)
    resid = {s: rng.normal(size=24) + 0.5 * np.r_[0, rng.normal(size=23)] for s in sites}
    interleaved_sites = np.tile(sites, 24)
    interleaved = np.array([resid[s][t] for t in range(24) for s in sites])
    table = diagnostics.ljung_box_by_site(interleaved, interleaved_sites)
    assert list(table["site_id"]) == ["b", "a", "c"]  # order of first appearance
    for s, lag, p in table.itertuples(index=False):
        want = acorr_ljungbox(resid[s], lags=[6], return_df=True)["lb_pvalue"].iloc[0]
        assert lag == 6 and p == pytest.approx(want, rel=1e-12)
