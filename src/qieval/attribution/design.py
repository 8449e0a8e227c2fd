"""Design matrices for segmented (interrupted time series) regression.

Terms (Wagner et al. 2002; Bernal, Cummins & Gasparrini 2017):

* ``time``: months since the first month of the data plus 1 (the tutorial's ``time``: 1, 2, ...).
* ``sin1, cos1, ... sink, cosk``: Fourier terms of the calendar month, period 12
  (``sin(2*pi*j*month/12)``, ``cos(...)``, month = 1..12, as ``tsModel::harmonic(month, k, 12)``
  spans the same space).
* a step per category, ``<category>``: 1 from the month containing the category's first start at the
  site (the "on month"), 0 before and at sites where it never started.
* with ``slope_change`` (``impact="ramp"``), ``<category>:slope``: months since the on month (0 in the
  on month, 1 in the next, ...), 0 before. The step is then the change in level in the on month and
  the slope the change in trend per month thereafter.
* with ``impact="event_time"``, instead of the step: ``<category>:month_<h>``, 1 in the h-th month
  after the on month (h = 0, 1, ...), an unrestricted effect per month since the start (the
  "fully dynamic" specification; with calendar-month effects the comparisons are with sites that
  have not started yet, Sun & Abraham 2021, Borusyak et al. 2024).
* ``Design.headline``: for each category the weights of its columns whose weighted sum is the
  average effect over the site-months after each site's start (the reported headline).
* several sites: site fixed effects (one per site, no common intercept; from :data:`ABSORB_FROM`
  sites on they are not columns of ``X`` but ``Design.groups``, each row's site, and the fit absorbs
  them: :mod:`qieval.attribution.fast_fit`) and either
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
    terms: dict[str, list[str]]  # category -> its columns (step, slope or one per month since the start)
    time_effects: str  # "single-site trend", "calendar", "trend"
    notes: list[str] = field(default_factory=list)
    since: dict[str, np.ndarray] = field(default_factory=dict)  # category -> months since its start (-1: off)
    headline: dict[str, dict[str, float]] = field(default_factory=dict)  # category -> column weights
    impact: str = "step"
    groups: tuple[np.ndarray, int] | None = None  # absorbed site effects: each row's site position, #sites
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def matrix(self, names: list[str]) -> np.ndarray:
        """Columns ``names`` of ``X`` as a float array (same as ``X[names].to_numpy(float)``).

        ``X`` is converted once; the copy is renewed if columns are added to ``X``.
        """
        if self._cache.get("X") is not self.X or self._cache["width"] != self.X.shape[1]:
            self._cache.update(X=self.X, width=self.X.shape[1], A=self.X.to_numpy(float),
                               at={c: i for i, c in enumerate(self.X.columns)})
        if not names:
            return np.zeros((len(self.X), 0))
        at = self._cache["at"]
        return self._cache["A"][:, [at[n] for n in names]]


def _month_number(values) -> np.ndarray:
    """Months since 1970-01 of each date (a datetime64 array, Series or a single timestamp)."""
    return np.asarray(values, dtype="datetime64[M]").astype(np.int64)


def month_index(period: pd.Series, first: pd.Timestamp) -> np.ndarray:
    """Whole months from ``first`` to each ``period`` (0 for ``first``)."""
    p = pd.DatetimeIndex(period)
    return ((p.year - first.year) * 12 + (p.month - first.month)).to_numpy()


def _harmonics(month: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """``k`` pairs of sine/cosine terms of the calendar month (1-12, as floats), period 12 months."""
    cols = {}
    for j in range(1, k + 1):
        cols[f"sin{j}"] = np.sin(2 * np.pi * j * month / 12)
        cols[f"cos{j}"] = np.cos(2 * np.pi * j * month / 12)
    return cols


def harmonic_columns(period: pd.Series, k: int) -> pd.DataFrame:
    """``k`` pairs of sine/cosine terms of the calendar month (period 12 months)."""
    month = pd.DatetimeIndex(period).month.to_numpy().astype(float)
    return pd.DataFrame(_harmonics(month, k), index=period.index)


def _site_codes(site_id: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct sites and each row's position among them."""
    return np.unique(site_id.to_numpy(dtype=object), return_inverse=True)


IMPACTS = ("step", "ramp", "event_time")

#: Sites from which the site fixed effects are absorbed instead of being indicator columns: below it
#: the dense design and statsmodels are fast and stay the reference path; from it the memory and
#: time of site columns (rows × sites) would dominate.
ABSORB_FROM = 30


