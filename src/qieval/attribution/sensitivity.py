"""Sensitivity analyses: sandwich standard errors for the intervention terms.

One site: Newey-West HAC with lag min(12, n // 4). Several sites: cluster-robust by site (t on
sites - 1 df; unreliable with few sites) and panel HAC (within-site Newey-West, same lag). These are
reported next to the default quasi-likelihood intervals, not instead of them (see
:func:`qieval.attribution.fit` for the simulation evidence).
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


def sensitivity_table(model: sm.GLM, data: pd.DataFrame, term_cols: list[str], family: str, level: float
                      ) -> pd.DataFrame:
    """Alternative (sandwich) standard errors for the intervention terms."""
    if not term_cols:
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    sites = data["site_id"].to_numpy()
    months_per_site = np.unique(sites, return_counts=True)[1]
    n_sites = len(months_per_site)
    lag = ljung_box_lag(int(months_per_site.min()))
    specs: list[tuple[str, dict, float]] = []
    df_resid = float(model.df_resid)
    if n_sites == 1:
        specs.append((f"HAC (Newey-West, lag {lag})", dict(cov_type="HAC", cov_kwds={"maxlags": lag}), df_resid))
    else:
        codes = pd.factorize(sites)[0]
        specs.append(("cluster-robust by site", dict(cov_type="cluster", cov_kwds={"groups": codes}),
                      float(n_sites - 1)))
        specs.append((f"panel HAC (lag {lag})", dict(cov_type="hac-panel", cov_kwds={"groups": codes, "maxlags": lag}),
                      df_resid))
    rows = []
    for method, kw, df in specs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = model.fit(**kw)
        except Exception as exc:  # pragma: no cover - statsmodels edge cases
            rows.append({"category": "", "method": f"{method} failed: {exc}"})
            continue
        params, bse = r.params, r.bse
        for c in term_cols:
            est, se = float(params[c]), float(bse[c])
            lo, hi, p = t_interval(est, se, df, level)
            rows.append({"category": c, "method": method, "std_error": se, "estimate_low": lo, "estimate_high": hi,
                         "ratio_low": np.exp(lo) if family != "gaussian" else np.nan,
                         "ratio_high": np.exp(hi) if family != "gaussian" else np.nan, "p_value": p})
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
