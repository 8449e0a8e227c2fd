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


def _input_error(file: str, message: str, *, row: int | None = None, column: str | None = None) -> InputError:
    return InputError(Problem(file=file, row=row, column=column, message=message))


# dtype of ``Series.dt.to_period("M").dt.to_timestamp()`` (the month starts returned below)
MONTH_DTYPE = pd.Series(pd.to_datetime(["2000-01-15"])).dt.to_period("M").dt.to_timestamp().dtype


def month_floor(values: np.ndarray) -> np.ndarray:
    """Month starts of a ``datetime64`` array, as ``.dt.to_period("M").dt.to_timestamp()`` gives them."""
    return values.astype("datetime64[M]").astype(MONTH_DTYPE)


def _month_start(values: pd.Series, file: str, column: str) -> pd.Series:
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":  # already dates: no parsing needed
        out = values
    else:
        try:
            out = pd.to_datetime(values)
        except (ValueError, TypeError) as exc:
            raise _input_error(file, f"could not read dates in '{column}': {exc}", column=column)
    if isinstance(out.dtype, np.dtype):  # naive datetime64: floor with numpy
        arr = out.to_numpy()
        bad = np.isnat(arr)
        if bad.any():
            raise _input_error(file, f"'{column}' is empty or not a date", row=int(np.flatnonzero(bad)[0]) + 2, column=column)
        return pd.Series(month_floor(arr), index=values.index)
    bad = out.isna()
    if bad.any():
        raise _input_error(file, f"'{column}' is empty or not a date", row=int(np.flatnonzero(bad.to_numpy())[0]) + 2,
              column=column)
    return out.dt.to_period("M").dt.to_timestamp()


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as floats, and where they are missing or not a finite number."""
    num = pd.to_numeric(values, errors="coerce")
    if isinstance(num.dtype, np.dtype) and num.dtype.kind in "biuf":
        arr = num.to_numpy(dtype=float)
        return arr, ~np.isfinite(arr)
    bad = num.isna() | ~np.isfinite(num.astype(float))
    return num.astype(float).to_numpy(), bad.to_numpy()


def tidy_measure(measure_values: pd.DataFrame, family: str) -> pd.DataFrame:
    """Return ``site_id, period, y, n`` rows sorted by site and period.

    ``y`` is the numerator (binomial, poisson) or the value (gaussian); ``n`` is the denominator
    (1.0 for gaussian). ``period`` is floored to the month start.
    """
    if family not in FAMILIES:
        raise _input_error(MEASURE, f"family must be one of {', '.join(FAMILIES)}, not {family!r}", column="family")
    if not isinstance(measure_values, pd.DataFrame):
        raise _input_error(MEASURE, "expected a table (pandas DataFrame) of measure values")
    df = measure_values
    if len(df) == 0:
        raise _input_error(MEASURE, "no rows: the measure has no values to analyse")
    if family == "gaussian":
        if "value" in df.columns:
            value_cols = ["value"]
        elif {"numerator", "denominator"} <= set(df.columns):
            value_cols = ["numerator", "denominator"]
        else:
            raise _input_error(MEASURE, "missing column 'value' (or 'numerator' and 'denominator') for family='gaussian'",
                  column="value")
        needed = ["site_id", "period", *value_cols]
    else:
        needed = ["site_id", "period", "numerator", "denominator"]
    for col in needed:
        if col not in df.columns:
            raise _input_error(MEASURE, f"missing column '{col}'", column=col)
    site = df["site_id"].astype(str)
    period = _month_start(df["period"], MEASURE, "period").to_numpy()
    values = {}
    for col in needed[2:]:
        values[col], bad = _numbers(df[col])
        if bad.any():
            raise _input_error(MEASURE, f"'{col}' must be a number", row=int(np.flatnonzero(bad)[0]) + 2, column=col)
    if family == "gaussian":
        y = values["value"] if "value" in values else values["numerator"] / values["denominator"]
        n = np.ones(len(df))
    else:
        y, n = values["numerator"], values["denominator"]
        checks = [
            (y < 0, "numerator", "numerator must not be negative"),
            (n <= 0, "denominator", "denominator must be greater than 0"),
        ]
        if family == "binomial":
            checks.append((y > n, "numerator", "numerator is greater than denominator"))
        for bad, col, msg in checks:
            if bad.any():
                raise _input_error(MEASURE, msg, row=int(np.flatnonzero(bad)[0]) + 2, column=col)
    # sort by site, then month (a stable sort, so within a run of equal keys rows keep their input order)
    site_names, site_code = np.unique(site.to_numpy(dtype=object), return_inverse=True)
    order = np.lexsort((period, site_code))
    same = (site_code[order][1:] == site_code[order][:-1]) & (period[order][1:] == period[order][:-1])
    if same.any():  # the first row repeating an earlier site and month, as ``DataFrame.duplicated`` finds it
        raise _input_error(MEASURE, "more than one row for the same site and month", row=int(order[1:][same].min()) + 2,
              column="period")
    return pd.DataFrame({"site_id": site.array.take(order), "period": period[order], "y": y[order], "n": n[order]})


def tidy_interventions(interventions: pd.DataFrame | None, sites: list[str]) -> pd.DataFrame:
    """Return ``site_id, start, category, on_period``: one row per site and category (first start).

    ``ALL`` rows are expanded to every site. ``on_period`` is the month containing ``start``: the
    step switches on from that month (see :func:`qieval.attribution.fit`).
    """
    cols = ["site_id", "start", "category", "on_period"]
    if interventions is None:
        return pd.DataFrame(columns=cols)
    if not isinstance(interventions, pd.DataFrame):
        raise _input_error(INTERVENTIONS, "expected a table (pandas DataFrame) of interventions")
    df = interventions
    for col in ("site_id", "start", "category"):
        if col not in df.columns:
            raise _input_error(INTERVENTIONS, f"missing column '{col}'", column=col)
    if len(df) == 0:
        return pd.DataFrame(columns=cols)
    site = df["site_id"].astype(str).tolist()
    cat = df["category"]
    category = cat.astype(str).str.strip()
    bad = cat.isna().to_numpy() | (category == "").to_numpy()
    if bad.any():
        raise _input_error(INTERVENTIONS, "category is empty", row=int(np.flatnonzero(bad)[0]) + 2, column="category")
    known = set(sites)
    for i, s in enumerate(site):
        if s not in known and s != ALL_SITES:
            raise _input_error(INTERVENTIONS, f"site '{s}' has no rows in measure_values", row=i + 2, column="site_id")
    start = pd.to_datetime(df["start"], errors="coerce")
    missing = start.isna().to_numpy()
    if missing.any():
        raise _input_error(INTERVENTIONS, "start is empty or not a date", row=int(np.flatnonzero(missing)[0]) + 2, column="start")
    # the row with the first start of each (category, site); ALL rows count at every site
    first: dict[tuple[str, str], int] = {}
    when = start.tolist()
    for i, (s, c) in enumerate(zip(site, category.tolist())):
        for target in (sites if s == ALL_SITES else [s]):
            j = first.get((c, target))
            if j is None or when[i] < when[j]:
                first[(c, target)] = i
    keys = sorted(first)
    picked = start.array.take([first[k] for k in keys])  # keeps the unit (and any time zone) of the dates
    if isinstance(picked.dtype, np.dtype):
        on_period = month_floor(picked.to_numpy())
    else:
        on_period = pd.Series(picked).dt.to_period("M").dt.to_timestamp()
    return pd.DataFrame({"site_id": [k[1] for k in keys], "start": picked, "category": [k[0] for k in keys],
                         "on_period": on_period}, columns=cols)
