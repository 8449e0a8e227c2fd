"""Sensitivity analyses: each headline estimate under the intervals that were not the primary one.

One site: Newey-West HAC with lag min(12, n // 4). Several sites: quasi-likelihood (dispersion at
least 1, t on the residual df), cluster-robust by site (CR1, t on sites - 1 df) and panel HAC
(within-site Newey-West, same lag; it under-covered in the simulation, see
``docs/attribution_methods.md``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from .diagnostics import ljung_box_lag
from .inference import t_interval

SENSITIVITY_COLUMNS = ["category", "method", "std_error", "estimate_low", "estimate_high", "ratio_low",
                       "ratio_high", "p_value"]
NAMES = {"model": "quasi-likelihood (dispersion at least 1)", "cluster": "cluster-robust by site"}


def _combine(params: pd.Series, cov: pd.DataFrame, weights: dict[str, float]) -> tuple[float, float]:
    w = np.array(list(weights.values()), float)
    names = list(weights)
    est = float(w @ params[names].to_numpy(float))
    return est, float(np.sqrt(max(w @ cov.loc[names, names].to_numpy(float) @ w, 0.0)))


def sensitivity_table(model: sm.GLM, data: pd.DataFrame, headline: dict[str, dict[str, float]], family: str,
                      level: float, covs: dict[str, tuple[pd.DataFrame, float]], primary: str = "model",
                      params: pd.Series | None = None) -> pd.DataFrame:
    """Headline estimates (``headline``: category -> column weights; ``params`` the fitted
    coefficients) under the alternative intervals ``covs`` (name -> covariance, df) and HAC."""
    if not headline:
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    sites = data["site_id"].to_numpy()
    months_per_site = np.unique(sites, return_counts=True)[1]
    n_sites = len(months_per_site)
    lag = ljung_box_lag(int(months_per_site.min()))
    specs = [(NAMES[key], params, cov, df) for key, (cov, df) in covs.items() if key not in primary.split("+")]
    if n_sites == 1:
        method, kw = f"HAC (Newey-West, lag {lag})", dict(cov_type="HAC", cov_kwds={"maxlags": lag})
    else:
        method, kw = f"panel HAC (lag {lag})", dict(cov_type="hac-panel",
                                                    cov_kwds={"groups": pd.factorize(sites)[0], "maxlags": lag})
    rows = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = model.fit(**kw)
        specs.append((method, r.params, r.cov_params(), float(model.df_resid)))
    except Exception as exc:  # pragma: no cover - statsmodels edge cases
        rows.append({"category": "", "method": f"{method} failed: {exc}"})
    for method, b, cov, df in specs:
        for cat, weights in headline.items():
            est, se = _combine(b, cov, weights)
            lo, hi, p = t_interval(est, se, df, level)
            rows.append({"category": cat, "method": method, "std_error": se, "estimate_low": lo, "estimate_high": hi,
                         "ratio_low": np.exp(lo) if family != "gaussian" else np.nan,
                         "ratio_high": np.exp(hi) if family != "gaussian" else np.nan, "p_value": p})
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
