"""Attribution fits that scale with the number of sites: site fixed effects absorbed, never dummied.

A pooled design has a fixed effect per site (hundreds to thousands) beside a few dozen calendar and
intervention columns ``Z``. As indicator columns they would cost memory rows × sites (2 GiB at 1,000
practices, tens of GiB for England's 6,500) and dense linear algebra rows × columns²: cubic in the
number of sites. With many sites :func:`qieval.attribution.design.build_design` therefore leaves
them out of the matrix and records each row's site (``groups``: codes and count), and every quantity
the fit needs is computed exactly without them (Frisch–Waugh–Lovell: the site indicators ``D`` are
disjoint, so regressing on them is taking (weighted) means within each site):

* the numerical rank of ``[D Z]`` is ``#sites + rank(Z - site means of Z)``;
* a variance inflation factor's residual sum of squares is that of the within-site deviations;
* each IRLS step of a GLM with canonical link is a weighted least-squares fit whose ``Z``
  coefficients come from the within-site deviations (weights ``W``) and whose site effects are the
  weighted site means of the remaining working response; the inverse of ``X'WX`` follows from the
  partitioned inverse ``[[diag(1/w_g) + M B M', -M B], [-B M', B]]`` with ``B = (Z~'WZ~)^-1`` and
  ``M`` the weighted site means of ``Z`` (:class:`qieval.attribution.site_effects.SiteEffects`
  keeps ``w_g`` and ``M`` so the counterfactual needs no site column either).

:func:`glm` mirrors statsmodels' ``GLM.fit()`` (IRLS, same start, same deviance convergence rule,
covariance from the last weighted least-squares step, Pearson χ²/df scale, the same perfect-
separation stop), so its estimates and standard errors equal statsmodels' on the dense design to
rounding (``tests/attribution/test_fast_fit.py``); statsmodels stays the path for designs with fewer
than :data:`qieval.attribution.design.ABSORB_FROM` sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

MAXITER = 100
ATOL = 1e-8  # statsmodels GLM.fit's default tol on the change in deviance

#: Each row's site position and the number of sites: the absorbed site effects of a design.
Groups = tuple[np.ndarray, int]


def _group_sums(B: np.ndarray, code: np.ndarray, g: int, w: np.ndarray | None = None) -> np.ndarray:
    """(Weighted) sum of each column of ``B`` within each group: shape (g, columns)."""
    w = np.ones(len(code)) if w is None else w
    S = sparse.csr_matrix((w, (code, np.arange(len(code)))), shape=(g, len(code)))
    return np.asarray(S @ B)


def _group_means(B: np.ndarray, code: np.ndarray, g: int, w: np.ndarray | None = None) -> np.ndarray:
    """(Weighted) mean of each column of ``B`` within each group: shape (g, columns)."""
    tot = np.bincount(code, weights=np.ones(len(code)) if w is None else w, minlength=g)
    return _group_sums(B, code, g, w) / tot[:, None]


def within(B: np.ndarray, code: np.ndarray, g: int, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``B`` minus its (weighted) group means, and the means."""
    means = _group_means(B, code, g, w)
    return B - means[code], means


def rank(Z: np.ndarray, groups: Groups, tol_scale: float = 1e-8) -> int:
    """Numerical rank of ``[D Z]`` (``D`` the site indicators of ``groups``) with columns scaled to
    unit length, as :func:`qieval.attribution.identifiability.rank` computes it on the dense matrix."""
    code, g = groups
    if Z.shape[1] == 0:
        return g
    norms = np.linalg.norm(Z, axis=0)
    norms[norms == 0] = 1.0
    rt, _ = within(Z / norms, code, g)
    # singular values from the eigenvalues of rt'rt (one BLAS product of a tall matrix, then a small
    # symmetric eigenproblem): their rounding error, about eps * s_max^2 with unit columns, is far
    # below tol^2 (tol = 1e-8 * rows), so the count is the SVD's
    tol = tol_scale * max(Z.shape[0], g + Z.shape[1])
    ev = np.linalg.eigvalsh(rt.T @ rt)
    return g + int(np.count_nonzero(ev > tol * tol))


