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


def phase_of(config: ProjectConfig, periods: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """'baseline', 'intervention' or 'outside' for each period (inclusive month ranges)."""
    p = pd.DatetimeIndex(periods).to_period("M").to_timestamp()
    b, i = config.baseline, config.intervention
    base = (p >= pd.Timestamp(b.start)) & (p <= pd.Timestamp(b.end))
    interv = (p >= pd.Timestamp(i.start)) & (p <= pd.Timestamp(i.end))
    return np.select([base, interv], ["baseline", "intervention"], "outside")


def values_in_unit(measure: Measure, numerator, denominator, value):
    """The measure's reported value: numerator/denominator × multiplier, the count, or the value."""
    if measure.unit == "continuous":
        return value
    if measure.unit == "count":
        return numerator
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / denominator * measure.multiplier


def measure_series(values: pd.DataFrame, config: ProjectConfig, measure: Measure) -> pd.DataFrame:
    """Series of one measure for every site in ``values``, reindexed to the full period range."""
    sub = values.loc[values["measure_id"] == measure.id]
    if sub.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    full = period_index(config, sub["period"])
    frames = []
    for site_id, g in sub.groupby("site_id", sort=True):
        g = g.set_index("period").reindex(full)
        g.index.name = "period"
        g = g.reset_index().assign(site_id=site_id, measure_id=measure.id)
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = values_in_unit(measure, out["numerator"], out["denominator"], out["value"])
    out["phase"] = phase_of(config, out["period"])
    return out[SERIES_COLUMNS]


def pooled_values(values: pd.DataFrame, config: ProjectConfig) -> pd.DataFrame:
    """Network totals per period: numerators and denominators summed over sites; continuous
    values averaged. A period is pooled only when every site reported it (no partial totals)."""
    n_sites = values["site_id"].nunique()
    units = {m.id: m.unit for m in config.measures}
    g = values.groupby(["measure_id", "period"], sort=True)
    out = g.agg(numerator=("numerator", "sum"), denominator=("denominator", "sum"),
                value=("value", "mean"), n_sites=("site_id", "nunique")).reset_index()
    out = out.loc[out["n_sites"] == n_sites].drop(columns="n_sites")
    unit = out["measure_id"].map(units)
    out.loc[unit == "continuous", ["numerator", "denominator"]] = np.nan
    out.loc[unit == "count", "denominator"] = np.nan
    out.loc[unit != "continuous", "value"] = np.nan
    return out.assign(site_id="network")
