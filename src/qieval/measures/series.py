"""Measure series: one row per site × period × measure with the value in the measure's unit.

Missing periods are kept as rows with NaN so every chart shows the break instead of joining across
a gap. Phases come from the params (baseline / intervention / outside).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import Measure, ProjectConfig

SERIES_COLUMNS = ["site_id", "measure_id", "period", "numerator", "denominator", "value", "phase"]


def period_index(config: ProjectConfig, periods: pd.Series) -> pd.DatetimeIndex:
    """Every period from the first to the last observed one (month or week steps)."""
    start, end = periods.min(), periods.max()
    if config.frequency == "week":
        return pd.date_range(start, end, freq="7D")
    return pd.date_range(start, end, freq="MS")


def _month_starts(periods: pd.Series | pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Each period's month start (datetime64; NaT stays NaT)."""
    if isinstance(getattr(periods, "dtype", None), np.dtype) and periods.dtype.kind == "M":  # tz-naive
        return np.asarray(periods).astype("datetime64[M]")
    return pd.DatetimeIndex(periods).to_period("M").to_timestamp().to_numpy()


def phase_of(config: ProjectConfig, periods: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """'baseline', 'intervention' or 'outside' for each period (inclusive month ranges)."""
    p = _month_starts(periods)
    b, i = config.baseline, config.intervention
    base = (p >= pd.Timestamp(b.start).to_datetime64()) & (p <= pd.Timestamp(b.end).to_datetime64())
    interv = (p >= pd.Timestamp(i.start).to_datetime64()) & (p <= pd.Timestamp(i.end).to_datetime64())
    return np.select([base, interv], ["baseline", "intervention"], "outside")


def values_in_unit(measure: Measure, numerator, denominator, value):
    """The measure's reported value: numerator/denominator × multiplier, the count, or the value."""
    if measure.unit == "continuous":
        return value
    if measure.unit == "count":
        return numerator
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / denominator * measure.multiplier


def _column(values: pd.DataFrame, name: str, rows: np.ndarray):
    """``values[name]`` at ``rows`` as an array (numpy, or the column's extension array)."""
    col = values[name]
    return (col.to_numpy() if isinstance(col.dtype, np.dtype) else col.array)[rows]


def _full_periods(config: ProjectConfig, periods: np.ndarray) -> np.ndarray:
    """The values of :func:`period_index` (computed with numpy when the first period is a month
    start or the steps are weeks: ``pd.date_range`` costs more than the rest of a series)."""
    if periods.dtype.kind == "M" and not np.isnat(periods).all():
        start, end = np.min(periods[~np.isnat(periods)]), np.max(periods[~np.isnat(periods)])
        if config.frequency == "week":
            return np.arange(start, end + np.timedelta64(1, "ns"), np.timedelta64(7, "D")).astype(periods.dtype)
        month = start.astype("datetime64[M]")
        if month == start:
            return np.arange(month, end.astype("datetime64[M]") + 1).astype(periods.dtype)
    return period_index(config, pd.Series(periods, copy=False)).to_numpy()


def _reindexer(periods: np.ndarray, full: np.ndarray) -> np.ndarray:
    """For each period of ``full`` the position of the row with that period in ``periods``, or −1
    (what ``DataFrame.set_index("period").reindex(full)`` takes)."""
    if len(np.unique(periods)) < len(periods):
        raise ValueError("cannot reindex on an axis with duplicate labels")
    at = np.minimum(np.searchsorted(full, periods), len(full) - 1)
    found = full[at] == periods
    indexer = np.full(len(full), -1, dtype=np.intp)
    indexer[at[found]] = np.flatnonzero(found)
    return indexer


def measure_series(values: pd.DataFrame, config: ProjectConfig, measure: Measure) -> pd.DataFrame:
    """Series of one measure for every site in ``values``, reindexed to the full period range."""
    rows = np.flatnonzero(values["measure_id"].to_numpy() == measure.id)
    if not len(rows):
        return pd.DataFrame(columns=SERIES_COLUMNS)
    periods = _column(values, "period", rows)
    full = _full_periods(config, periods)
    # one block of len(full) rows per site (sorted by site id, as groupby does; rows without a
    # site id are dropped), taking each site's row of every period or a missing row
    sites = values["site_id"].to_numpy()[rows]
    if isinstance(sites[0], str) and (sites == sites[0]).all():
        site_ids, indexer = sites[0], _reindexer(periods, full)  # the usual case: one site
    else:
        codes, uniques = pd.factorize(sites, sort=True)
        if not len(uniques):
            raise ValueError("No objects to concatenate")
        blocks = []
        for code in range(len(uniques)):
            at = np.flatnonzero(codes == code)
            i = _reindexer(periods[at], full)
            blocks.append(np.where(i >= 0, at[np.maximum(i, 0)], -1))
        indexer = np.concatenate(blocks)
        site_ids = np.repeat(uniques, len(full))
        full = np.tile(full, len(uniques))

    def take(name):
        return pd.api.extensions.take(_column(values, name, rows), indexer, allow_fill=True)

    numerator, denominator, value = take("numerator"), take("denominator"), take("value")
    value = values_in_unit(measure, numerator, denominator, value)
    return pd.DataFrame({
        "site_id": site_ids, "measure_id": measure.id, "period": full, "numerator": numerator,
        "denominator": denominator, "value": value.copy() if value is numerator else value,
        "phase": phase_of(config, full),
    }, copy=False)  # every array here is new and used once


def pooled_coverage(values: pd.DataFrame, frequency: str = "month") -> pd.DataFrame:
    """Which sites each network period rests on: one row per measure × period with ``n_sites``
    (sites reporting), ``n_expected`` (sites with any row of the measure) and ``missing_sites``
    (their ids, comma-separated; ``""`` when complete)."""
    cols = ["measure_id", "period", "n_sites", "n_expected", "missing_sites"]
    if values.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for measure_id, g in values.groupby("measure_id", sort=True):
        expected = sorted(set(g["site_id"]))
        present = g.groupby("period", sort=True)["site_id"].agg(lambda s: set(s))
        full = pd.date_range(present.index.min(), present.index.max(),
                             freq="7D" if frequency == "week" else "MS")
        for period in sorted(set(full) | set(present.index)):
            have = present.get(period, set())
            out.append((measure_id, period, len(have), len(expected),
                        ", ".join(s for s in expected if s not in have)))
    return pd.DataFrame(out, columns=cols)


def pooled_values(values: pd.DataFrame, config: ProjectConfig) -> pd.DataFrame:
    """Network totals per period: numerators and denominators summed over sites; continuous
    values averaged. Never truncated silently: a period some sites did not report is, for
    percentages, rates and continuous measures, computed from the sites present and marked
    (``partial`` True, ``missing_sites`` naming them); for counts it is left out, since a total
    over fewer sites is not comparable (:func:`pooled_coverage` says which periods and sites)."""
    units = {m.id: m.unit for m in config.measures}
    g = values.groupby(["measure_id", "period"], sort=True)
    out = g.agg(numerator=("numerator", "sum"), denominator=("denominator", "sum"),
                value=("value", "mean")).reset_index()
    cov = pooled_coverage(values, config.frequency)
    out = out.merge(cov[["measure_id", "period", "missing_sites"]], on=["measure_id", "period"], how="left")
    out["missing_sites"] = out["missing_sites"].fillna("")
    out["partial"] = out["missing_sites"] != ""
    unit = out["measure_id"].map(units)
    out = out.loc[~((unit == "count") & out["partial"])].reset_index(drop=True)
    unit = out["measure_id"].map(units)
    out.loc[unit == "continuous", ["numerator", "denominator"]] = np.nan
    out.loc[unit == "count", "denominator"] = np.nan
    out.loc[unit != "continuous", "value"] = np.nan
    return out.assign(site_id="network")
