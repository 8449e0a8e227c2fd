"""Counterfactual series and absolute changes, from a fitted segmented regression.

The counterfactual is the model's prediction with every intervention term set to 0: the pre-existing
trend (and seasonality / calendar and site effects) continued as if no change had been made (Bernal et
al. 2017, Step 4; Wagner et al. 2002). Intervals are Wald intervals on the linear-predictor scale,
transformed to the measure scale (single series), or delta-method intervals on the measure scale for
the pooled (denominator-weighted) series, with the same t quantile as the effect intervals.

With many sites the site effects are absorbed (not columns of ``X``): ``sites``
(:class:`qieval.attribution.site_effects.SiteEffects`) then adds each row's site effect to the linear
predictor and its part of every variance.

Scales: binomial = proportion (0-1), poisson = rate per ``rate_per`` units of denominator,
gaussian = the value itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from .site_effects import SiteEffects, row_quadratic

COLUMNS = ["site_id", "period", "denominator", "observed", "fitted", "counterfactual", "counterfactual_low",
           "counterfactual_high"]
POOLED = "ALL"


def mean_and_derivative(eta: np.ndarray, family: str) -> tuple[np.ndarray, np.ndarray]:
    """Measure-scale mean and its derivative with respect to the linear predictor (offset excluded)."""
    if family == "binomial":
        p = expit(eta)
        return p, p * (1 - p)
    if family == "poisson":
        m = np.exp(eta)
        return m, m
    return eta, np.ones_like(eta)


def scale_factor(family: str, rate_per: float) -> float:
    """Multiplier from the model's mean scale to the reported scale."""
    return {"binomial": 1.0, "poisson": rate_per, "gaussian": 1.0}[family]


def model_arrays(X: pd.DataFrame, params: pd.Series, cov: pd.DataFrame
                 ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The coefficient names, the columns of ``X`` in that order, the coefficients and their covariance,
    as float arrays (``X[names]``, ``params``, ``cov.loc[names, names]``)."""
    names = list(params.index)
    A = (X if list(X.columns) == names else X[names]).to_numpy(float)
    same = list(cov.index) == names and list(cov.columns) == names
    V = (cov if same else cov.loc[names, names]).to_numpy(float)
    return names, A, params.to_numpy(float), V


def counterfactual_table(data: pd.DataFrame, X: pd.DataFrame, params: pd.Series, cov: pd.DataFrame,
                         term_columns: list[str], family: str, q: float, rate_per: float = 1.0,
                         sites: SiteEffects | None = None) -> pd.DataFrame:
    """Per-site rows, plus pooled rows (``site_id == "ALL"``) when there are several sites."""
    names, A, b, V = model_arrays(X, params, cov)
    A0 = A.copy()
    idx = [names.index(c) for c in term_columns if c in names]
    A0[:, idx] = 0.0
    k = scale_factor(family, rate_per)
    if sites is None:
        eta, eta0 = A @ b, A0 @ b
        se0 = np.sqrt(row_quadratic(A0, V))
    else:
        eta, eta0 = sites.linear_predictor(A, b), sites.linear_predictor(A0, b)
        se0 = np.sqrt(sites.row_variance(A0, V))
    mu, _ = mean_and_derivative(eta, family)
    mu0, d0 = mean_and_derivative(eta0, family)
    lo, _ = mean_and_derivative(eta0 - q * se0, family)
    hi, _ = mean_and_derivative(eta0 + q * se0, family)
    n = data["n"].to_numpy(float)
    observed = data["y"].to_numpy(float) / (n if family != "gaussian" else 1.0)
    site = data["site_id"].to_numpy()
    out = pd.DataFrame({"site_id": site, "period": data["period"].to_numpy(),
                        "denominator": n if family != "gaussian" else np.nan,
                        "observed": observed * k, "fitted": mu * k, "counterfactual": mu0 * k,
                        "counterfactual_low": lo * k, "counterfactual_high": hi * k})
    if len(set(site)) > 1:
        pooled = []
        w = n if family != "gaussian" else np.ones_like(n)
        for period, ix in data.groupby("period").indices.items():
            ww = w[ix] / w[ix].sum()
            grad = (ww * d0[ix]) @ A0[ix]
            var = grad @ V @ grad if sites is None else sites.combination_variance(ww * d0[ix], grad, V, rows=ix)
            se = float(np.sqrt(var))
            cf = float(ww @ mu0[ix])
            low, high = cf - q * se, cf + q * se
            if family != "gaussian":
                low = max(low, 0.0)
            if family == "binomial":
                high = min(high, 1.0)
            pooled.append((POOLED, period, float(n[ix].sum()) if family != "gaussian" else np.nan,
                           float(ww @ observed[ix]) * k, float(ww @ mu[ix]) * k, cf * k, low * k, high * k))
        out = pd.concat([out, pd.DataFrame(pooled, columns=COLUMNS)], ignore_index=True)
    return out  # columns already in the order of COLUMNS


def absolute_change(data: pd.DataFrame, X: pd.DataFrame, params: pd.Series, cov: pd.DataFrame,
                    columns: list[str], family: str, q: float, rate_per: float = 1.0,
                    sites: SiteEffects | None = None) -> tuple[float, float, float]:
    """Change attributable to ``columns`` in the last month, versus the counterfactual without them.

    Averaged over the sites where the term is non-zero in the last month, weighted by denominator:
    ``sum n_i (mu(eta_i) - mu(eta_i - x_ic b_c)) / sum n_i``, times 100 for binomial (percentage
    points), ``rate_per`` for poisson. Delta-method interval with quantile ``q``.
    """
    period = data["period"].to_numpy()
    return change_in_last_month(*model_arrays(X, params, cov), period == period.max(), data["n"].to_numpy(float),
                                columns, family, q, rate_per, sites)


def change_in_last_month(names: list[str], A: np.ndarray, b: np.ndarray, V: np.ndarray, last: np.ndarray,
                         n: np.ndarray, columns: list[str], family: str, q: float, rate_per: float = 1.0,
                         sites: SiteEffects | None = None) -> tuple[float, float, float]:
    """:func:`absolute_change` on arrays: ``A`` the design (columns ``names``), ``b`` the coefficients,
    ``V`` their covariance, ``last`` which rows are in the last month, ``n`` the denominators,
    ``sites`` the absorbed site effects (None: they are columns of ``A``)."""
    active = last & (A[:, [names.index(c) for c in columns]] != 0).any(axis=1)
    if not active.any():
        return (np.nan, np.nan, np.nan)
    rows = np.flatnonzero(active)
    A = np.asfortranarray(A[active])  # column-major, as pandas gives it (same BLAS path, same rounding)
    A0 = A.copy()
    A0[:, [names.index(c) for c in columns]] = 0.0
    eta, eta0 = (A @ b, A0 @ b) if sites is None else (sites.linear_predictor(A, b, rows),
                                                       sites.linear_predictor(A0, b, rows))
    mu, d = mean_and_derivative(eta, family)
    mu0, d0 = mean_and_derivative(eta0, family)
    n = n[active]
    w = n / n.sum()
    diff = float(w @ (mu - mu0))
    grad = (w * d) @ A - (w * d0) @ A0
    var = grad @ V @ grad if sites is None else sites.combination_variance(w * d - w * d0, grad, V, rows)
    se = float(np.sqrt(var))
    k = 100.0 if family == "binomial" else scale_factor(family, rate_per)
    return diff * k, (diff - q * se) * k, (diff + q * se) * k
