"""Attribution fits that scale with the number of sites: site fixed effects absorbed, not dummied.

A pooled design has one indicator column per site (hundreds to thousands) beside a few dozen
calendar and intervention columns. Dense linear algebra on it costs N × P² (rows × columns²):
cubic in the number of sites. Every quantity the fit needs is exact without those columns
(Frisch–Waugh–Lovell): the site indicators are disjoint, so regressing on them is taking (weighted)
means within each site, and

* the numerical rank of ``[D Z]`` is ``#D + rank(Z - site means of Z)``;
* a variance inflation factor's residual sum of squares is that of the within-site deviations;
* each IRLS step of a GLM with canonical link is a weighted least-squares fit whose ``Z``
  coefficients come from the within-site deviations (weights ``W``) and whose site effects are the
  weighted site means of the remaining working response; the inverse of ``X'WX`` follows from the
  partitioned inverse with ``(D'WD)^-1`` diagonal.

:func:`glm` mirrors statsmodels' ``GLM.fit()`` (IRLS, same start, same deviance convergence rule,
covariance from the last weighted least-squares step, Pearson χ²/df scale), so its estimates and
standard errors equal statsmodels' to rounding (``tests/attribution/test_fast_fit.py``); statsmodels
stays the path for small designs (fewer than :data:`MIN_SITES` site columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

#: Site-indicator columns from which the absorbed path is used (below it statsmodels / dense
#: linear algebra is fast and stays the reference).
MIN_SITES = 30
MAXITER = 100
ATOL = 1e-8  # statsmodels GLM.fit's default tol on the change in deviance


# ---- indicator blocks ---------------------------------------------------------------------------------------

def indicator_block(A: np.ndarray, min_columns: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The leading columns of ``A`` that are disjoint 0/1 indicators (the site fixed effects come
    first in every design of :mod:`qieval.attribution.design`), when they cover every row: (their
    positions, each row's position among them). None when there are fewer than ``min_columns``
    (default :data:`MIN_SITES`) or they leave a row uncovered; the callers then use the dense path."""
    n, p = A.shape
    min_columns = MIN_SITES if min_columns is None else min_columns
    if p < min_columns or n == 0:
        return None
    code = np.full(n, -1, dtype=np.int64)
    k = 0
    for j in range(p):
        col = A[:, j]
        on = col == 1
        if not on.any() or not np.all(on | (col == 0)) or (code[on] >= 0).any():
            break
        code[on] = k
        k += 1
    if k < min_columns or (code < 0).any():
        return None
    return np.arange(k), code


def _group_means(B: np.ndarray, code: np.ndarray, g: int, w: np.ndarray | None = None) -> np.ndarray:
    """(Weighted) mean of each column of ``B`` within each group: shape (g, columns)."""
    w = np.ones(len(code)) if w is None else w
    S = sparse.csr_matrix((w, (code, np.arange(len(code)))), shape=(g, len(code)))
    sums = np.asarray(S @ B)
    tot = np.bincount(code, weights=w, minlength=g)
    return sums / tot[:, None]


