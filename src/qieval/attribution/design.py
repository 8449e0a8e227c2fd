"""Design matrices for segmented (interrupted time series) regression.

Terms (Wagner et al. 2002; Bernal, Cummins & Gasparrini 2017):

* ``time``: months since the first month of the data plus 1 (the tutorial's ``time``: 1, 2, ...).
* ``sin1, cos1, ... sink, cosk``: Fourier terms of the calendar month, period 12
  (``sin(2*pi*j*month/12)``, ``cos(...)``, month = 1..12, as ``tsModel::harmonic(month, k, 12)``
  spans the same space).
* a step per category, ``<category>``: 1 from the month containing the category's first start at the
  site (the "on month"), 0 before and at sites where it never started.
* with ``slope_change``, ``<category>:slope``: months since the on month (0 in the on month, 1 in the
  next, ...), 0 before. The step is then the change in level in the on month and the slope the change
  in trend per month thereafter.
* several sites: site fixed effects (one indicator per site, no common intercept) and either
  calendar-month fixed effects (one indicator per month except the first, which absorb the trend,
  seasonality and any shock that hit every site in the same month) or a common linear ``time`` trend
  (+ harmonics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Design:
    """A design matrix with the role of each column."""

    X: pd.DataFrame
    nuisance: list[str]
    terms: dict[str, list[str]]  # category -> its columns (step, and slope if asked)
    time_effects: str  # "single-site trend", "calendar", "trend"
    notes: list[str] = field(default_factory=list)


def month_index(period: pd.Series, first: pd.Timestamp) -> np.ndarray:
    """Whole months from ``first`` to each ``period`` (0 for ``first``)."""
    p = pd.DatetimeIndex(period)
    return ((p.year - first.year) * 12 + (p.month - first.month)).to_numpy()


def harmonic_columns(period: pd.Series, k: int) -> pd.DataFrame:
    """``k`` pairs of sine/cosine terms of the calendar month (period 12 months)."""
    month = pd.DatetimeIndex(period).month.to_numpy().astype(float)
    cols = {}
    for j in range(1, k + 1):
        cols[f"sin{j}"] = np.sin(2 * np.pi * j * month / 12)
        cols[f"cos{j}"] = np.cos(2 * np.pi * j * month / 12)
    return pd.DataFrame(cols, index=period.index)


def intervention_columns(data: pd.DataFrame, starts: pd.DataFrame, slope_change: bool
                         ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Step (and slope) columns per category for the rows of ``data`` (``site_id, period``)."""
    first = data["period"].min()
    t = month_index(data["period"], first)
    cols: dict[str, np.ndarray] = {}
    terms: dict[str, list[str]] = {}
    for cat, grp in starts.groupby("category", sort=True):
        on_by_site = pd.Series(month_index(grp["on_period"], first), index=grp["site_id"].to_numpy())
        on_t = data["site_id"].map(on_by_site).to_numpy(dtype=float)  # NaN where never started
        since = np.where(np.isnan(on_t), -1, t - np.nan_to_num(on_t)).astype(int)
        step = (since >= 0).astype(float)
        cols[cat] = step
        terms[cat] = [cat]
        if slope_change:
            cols[f"{cat}:slope"] = np.where(since >= 0, since, 0).astype(float)
            terms[cat].append(f"{cat}:slope")
    return pd.DataFrame(cols, index=data.index), terms


def nuisance_columns(data: pd.DataFrame, harmonics: int, time_effects: str) -> tuple[pd.DataFrame, list[str]]:
    """Intercept/site effects, trend or calendar effects, and harmonics."""
    first = data["period"].min()
    sites = sorted(data["site_id"].unique())
    parts: list[pd.DataFrame] = []
    notes: list[str] = []
    if len(sites) == 1:
        parts.append(pd.DataFrame({"const": 1.0}, index=data.index))
    else:
        parts.append(pd.DataFrame({f"site[{s}]": (data["site_id"] == s).astype(float) for s in sites},
                                  index=data.index))
    if time_effects == "calendar":
        periods = sorted(data["period"].unique())[1:]
        parts.append(pd.DataFrame({f"month[{pd.Timestamp(p):%Y-%m}]": (data["period"] == p).astype(float)
                                   for p in periods}, index=data.index))
        if harmonics:
            notes.append("Seasonal (harmonic) terms were left out: the calendar-month effects already "
                         "absorb seasonality.")
    else:
        parts.append(pd.DataFrame({"time": month_index(data["period"], first) + 1.0}, index=data.index))
        if harmonics:
            parts.append(harmonic_columns(data["period"], harmonics))
    X = pd.concat(parts, axis=1)
    return X, notes


def build_design(data: pd.DataFrame, starts: pd.DataFrame, *, harmonics: int, slope_change: bool,
                 time_effects: str) -> Design:
    """Full design: nuisance columns then intervention columns."""
    N, notes = nuisance_columns(data, harmonics, time_effects)
    C, terms = intervention_columns(data, starts, slope_change)
    X = pd.concat([N, C], axis=1)
    label = "single-site trend" if data["site_id"].nunique() == 1 else time_effects
    return Design(X=X, nuisance=list(N.columns), terms=terms, time_effects=label, notes=notes)
