"""Model checks reported with every fit: autocorrelation, points per segment, variance inflation.

* Durbin–Watson on the Pearson residuals in time order within each site (differences are never taken
  across sites): ``sum_site sum_t (r_t - r_{t-1})^2 / sum r^2``; about 2 when residuals are
  uncorrelated, below ~1.5 suggests positive autocorrelation.
* Ljung–Box test of the Pearson residuals per site at lag ``min(12, n_site // 4)`` (at least 1);
  a small p suggests autocorrelation, so the quasi-likelihood intervals may be too narrow (Bernal et al.
  2017, "Model checking and autocorrelation").
* Points before and after each category's change (the most at any one site) and the variance inflation
  factor of each intervention column given all other columns (unweighted OLS auxiliary regression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.diagnostic import acorr_ljungbox

from . import fast_fit

COLUMNS = ["check", "site_id", "category", "value", "note"]


def durbin_watson_by_site(resid: np.ndarray, sites: np.ndarray) -> float:
    """Durbin–Watson statistic pooling within-site differences (rows sorted by site, then period)."""
    r = np.asarray(resid, float)
    same = sites[1:] == sites[:-1]
    num = np.sum((np.diff(r)[same]) ** 2)
    den = np.sum(r ** 2)
    return float(num / den) if den > 0 else float("nan")


def ljung_box_lag(n: int) -> int:
    """Lag used for the Ljung–Box test: min(12, n // 4), at least 1."""
    return max(1, min(12, n // 4))


def _ljung_box_rows(resid: np.ndarray, sites: np.ndarray) -> list[tuple]:
    """``(site_id, lag, p_value)`` per site, in order of first appearance."""
    rows = []
    resid = np.asarray(resid, float)
    codes, firsts = pd.factorize(sites)  # each site's rows found once (not a scan of all rows per site)
    order = np.argsort(codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(firsts)))]
    for i, s in enumerate(firsts):
        r = resid[order[bounds[i]:bounds[i + 1]]]
        lag = ljung_box_lag(len(r))
        if len(r) < 4 or np.allclose(r, r[0]):
            rows.append((s, lag, float("nan")))
            continue
        res = acorr_ljungbox(r, lags=[lag], return_df=True)
        rows.append((s, lag, float(res["lb_pvalue"].iloc[0])))
    return rows


def ljung_box_by_site(resid: np.ndarray, sites: np.ndarray) -> pd.DataFrame:
    """Ljung–Box p-value per site: columns ``site_id, lag, p_value``."""
    return pd.DataFrame(_ljung_box_rows(resid, sites), columns=["site_id", "lag", "p_value"])


def vif(X: pd.DataFrame, columns: list[str], groups: fast_fit.Groups | None = None) -> dict[str, float]:
    """Variance inflation factor 1 / (1 - R^2) of each of ``columns`` regressed on all other columns.

    R^2 is centred (the other columns always span a constant: intercept or site effects). ``groups``:
    the design's absorbed site effects, counted among the other columns (exact, no site columns).
    """
    A = X.to_numpy(float)
    if groups is not None:
        return fast_fit.vif(A, list(X.columns), columns, groups)
    out = {}
    for c in columns:
        j = list(X.columns).index(c)
        x, others = A[:, j], np.delete(A, j, axis=1)
        beta, *_ = np.linalg.lstsq(others, x, rcond=None)
        rss = float(np.sum((x - others @ beta) ** 2))
        tss = float(np.sum((x - x.mean()) ** 2))
        out[c] = float("inf") if rss <= 1e-12 * max(tss, 1e-300) else tss / rss
    return out


def diagnostics_table(resid: np.ndarray, sites: np.ndarray, X: pd.DataFrame, term_columns: list[str],
                      before: dict[str, int], after: dict[str, int],
                      groups: fast_fit.Groups | None = None) -> pd.DataFrame:
    """Long (tidy) table of checks; see :data:`COLUMNS` and :func:`qieval.attribution.fit`."""
    rows = [("durbin_watson", None, None, durbin_watson_by_site(resid, sites),
             "Pearson residuals in time order within each site; about 2 if uncorrelated")]
    for site, lag, p in _ljung_box_rows(resid, sites):
        rows.append(("ljung_box_p", site, None, p, f"Ljung-Box test at lag {lag}"))
    for cat in after:
        rows.append(("points_before", None, cat, float(before[cat]), "months before the change (most at any site)"))
        rows.append(("points_after", None, cat, float(after[cat]), "months after the change (most at any site)"))
    for col, v in vif(X, term_columns, groups).items():
        rows.append(("vif", None, col, v, "variance inflation of the intervention term"))
    return pd.DataFrame(rows, columns=COLUMNS)