def within(B: np.ndarray, code: np.ndarray, g: int, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``B`` minus its (weighted) group means, and the means."""
    means = _group_means(B, code, g, w)
    return B - means[code], means


def rank(A: np.ndarray, tol_scale: float = 1e-8) -> int | None:
    """Numerical rank of ``A`` with columns scaled to unit length (as
    :func:`qieval.attribution.identifiability.rank`), absorbing an indicator block; None when ``A``
    has none (the caller then uses the dense rank)."""
    block = indicator_block(A)
    if block is None:
        return None
    cols, code = block
    rest = np.delete(A, cols, axis=1)
    if rest.shape[1] == 0:
        return len(cols)
    norms = np.linalg.norm(rest, axis=0)
    norms[norms == 0] = 1.0
    rt, _ = within(rest / norms, code, len(cols))
    # singular values from the eigenvalues of rt'rt (one BLAS product of a tall matrix, then a small
    # symmetric eigenproblem): their rounding error, about eps * s_max^2 with unit columns, is far
    # below tol^2 (tol = 1e-8 * rows), so the count is the SVD's
    tol = tol_scale * max(A.shape)
    ev = np.linalg.eigvalsh(rt.T @ rt)
    return len(cols) + int(np.count_nonzero(ev > tol * tol))


def vif(A: np.ndarray, names: list[str], columns: list[str]) -> dict[str, float] | None:
    """:func:`qieval.attribution.diagnostics.vif` with an indicator block absorbed (None without one):
    ``TSS_centred(x_j) / RSS(x_j on the other columns)``, the RSS from the within-site deviations."""
    block = indicator_block(A)
    if block is None:
        return None
    cols, code = block
    absorbed = set(cols.tolist())
    keep = [i for i in range(A.shape[1]) if i not in absorbed]
    at = {names[i]: k for k, i in enumerate(keep)}
    if any(c not in at for c in columns):
        return None
    rt, _ = within(A[:, keep], code, len(cols))
    out = {}
    for c in columns:
        j = at[c]
        x, others = rt[:, j], np.delete(rt, j, axis=1)
        beta, *_ = np.linalg.lstsq(others, x, rcond=None)
        rss = float(np.sum((x - others @ beta) ** 2))
        raw = A[:, keep[j]]
        tss = float(np.sum((raw - raw.mean()) ** 2))
        out[c] = float("inf") if rss <= 1e-12 * max(tss, 1e-300) else tss / rss
    return out


# ---- GLM by IRLS with absorbed site effects ----------------------------------------------------------------

def _family(family: str):
    """(start mu, link, inverse link, IRLS weight w(mu) per unit weight, d eta / d mu, unit deviance)."""
    if family == "binomial":
        return (lambda y: (y + 0.5) / 2, lambda m: np.log(m / (1 - m)), lambda e: 1 / (1 + np.exp(-e)),
                lambda m: m * (1 - m), lambda m: 1 / (m * (1 - m)),
                lambda y, m: 2 * (np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / m), 0)
                                  + np.where(y < 1, (1 - y) * np.log(np.where(y < 1, 1 - y, 1) / (1 - m)), 0)))
    if family == "poisson":
        return (lambda y: (y + y.mean()) / 2, np.log, np.exp, lambda m: m, lambda m: 1 / m,
                lambda y, m: 2 * (np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / m), 0) - (y - m)))
    return (lambda y: (y + y.mean()) / 2, lambda m: m, lambda e: e, lambda m: np.ones_like(m),
            lambda m: np.ones_like(m), lambda y, m: (y - m) ** 2)


@dataclass
class AbsorbedGLM:
    """What :mod:`qieval.attribution.model` reads from a statsmodels GLM result, from :func:`glm`."""

    params: pd.Series
    normalized_cov: pd.DataFrame
    scale: float
    mu: np.ndarray
    resid_pearson: np.ndarray
    df_resid: float
    iterations: int
    converged: bool
    model: "AbsorbedModel" = field(repr=False, default=None)

    @property
    def fittedvalues(self) -> np.ndarray:
        return self.mu

    def cov_params(self) -> pd.DataFrame:
        return self.normalized_cov * self.scale


@dataclass
class AbsorbedModel:
    """Stands in for the statsmodels GLM in the sensitivity analyses: ``fit(cov_type="hac-panel",
    cov_kwds={"groups", "maxlags"})`` gives the panel Newey–West covariance of the non-site
    coefficients (Bartlett weights, lags within each group, correction nobs / (nobs - k)), as
    statsmodels computes it for a GLM."""

    y: np.ndarray  # the endog statsmodels sees (proportion for binomial)
    w_prior: np.ndarray  # var_weights (n for binomial, 1 otherwise)
    offset: np.ndarray
    A: np.ndarray
    names: list[str]
    family: str
    block: tuple[np.ndarray, np.ndarray]
    df_resid: float = 0.0

    def fit(self, cov_type: str = "nonrobust", cov_kwds: dict | None = None, **_) -> AbsorbedGLM:
        res = _irls(self)
        if cov_type == "nonrobust":
            return res
        if cov_type != "hac-panel":
            raise ValueError(f"absorbed GLM: cov_type {cov_type!r} is not implemented")
        kw = cov_kwds or {}
        cov = _hac_panel(self, res, np.asarray(kw["groups"]), int(kw["maxlags"]))
        return AbsorbedGLM(res.params, cov, 1.0, res.mu, res.resid_pearson, res.df_resid, res.iterations,
                           res.converged, self)


def glm(y: np.ndarray, n: np.ndarray, A: np.ndarray, names: list[str], family: str) -> AbsorbedGLM | None:
    """Fit as :func:`qieval.attribution.model._glm` + ``fit(scale="X2")``; None when ``A`` has no
    indicator block to absorb (use statsmodels)."""
    block = indicator_block(A)
    if block is None:
        return None
    y = np.asarray(y, float)
    n = np.asarray(n, float)
    if family == "binomial":
        endog, w_prior, offset = y / n, n, np.zeros(len(y))
    elif family == "poisson":
        endog, w_prior, offset = y, np.ones(len(y)), np.log(n)
    else:
        endog, w_prior, offset = y, np.ones(len(y)), np.zeros(len(y))
    model = AbsorbedModel(endog, w_prior, offset, A, list(names), family, block,
                          df_resid=float(len(y) - A.shape[1]))
    res = _irls(model)
    return res if res.converged else None


def _wls(model: AbsorbedModel, z: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of ``z`` on ``[D Z]``: (Z coefficients, site effects, B = (Z~'WZ~)^-1,
    site weighted means of Z)."""
    cols, code = model.block
    g = len(cols)
    Z = np.delete(model.A, cols, axis=1)
    Zt, Zbar = within(Z, code, g, W)
    zt, zbar = within(z[:, None], code, g, W)
    ZtW = Zt * W[:, None]
    B = np.linalg.pinv(ZtW.T @ Zt)
    beta = B @ (ZtW.T @ zt[:, 0])
    alpha = zbar[:, 0] - Zbar @ beta
    return beta, alpha, B, Zbar


def _full(model: AbsorbedModel, beta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    cols, _ = model.block
    out = np.empty(model.A.shape[1])
    rest = np.setdiff1d(np.arange(model.A.shape[1]), cols)
    out[cols], out[rest] = alpha, beta
    return out


def _full_cov(model: AbsorbedModel, B: np.ndarray, Zbar: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(X'WX)^-1 from the partitioned inverse: [[diag(1/w_g) + M B M', -M B], [-B M', B]], M = Zbar."""
    cols, code = model.block
    g = len(cols)
    wg = np.bincount(code, weights=W, minlength=g)
    MB = Zbar @ B
    p = model.A.shape[1]
    rest = np.setdiff1d(np.arange(p), cols)
    V = np.empty((p, p))
    V[np.ix_(cols, cols)] = np.diag(1 / wg) + MB @ Zbar.T
    V[np.ix_(cols, rest)] = -MB
    V[np.ix_(rest, cols)] = -MB.T
    V[np.ix_(rest, rest)] = B
    return V


def _irls(model: AbsorbedModel) -> AbsorbedGLM:
    """statsmodels' ``GLM._fit_irls`` on the absorbed design (see the module docstring)."""
    start, link, inverse, var_w, deriv, unit_dev = _family(model.family)
    y, wp, off = model.y, model.w_prior, model.offset
    mu = start(y)
    eta = link(mu)
    dev = float(np.sum(wp * unit_dev(y, mu)))
    history = [np.inf, dev]
    converged, it = False, 0
    beta = alpha = B = Zbar = W = None
    for it in range(1, MAXITER + 1):
        W = wp * var_w(mu)
        z = eta + deriv(mu) * (y - mu) - off
        beta, alpha, B, Zbar = _wls(model, z, W)
        eta = model.A @ _full(model, beta, alpha) + off
        mu = inverse(eta)
        history.append(float(np.sum(wp * unit_dev(y, mu))))
        if np.allclose(mu - y, 0):
            break
        if abs(history[-2] - history[-1]) <= ATOL:
            converged = True
            break
    params = pd.Series(_full(model, beta, alpha), index=model.names)
    V = pd.DataFrame(_full_cov(model, B, Zbar, W), index=model.names, columns=model.names)
    var = var_w(mu) if model.family != "gaussian" else np.ones_like(mu)
    pearson = (y - mu) * np.sqrt(wp) / np.sqrt(var)
    scale = float(np.sum(pearson ** 2) / model.df_resid)
    return AbsorbedGLM(params, V, scale, mu, pearson, model.df_resid, it, converged, model)


def _hac_panel(model: AbsorbedModel, res: AbsorbedGLM, groups: np.ndarray, maxlags: int) -> pd.DataFrame:
    """Panel HAC covariance of the non-site coefficients (statsmodels' ``cov_nw_panel`` for a GLM,
    scores and Hessian at the estimate); site rows and columns are left out."""
    cols, code = model.block
    g = len(cols)
    rest = np.setdiff1d(np.arange(model.A.shape[1]), cols)
    mu = res.mu
    _, _, _, var_w, _, _ = _family(model.family)
    W = model.w_prior * var_w(mu)
    Z = model.A[:, rest]
    Zt, _ = within(Z, code, g, W)
    B = np.linalg.inv((Zt * W[:, None]).T @ Zt)
    u = (model.y - mu) * model.w_prior  # canonical link: score factor per row
    xu = Zt * u[:, None]
    weights = 1 - np.arange(maxlags + 1) / (maxlags + 1.0)  # Bartlett
    S = weights[0] * xu.T @ xu
    starts = np.r_[0, np.flatnonzero(groups[:-1] != groups[1:]) + 1]
    ends = np.r_[starts[1:], len(groups)]
    for lag in range(1, maxlags + 1):
        ok = np.concatenate([np.arange(a + lag, b) for a, b in zip(starts, ends) if b - a > lag] or [np.zeros(0, int)])
        s = xu[ok].T @ xu[ok - lag]
        S += weights[lag] * (s + s.T)
    nobs, k = model.A.shape
    cov = B @ S @ B * (nobs / float(nobs - k))
    names = [model.names[i] for i in rest]
    return pd.DataFrame(cov, index=names, columns=names)