def vif(Z: np.ndarray, names: list[str], columns: list[str], groups: Groups) -> dict[str, float]:
    """:func:`qieval.attribution.diagnostics.vif` of ``[D Z]`` with the site indicators absorbed:
    ``TSS_centred(x_j) / RSS(x_j on the other columns)``, the RSS from the within-site deviations."""
    code, g = groups
    at = {n: i for i, n in enumerate(names)}
    rt, _ = within(Z, code, g)
    out = {}
    for c in columns:
        j = at[c]
        x, others = rt[:, j], np.delete(rt, j, axis=1)
        beta, *_ = np.linalg.lstsq(others, x, rcond=None)
        rss = float(np.sum((x - others @ beta) ** 2))
        raw = Z[:, j]
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
    """What :mod:`qieval.attribution.model` reads from a statsmodels GLM result, from :func:`glm`.

    ``params`` and ``normalized_cov`` cover the columns of ``Z`` only; the site effects are in
    ``site_effects`` with ``site_weight`` (the IRLS weight summed over each site, ``w_g``) and
    ``site_means`` (``M``, the weighted site means of ``Z``), from which the site rows of the dense
    ``(X'WX)^-1`` follow (see the module docstring)."""

    params: pd.Series
    normalized_cov: pd.DataFrame
    scale: float
    mu: np.ndarray
    resid_pearson: np.ndarray
    df_resid: float
    iterations: int
    converged: bool
    site_effects: np.ndarray = field(repr=False, default=None)
    site_weight: np.ndarray = field(repr=False, default=None)
    site_means: np.ndarray = field(repr=False, default=None)
    separation: bool = False  # the fit reproduces the data (statsmodels' perfect-separation warning)
    model: "AbsorbedModel" = field(repr=False, default=None)
    #: panel HAC only: the site effects' part of the dense covariance, (D, G, M) in
    #: :class:`qieval.attribution.site_effects.SiteEffects`' terms (own variance, cross term, means)
    site_covariance: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(repr=False, default=None)

    @property
    def fittedvalues(self) -> np.ndarray:
        return self.mu

    def cov_params(self) -> pd.DataFrame:
        return self.normalized_cov * self.scale


@dataclass
class AbsorbedModel:
    """Stands in for the statsmodels GLM in the sensitivity analyses: ``fit(cov_type="hac-panel",
    cov_kwds={"groups", "maxlags"})`` gives the panel Newey–West covariance of the ``Z``
    coefficients (Bartlett weights, lags within each group, correction nobs / (nobs - k) with the
    site columns counted in k), as statsmodels computes it for a GLM on the dense design."""

    y: np.ndarray  # the endog statsmodels sees (proportion for binomial)
    w_prior: np.ndarray  # var_weights (n for binomial, 1 otherwise)
    offset: np.ndarray
    Z: np.ndarray
    names: list[str]
    family: str
    groups: Groups
    df_resid: float = 0.0
    fixed_scale: float | None = None  # None: Pearson X^2 / df; a number: the scale is fixed (e.g. 1)

    def fit(self, cov_type: str = "nonrobust", cov_kwds: dict | None = None, **_) -> AbsorbedGLM:
        res = _irls(self)
        if cov_type == "nonrobust":
            return res
        if cov_type != "hac-panel":
            raise ValueError(f"absorbed GLM: cov_type {cov_type!r} is not implemented")
        kw = cov_kwds or {}
        cov, site_part = _hac_panel(self, res, np.asarray(kw["groups"]), int(kw["maxlags"]))
        return AbsorbedGLM(res.params, cov, 1.0, res.mu, res.resid_pearson, res.df_resid, res.iterations,
                           res.converged, res.site_effects, res.site_weight, res.site_means, res.separation, self,
                           site_covariance=site_part)


def glm(y: np.ndarray, n: np.ndarray, Z: np.ndarray, names: list[str], family: str, groups: Groups,
        scale: str | float = "X2") -> AbsorbedGLM:
    """Fit as :func:`qieval.attribution.model._glm` on ``[D Z]`` + ``fit(scale=scale)`` ("X2": Pearson
    χ² / residual df; a number: fixed). ``converged`` and ``separation`` say how IRLS stopped."""
    y = np.asarray(y, float)
    n = np.asarray(n, float)
    if family == "binomial":
        endog, w_prior, offset = y / n, n, np.zeros(len(y))
    elif family == "poisson":
        endog, w_prior, offset = y, np.ones(len(y)), np.log(n)
    else:
        endog, w_prior, offset = y, np.ones(len(y)), np.zeros(len(y))
    model = AbsorbedModel(endog, w_prior, offset, np.asarray(Z, float), list(names), family, groups,
                          df_resid=float(len(y) - Z.shape[1] - groups[1]),
                          fixed_scale=None if scale == "X2" else float(scale))
    return _irls(model)