def _intervention_arrays(data: pd.DataFrame, starts: pd.DataFrame, slope_change: bool, impact: str | None = None
                         ) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict[str, np.ndarray],
                                    dict[str, dict[str, float]]]:
    """Intervention columns per category, as arrays.

    Returns the columns, ``terms`` (category -> its columns), ``since`` (category -> months since the
    on month per row, -1 before it or where the category never started) and ``headline`` (category ->
    weights of its columns whose sum is the average effect over the site-months after the start).
    """
    impact = impact or ("ramp" if slope_change else "step")
    months = _month_number(data["period"].to_numpy())
    first = months.min() if len(months) else 0
    t = months - first  # months since the first month of the data
    sites, code = _site_codes(data["site_id"])
    at = {s: i for i, s in enumerate(sites)}
    on_month: dict[str, dict[str, int]] = {}  # category -> site -> on month (months since the first month)
    for s, c, m in zip(starts["site_id"].tolist(), starts["category"].tolist(),
                       _month_number(starts["on_period"].to_numpy()).tolist()):
        on_month.setdefault(c, {})[s] = m - first
    cols: dict[str, np.ndarray] = {}
    terms: dict[str, list[str]] = {}
    since_by: dict[str, np.ndarray] = {}
    headline: dict[str, dict[str, float]] = {}
    for cat in sorted(on_month):
        on_site = np.full(len(sites), np.nan)
        for s, m in on_month[cat].items():
            if s in at:
                on_site[at[s]] = m
        on_t = on_site[code]  # NaN where never started
        since = np.where(np.isnan(on_t), -1, t - np.nan_to_num(on_t)).astype(int)
        since_by[cat] = since
        on = since >= 0
        step = on.astype(float)
        mean_since = float(since[on].mean()) if on.any() else 0.0
        if impact == "event_time":
            horizons = np.unique(since[on])
            terms[cat] = []
            weights = {}
            for h in horizons:
                name = f"{cat}:month_{h}"
                cols[name] = (since == h).astype(float)
                terms[cat].append(name)
                weights[name] = float(np.count_nonzero(since == h)) / max(int(on.sum()), 1)
            headline[cat] = weights
        else:
            cols[cat] = step
            terms[cat] = [cat]
            headline[cat] = {cat: 1.0}
            if impact == "ramp":
                cols[f"{cat}:slope"] = np.where(on, since, 0).astype(float)
                terms[cat].append(f"{cat}:slope")
                headline[cat][f"{cat}:slope"] = mean_since
    return cols, terms, since_by, headline


def intervention_columns(data: pd.DataFrame, starts: pd.DataFrame, slope_change: bool
                         ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Step (and slope) columns per category for the rows of ``data`` (``site_id, period``)."""
    cols, terms, _, _ = _intervention_arrays(data, starts, slope_change)
    return pd.DataFrame(cols, index=data.index), terms


def _nuisance_arrays(data: pd.DataFrame, harmonics: int, time_effects: str, absorb: bool = False
                     ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Nuisance columns as arrays; see :func:`nuisance_columns` (``absorb``: no site columns)."""
    period = data["period"].to_numpy()
    months = _month_number(period)
    sites, code = _site_codes(data["site_id"])
    cols: dict[str, np.ndarray] = {}
    notes: list[str] = []
    if len(sites) == 1:
        cols["const"] = np.ones(len(data))
    elif not absorb:
        for i, s in enumerate(sites):
            cols[f"site[{s}]"] = (code == i).astype(float)
    if time_effects == "calendar":
        for p in np.unique(period)[1:]:
            cols[f"month[{pd.Timestamp(p):%Y-%m}]"] = (period == p).astype(float)
        if harmonics:
            notes.append("Seasonal (harmonic) terms were left out: the calendar-month effects already "
                         "absorb seasonality.")
    else:
        cols["time"] = (months - (months.min() if len(months) else 0)) + 1.0
        if harmonics:
            calendar_month = (months % 12 + 1).astype(float)  # 1-12
            cols.update(_harmonics(calendar_month, harmonics))
    return cols, notes


def nuisance_columns(data: pd.DataFrame, harmonics: int, time_effects: str) -> tuple[pd.DataFrame, list[str]]:
    """Intercept/site effects, trend or calendar effects, and harmonics."""
    cols, notes = _nuisance_arrays(data, harmonics, time_effects)
    return pd.DataFrame(cols, index=data.index), notes


def build_design(data: pd.DataFrame, starts: pd.DataFrame, *, harmonics: int, slope_change: bool = False,
                 time_effects: str, impact: str | None = None, absorb: bool | None = None) -> Design:
    """Full design: nuisance columns then intervention columns.

    ``impact``: "step" (one level change per category), "ramp" (level and slope change) or
    "event_time" (one column per month since the start, ``<category>:month_<h>``); by default
    "ramp" with ``slope_change`` and "step" without. ``absorb``: keep the site effects out of ``X``
    (``Design.groups``); by default from :data:`ABSORB_FROM` sites.
    """
    sites, code = _site_codes(data["site_id"])
    absorb = (len(sites) >= ABSORB_FROM) if absorb is None else (bool(absorb) and len(sites) > 1)
    N, notes = _nuisance_arrays(data, harmonics, time_effects, absorb)
    C, terms, since, headline = _intervention_arrays(data, starts, slope_change, impact)
    names = [*N, *C]
    A = np.column_stack([*N.values(), *C.values()]) if names else np.zeros((len(data), 0))
    X = pd.DataFrame(A, columns=names, index=data.index)
    label = "single-site trend" if "const" in N else time_effects  # "const" only with one site
    return Design(X=X, nuisance=list(N), terms=terms, time_effects=label, notes=notes, since=since,
                  headline=headline, impact=impact or ("ramp" if slope_change else "step"),
                  groups=(code.astype(np.int64), len(sites)) if absorb else None)
