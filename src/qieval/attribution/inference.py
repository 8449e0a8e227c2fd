"""Inference helpers: t-based Wald intervals, Holm's step-down adjustment, covariance matrices
(quasi-likelihood with the dispersion floored at 1, cluster-robust by site) and the minimum
detectable effect."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse, special, stats

POWER = 0.8
LARGE = 2_000_000  # rows × columns from which sums over a design go through scipy.sparse


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values; NaN entries are ignored and stay NaN.

    Sort the m p-values ascending, multiply the i-th smallest (i = 1..m) by (m - i + 1), take the
    running maximum so the adjusted values keep the order, and cap at 1.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


@lru_cache(maxsize=256)
def _critical(df: float, level: float) -> float:
    """Two-sided critical value (t on ``df``, or z when ``df`` is infinite); cached, as every row of a fit
    uses the same one."""
    return stats.t.ppf(0.5 + level / 2, df) if np.isfinite(df) else stats.norm.ppf(0.5 + level / 2)


def t_interval(estimate: float, se: float, df: float, level: float = 0.95) -> tuple[float, float, float]:
    """Two-sided Wald interval and p-value with a t reference distribution on ``df`` residual df.

    With ``df=inf`` it is the normal (z) interval. The p-value is ``2 * stats.t.sf(|t|, df)`` (or
    ``stats.norm.sf``), computed with the special functions scipy evaluates for them (``stdtr``, ``ndtr``).
    """
    q = _critical(df, level)
    tval = estimate / se
    p = 2 * (special.stdtr(df, -abs(tval)) if np.isfinite(df) else special.ndtr(-abs(tval)))
    return estimate - q * se, estimate + q * se, p


def t_quantile(df: float, level: float = 0.95) -> float:
    """Two-sided critical value (t on ``df``, or z when ``df`` is infinite)."""
    return float(_critical(df, level))


def minimum_detectable(se: float, df: float, level: float = 0.95, power: float = POWER) -> float:
    """Smallest true change (model scale, absolute value) detected with probability ``power`` by a
    two-sided test at ``1 - level``: ``(t_{1-alpha/2, df} + z_power) * se`` (Bloom 1995)."""
    return float((t_quantile(df, level) + stats.norm.ppf(power)) * se)


def cluster_covariance(bread: np.ndarray, X: np.ndarray, residual: np.ndarray, groups: np.ndarray,
                       absorbed: int = 0) -> np.ndarray:
    """Cluster-robust (sandwich) covariance ``c B M B`` for a GLM with canonical link.

    ``bread`` = (X' W X)^-1 (unscaled), ``residual`` = the working score per row (binomial with
    ``var_weights=n``: n (y/n - mu); Poisson and gaussian: y - mu), ``groups`` integer cluster codes;
    ``c = G/(G-1) (N-1)/(N-K)`` (the CR1 small-sample factor Stata and statsmodels use; ``absorbed``
    site effects left out of ``X`` are counted in K). One pass over the rows: O(N K + G K^2).

    With the site effects absorbed, ``X`` and ``bread`` cover the other columns only: the site
    columns' scores are zero at the estimate (the residuals of a canonical-link GLM sum to zero
    within each site), so this is the dense sandwich's block for those columns.
    """
    n, k = X.shape
    g = int(groups.max()) + 1
    if n * k > LARGE:  # a pooled design of many sites: sum the (sparse) score rows per cluster
        sums = sparse.csr_matrix((np.ones(n), (groups, np.arange(n))), shape=(g, n))
        scores = np.asarray((sums @ sparse.csr_matrix(X).multiply(residual[:, None])).todense())
    else:
        scores = np.zeros((g, k))
        np.add.at(scores, groups, X * residual[:, None])
    meat = scores.T @ scores
    c = g / (g - 1) * (n - 1) / max(n - k - absorbed, 1)
    return c * bread @ meat @ bread