def _wls(model: AbsorbedModel, z: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of ``z`` on ``[D Z]``: (Z coefficients, site effects, B = (Z~'WZ~)^-1,
    site weighted means of Z)."""
    code, g = model.groups
    Zt, Zbar = within(model.Z, code, g, W)
    zt, zbar = within(z[:, None], code, g, W)
    ZtW = Zt * W[:, None]
    B = np.linalg.pinv(ZtW.T @ Zt)
    beta = B @ (ZtW.T @ zt[:, 0])
    alpha = zbar[:, 0] - Zbar @ beta
    return beta, alpha, B, Zbar


def _irls(model: AbsorbedModel) -> AbsorbedGLM:
    """statsmodels' ``GLM._fit_irls`` on the absorbed design (see the module docstring)."""
    start, link, inverse, var_w, deriv, unit_dev = _family(model.family)
    y, wp, off = model.y, model.w_prior, model.offset
    code, g = model.groups
    mu = start(y)
    eta = link(mu)
    dev = float(np.sum(wp * unit_dev(y, mu)))
    history = [np.inf, dev]
    converged, separation, it = False, False, 0
    beta = alpha = B = Zbar = W = None
    for it in range(1, MAXITER + 1):
        W = wp * var_w(mu)
        z = eta + deriv(mu) * (y - mu) - off
        beta, alpha, B, Zbar = _wls(model, z, W)
        eta = model.Z @ beta + alpha[code] + off
        mu = inverse(eta)
        history.append(float(np.sum(wp * unit_dev(y, mu))))
        if np.allclose(mu - y, 0):  # statsmodels warns "Perfect separation or prediction detected" and goes on
            separation = True
        if abs(history[-2] - history[-1]) <= ATOL:
            converged = True
            break
    params = pd.Series(beta, index=model.names)
    V = pd.DataFrame(B, index=model.names, columns=model.names)
    var = var_w(mu) if model.family != "gaussian" else np.ones_like(mu)
    pearson = (y - mu) * np.sqrt(wp) / np.sqrt(var)
    scale = (float(np.sum(pearson ** 2) / model.df_resid) if model.fixed_scale is None else model.fixed_scale)
    return AbsorbedGLM(params, V, scale, mu, pearson, model.df_resid, it, converged,
                       site_effects=alpha, site_weight=np.bincount(code, weights=W, minlength=g), site_means=Zbar,
                       separation=separation, model=model)


def _hac_panel(model: AbsorbedModel, res: AbsorbedGLM, groups: np.ndarray, maxlags: int
               ) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Panel HAC covariance of the ``Z`` coefficients (statsmodels' ``cov_nw_panel`` for a GLM,
    scores and Hessian at the estimate, rows in time order within each group), and the site effects'
    part of the dense one.

    Row ``i`` (site ``g``) moves the dense estimate by ``ψ_i = u_i [e_g / w_g - M B z~_i; B z~_i]``
    (the partitioned inverse times its score ``u_i x_i``; ``z~`` the within-site deviations). The
    covariance is ``c Σ w_|i-j| ψ_i ψ_j'`` over pairs in the same group within ``maxlags`` (Bartlett
    weights ``w``, ``c = nobs / (nobs - k)``), so with ``U_j = Σ_i w_|i-j| u_i`` (a within-group
    moving sum): ``D_g = c / w_g² Σ_{j∈g} u_j U_j`` and ``G_g = c / w_g B Σ_{j∈g} u_j U_j z~_j``.
    """
    code, g = model.groups
    mu = res.mu
    _, _, _, var_w, _, _ = _family(model.family)
    W = model.w_prior * var_w(mu)
    Zt, M = within(model.Z, code, g, W)
    B = np.linalg.inv((Zt * W[:, None]).T @ Zt)
    u = (model.y - mu) * model.w_prior  # canonical link: score factor per row
    xu = Zt * u[:, None]
    weights = 1 - np.arange(maxlags + 1) / (maxlags + 1.0)  # Bartlett
    S = weights[0] * xu.T @ xu
    U = weights[0] * u
    starts = np.r_[0, np.flatnonzero(groups[:-1] != groups[1:]) + 1]
    ends = np.r_[starts[1:], len(groups)]
    for lag in range(1, maxlags + 1):
        ok = np.concatenate([np.arange(a + lag, b) for a, b in zip(starts, ends) if b - a > lag] or [np.zeros(0, int)])
        s = xu[ok].T @ xu[ok - lag]
        S += weights[lag] * (s + s.T)
        np.add.at(U, ok, weights[lag] * u[ok - lag])
        np.add.at(U, ok - lag, weights[lag] * u[ok])
    nobs, k = model.Z.shape[0], model.Z.shape[1] + g
    c = nobs / float(nobs - k)
    cov = B @ S @ B * c
    wg = np.bincount(code, weights=W, minlength=g)
    uU = u * U
    D = c / wg ** 2 * np.bincount(code, weights=uU, minlength=g)
    G = c / wg[:, None] * (_group_sums(Zt * uU[:, None], code, g) @ B)
    return pd.DataFrame(cov, index=model.names, columns=model.names), (D, G, M)
