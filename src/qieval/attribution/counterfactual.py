"""Counterfactual series and absolute changes, from a fitted segmented regression.

The counterfactual is the model's prediction with every intervention term set to 0: the pre-existing
trend (and seasonality / calendar and site effects) continued as if no change had been made (Bernal et
al. 2017, Step 4; Wagner et al. 2002). Intervals are Wald intervals on the linear-predictor scale,
transformed to the measure scale (single series), or delta-method intervals on the measure scale for
the pooled (denominator-weighted) series, with the same t quantile as the effect intervals.

Scales: binomial = proportion (0-1), poisson = rate per ``rate_per`` units of denominator,
gaussian = the value itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit

from .inference import LARGE

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


def _row_quadratic(A: np.ndarray, V: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``a_i' V a_i`` for every row ``a_i`` of ``A``. A pooled design of many sites is mostly zeros
    (one site column per row), so large ones go through scipy.sparse in row chunks (memory bounded)."""
    if A.shape[0] * A.shape[1] <= LARGE:
        return np.einsum("ij,jk,ik->i", A, V, A)
    out = np.empty(A.shape[0])
    for a in range(0, A.shape[0], chunk):
        block = sparse.csr_matrix(A[a:a + chunk])
        out[a:a + chunk] = np.asarray(block.multiply(block @ V).sum(axis=1)).ravel()
    return out


def counterfactual_table(data: pd.DataFrame, X: pd.DataFrame, params: pd.Series, cov: pd.DataFrame,
                         term_columns: list[str], family: str, q: float, rate_per: float = 1.0) -> pd.DataFrame:
    """Per-site rows, plus pooled rows (``site_id == "ALL"``) when there are several sites."""
    names, A, b, V = model_arrays(X, params, cov)
    A0 = A.copy()
    idx = [names.index(c) for c in term_columns if c in names]
    A0[:, idx] = 0.0
    k = scale_factor(family, rate_per)
    eta, eta0 = A @ b, A0 @ b
    se0 = np.sqrt(_row_quadratic(A0, V))
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
            se = float(np.sqrt(grad @ V @ grad))
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
                    columns: list[str], family: str, q: float, rate_per: float = 1.0) -> tuple[float, float, float]:
    """Change attributable to ``columns`` in the last month, versus the counterfactual without them.

    Averaged over the sites where the term is non-zero in the last month, weighted by denominator:
    ``sum n_i (mu(eta_i) - mu(eta_i - x_ic b_c)) / sum n_i``, times 100 for binomial (percentage
    points), ``rate_per`` for poisson. Delta-method interval with quantile ``q``.
    """
    period = data["period"].to_numpy()
    return change_in_last_month(*model_arrays(X, params, cov), period == period.max(), data["n"].to_numpy(float),
                                columns, family, q, rate_per)


def change_in_last_month(names: list[str], A: np.ndarray, b: np.ndarray, V: np.ndarray, last: np.ndarray,
                         n: np.ndarray, columns: list[str], family: str, q: float, rate_per: float = 1.0
                         ) -> tuple[float, float, float]:
    """:func:`absolute_change` on arrays: ``A`` the design (columns ``names``), ``b`` the coefficients,
    ``V`` their covariance, ``last`` which rows are in the last month, ``n`` the denominators."""
    active = last & (A[:, [names.index(c) for c in columns]] != 0).any(axis=1)
    if not active.any():
        return (np.nan, np.nan, np.nan)
    A = np.asfortranarray(A[active])  # column-major, as pandas gives it (same BLAS path, same rounding)
    A0 = A.copy()
    A0[:, [names.index(c) for c in columns]] = 0.0
    mu, d = mean_and_derivative(A @ b, family)
    mu0, d0 = mean_and_derivative(A0 @ b, family)
    n = n[active]
    w = n / n.sum()
    diff = float(w @ (mu - mu0))
    grad = (w * d) @ A - (w * d0) @ A0
    se = float(np.sqrt(grad @ V @ grad))
    k = 100.0 if family == "binomial" else scale_factor(family, rate_per)
    return diff * k, (diff - q * se) * k, (diff + q * se) * k
