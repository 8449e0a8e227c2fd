"""Check and tidy the two inputs of :func:`qieval.attribution.fit`.

Bad input raises :class:`qieval.errors.InputError` naming the argument (``file``), the row as a
spreadsheet shows it (header = row 1, so the first data row is row 2) and the column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qieval.errors import InputError, Problem

MEASURE = "measure_values"
INTERVENTIONS = "interventions"
ALL_SITES = "ALL"
FAMILIES = ("binomial", "poisson", "gaussian")


def _fail(file: str, message: str, *, row: int | None = None, column: str | None = None) -> None:
    raise InputError(Problem(file=file, row=row, column=column, message=message))


def _month_start(values: pd.Series, file: str, column: str) -> pd.Series:
    try:
        out = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        _fail(file, f"could not read dates in '{column}': {exc}", column=column)
    bad = out.isna()
    if bad.any():
        _fail(file, f"'{column}' is empty or not a date", row=int(np.flatnonzero(bad.to_numpy())[0]) + 2,
              column=column)
    return out.dt.to_period("M").dt.to_timestamp()


def tidy_measure(measure_values: pd.DataFrame, family: str) -> pd.DataFrame:
    """Return ``site_id, period, y, n`` rows sorted by site and period.

    ``y`` is the numerator (binomial, poisson) or the value (gaussian); ``n`` is the denominator
    (1.0 for gaussian). ``period`` is floored to the month start.
    """
    if family not in FAMILIES:
        _fail(MEASURE, f"family must be one of {', '.join(FAMILIES)}, not {family!r}", column="family")
    if not isinstance(measure_values, pd.DataFrame):
        _fail(MEASURE, "expected a table (pandas DataFrame) of measure values")
    df = measure_values.reset_index(drop=True)
    if len(df) == 0:
        _fail(MEASURE, "no rows: the measure has no values to analyse")
    if family == "gaussian":
        if "value" in df.columns:
            value_cols = ["value"]
        elif {"numerator", "denominator"} <= set(df.columns):
            value_cols = ["numerator", "denominator"]
        else:
            _fail(MEASURE, "missing column 'value' (or 'numerator' and 'denominator') for family='gaussian'",
                  column="value")
        needed = ["site_id", "period", *value_cols]
    else:
        needed = ["site_id", "period", "numerator", "denominator"]
    for col in needed:
        if col not in df.columns:
            _fail(MEASURE, f"missing column '{col}'", column=col)
    out = pd.DataFrame({"site_id": df["site_id"].astype(str), "period": _month_start(df["period"], MEASURE, "period")})
    for col in needed[2:]:
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() | ~np.isfinite(num.astype(float))
        if bad.any():
            _fail(MEASURE, f"'{col}' must be a number", row=int(np.flatnonzero(bad.to_numpy())[0]) + 2, column=col)
        out[col] = num.astype(float)
    if family == "gaussian":
        out["y"] = out["value"] if "value" in out else out["numerator"] / out["denominator"]
        out["n"] = 1.0
    else:
        y, n = out["numerator"], out["denominator"]
        checks = [
            (y < 0, "numerator", "numerator must not be negative"),
            (n <= 0, "denominator", "denominator must be greater than 0"),
        ]
        if family == "binomial":
            checks.append((y > n, "numerator", "numerator is greater than denominator"))
        for bad, col, msg in checks:
            if bad.any():
                _fail(MEASURE, msg, row=int(np.flatnonzero(bad.to_numpy())[0]) + 2, column=col)
        out["y"], out["n"] = y, n
    dup = out.duplicated(["site_id", "period"])
    if dup.any():
        _fail(MEASURE, "more than one row for the same site and month",
              row=int(np.flatnonzero(dup.to_numpy())[0]) + 2, column="period")
    return out[["site_id", "period", "y", "n"]].sort_values(["site_id", "period"]).reset_index(drop=True)


def tidy_interventions(interventions: pd.DataFrame | None, sites: list[str]) -> pd.DataFrame:
    """Return ``site_id, start, category, on_period``: one row per site and category (first start).

    ``ALL`` rows are expanded to every site. ``on_period`` is the month containing ``start``: the
    step switches on from that month (see :func:`qieval.attribution.fit`).
    """
    cols = ["site_id", "start", "category", "on_period"]
    if interventions is None:
        return pd.DataFrame(columns=cols)
    if not isinstance(interventions, pd.DataFrame):
        _fail(INTERVENTIONS, "expected a table (pandas DataFrame) of interventions")
    df = interventions.reset_index(drop=True)
    for col in ("site_id", "start", "category"):
        if col not in df.columns:
            _fail(INTERVENTIONS, f"missing column '{col}'", column=col)
    if len(df) == 0:
        return pd.DataFrame(columns=cols)
    site = df["site_id"].astype(str)
    cat = df["category"]
    bad = cat.isna() | (cat.astype(str).str.strip() == "")
    if bad.any():
        _fail(INTERVENTIONS, "category is empty", row=int(np.flatnonzero(bad.to_numpy())[0]) + 2, column="category")
    known = set(sites)
    unknown = ~site.isin(known) & (site != ALL_SITES)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        _fail(INTERVENTIONS, f"site '{site.iloc[i]}' has no rows in measure_values", row=i + 2, column="site_id")
    start = pd.to_datetime(df["start"], errors="coerce")
    if start.isna().any():
        _fail(INTERVENTIONS, "start is empty or not a date", row=int(np.flatnonzero(start.isna().to_numpy())[0]) + 2,
              column="start")
    rows = []
    for s, st, c in zip(site, start, cat.astype(str).str.strip()):
        for target in (sites if s == ALL_SITES else [s]):
            rows.append((target, st, c))
    out = pd.DataFrame(rows, columns=["site_id", "start", "category"])
    out = out.sort_values("start").groupby(["site_id", "category"], as_index=False).first()
    out["on_period"] = out["start"].dt.to_period("M").dt.to_timestamp()
    return out[cols].sort_values(["category", "site_id"]).reset_index(drop=True)
