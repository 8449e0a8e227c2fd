"""Cross-column and cross-table validation rules, one small vectorised function per rule.

Each rule takes typed tables (index = spreadsheet row numbers) and returns a DataFrame of
``row, column, message`` (stage 2 of validation; stage 1 is :mod:`qieval.io.schemas`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ..config import MAX_MAGNITUDE, ProjectConfig

COLUMNS = ["row", "column", "message"]


def _out(mask: pd.Series, column: str, messages: pd.Series | str) -> pd.DataFrame:
    rows = mask[mask].index
    if isinstance(messages, str):
        msgs = [messages] * len(rows)
    else:
        msgs = list(messages.loc[rows])
    return pd.DataFrame({"row": list(rows), "column": column, "message": msgs}, columns=COLUMNS)


def _fmt(x: pd.Series) -> pd.Series:
    """Numbers as a person typed them (45, not 45.0)."""
    return x.map(lambda v: f"{v:g}" if pd.notna(v) else "").astype("object")


def unknown_values(column: pd.Series, known: list[str], what: str, where: str) -> pd.DataFrame:
    """Values of an id column that are not among ``known`` (e.g. a site missing from sites.csv)."""
    known = list(dict.fromkeys(known))
    bad = column.ne("") & ~column.isin(known)
    listed = ", ".join(known[:12]) + (" …" if len(known) > 12 else "")
    return _out(bad, column.name, "unknown " + what + " '" + column + f"' (not in {where}: {listed})")


def duplicate_keys(frame: pd.DataFrame, keys: list[str], label: str) -> pd.DataFrame:
    """Rows repeating the key of an earlier row (the first occurrence is not flagged)."""
    valid = frame[keys].notna().all(axis=1)
    sub = frame.loc[valid, keys]
    dup = sub.duplicated(keep="first")
    first_row = sub.reset_index().groupby(keys, sort=False)["index"].transform("first")
    first_row.index = sub.index
    text = sub.loc[dup].astype(str)
    key_text = pd.Series("", index=text.index, dtype=object)
    for i, k in enumerate(keys):  # a loop over the key columns, not the rows
        key_text = key_text + ("" if i == 0 else ", ") + f"{k} " + text[k]
    msg = "duplicate " + label + " (" + key_text + "); first given on row " + \
        first_row.loc[text.index].astype(str)
    return _out(dup.reindex(frame.index, fill_value=False), keys[-1], msg.reindex(frame.index))


def whole_for_unit(values: pd.Series, needed: pd.Series, unit: pd.Series) -> pd.DataFrame:
    """Denominators of percent (and count) measures are counts, so whole numbers; only a rate's
    denominator may be a non-integer population (e.g. standardised person-years)."""
    bad = needed & values.notna() & values.ne(values.round())
    return _out(bad, values.name, "expected a whole number for a " + unit + " measure, got "
                + _fmt(values) + " (only a rate measure's denominator may have decimal places)")


def required_population(list_size: pd.Series, needed_by: list[str], label: str) -> pd.DataFrame:
    """Blank list sizes while a measure takes its denominator from the list size
    (``from_records: denominator: {list_size: true}``)."""
    if not needed_by:
        return pd.DataFrame(columns=COLUMNS)
    which = ", ".join(f"'{m}'" for m in needed_by)
    return _out(list_size.isna(), list_size.name,
                f"list_size ({label}) is blank, but measure {which} takes its denominator from "
                "it (from_records: denominator: {list_size: true}); give the site's population, or "
                "define that denominator from the records")


def counts_not_negative(values: pd.Series) -> pd.DataFrame:
    """Counts below zero (formats are checked by the schema)."""
    return _out(values.lt(0), values.name, "expected a count of 0 or more, got " + _fmt(values))


def numerator_within_denominator(num: pd.Series, den: pd.Series, is_proportion: pd.Series) -> pd.DataFrame:
    """For proportions the numerator is a subset of the denominator, so cannot exceed it."""
    bad = is_proportion & num.gt(den) & den.ge(0)  # a negative denominator is reported on its own
    return _out(bad, "numerator", _fmt(num) + " exceeds the denominator " + _fmt(den))


def denominator_positive(den: pd.Series, needs_denominator: pd.Series) -> pd.DataFrame:
    """Zero denominators make the rate undefined; a month with nothing measured is left out."""
    bad = needs_denominator & den.eq(0)
    return _out(bad, "denominator",
                "denominator is 0, so the rate is undefined (leave the row out if nothing was measured)")


def required_for_unit(values: pd.Series, needed: pd.Series, unit: pd.Series) -> pd.DataFrame:
    """A value the measure's unit needs (numerator for counts, value for continuous …) is blank."""
    bad = needed & values.isna()
    return _out(bad, values.name, "a value is required here for a " + unit + " measure")


def not_in_future(dates: pd.Series, today: dt.date) -> pd.DataFrame:
    """Dates after today are typing mistakes (or data not yet collected)."""
    bad = dates.gt(pd.Timestamp(today))
    return _out(bad, dates.name,
                dates.dt.strftime("%Y-%m-%d") + f" is in the future (today is {today:%Y-%m-%d})")


def positive_whole(values: pd.Series, what: str) -> pd.DataFrame:
    """List sizes (registered populations) must be positive whole numbers."""
    bad = values.le(0)
    return _out(bad, values.name, f"{what} must be a positive whole number, got " + _fmt(values))


def end_not_before_start(start: pd.Series, end: pd.Series) -> pd.DataFrame:
    """A PDSA cycle cannot end before it starts."""
    bad = end.lt(start)
    return _out(bad, "end", "cycle ends " + end.dt.strftime("%Y-%m-%d") + " before it starts "
                + start.dt.strftime("%Y-%m-%d"))


def series_gaps(frame: pd.DataFrame, frequency: str, allowed: bool = False) -> pd.DataFrame:
    """Missing periods inside each site × measure series, reported on the row after the gap.

    A gap must never be silently joined across in a chart: by default it is an error; projects that
    declare ``allow_gaps: true`` get it as a warning and the charts show the break.
    """
    valid = frame[["site_id", "measure_id", "period"]].notna().all(axis=1)
    sub = frame.loc[valid, ["site_id", "measure_id", "period"]].sort_values(
        ["site_id", "measure_id", "period"]
    )
    if sub.empty:
        return pd.DataFrame(columns=COLUMNS)
    prev = sub.groupby(["site_id", "measure_id"])["period"].shift()
    if frequency == "week":
        missing = ((sub["period"] - prev).dt.days // 7 - 1)
        first_missing = prev + pd.Timedelta(days=7)
        last_missing = sub["period"] - pd.Timedelta(days=7)
        fmt = "%Y-%m-%d"
    else:
        missing = (sub["period"].dt.year - prev.dt.year) * 12 + (sub["period"].dt.month - prev.dt.month) - 1
        first_missing = prev + pd.offsets.MonthBegin(1)
        last_missing = sub["period"] - pd.offsets.MonthBegin(1)
        fmt = "%Y-%m"
    gap = missing.gt(0)
    unit = "week" if frequency == "week" else "month"
    first, last = first_missing.dt.strftime(fmt), last_missing.dt.strftime(fmt)
    missing_text = first.where(missing.le(1), first + " to " + last)  # every missing period named
    msg = (
        "gap in the " + sub["measure_id"] + " series of site " + sub["site_id"] + ": "
        + missing.fillna(0).astype(int).astype(str) + f" {unit}(s) missing ("
        + missing_text + ") before this row "
        + ("(allowed by allow_gaps: true; charts show the break)" if allowed else
           "(add the missing rows, or set allow_gaps: true in the params to chart the break)")
    )
    return _out(gap.reindex(frame.index, fill_value=False), "period", msg.reindex(frame.index))


def _period_list(periods: list[pd.Timestamp], fmt: str, most: int = 24) -> str:
    """Missing periods in words: every one (up to ``most``), else the first and last."""
    text = [p.strftime(fmt) for p in periods]
    if len(text) <= most:
        return ", ".join(text)
    return f"{text[0]} to {text[-1]}"


def incomplete_series(frame: pd.DataFrame, sites: list[str], measures: list[str], start: pd.Timestamp,
                      end: pd.Timestamp, frequency: str, allowed: bool = False) -> pd.DataFrame:
    """Periods missing at the start or end of the project period, per site × measure series.

    ``start``/``end`` bound the project period (month starts; for weekly data a week is missing
    when all 7 of its days, counted on from the series' own weeks, fall inside the period). A missing
    start is reported on the series' first row, a missing end on its last row, and a series with no
    rows at all without a row. Gaps inside a series are :func:`series_gaps`' job.
    """
    valid = frame[["site_id", "measure_id", "period"]].notna().all(axis=1)
    sub = frame.loc[valid, ["site_id", "measure_id", "period"]]
    week = frequency == "week"
    fmt = "%Y-%m-%d" if week else "%Y-%m"
    unit = "week" if week else "month"
    period_end = end + pd.offsets.MonthEnd(0)  # last day of the project's last month
    how = ("(allowed by allow_gaps: true; the charts and tables cover the data there are)" if allowed else
           "(add the missing rows, or set allow_gaps: true in the params to report the data there are)")
    project = f"the project period {start:%Y-%m} to {end:%Y-%m}"
    rows: list[dict] = []
    ordered = sub.assign(_row=sub.index).sort_values("period", kind="stable")
    spans = {k: (g["period"].iloc[0], g["_row"].iloc[0], g["period"].iloc[-1], g["_row"].iloc[-1])
             for k, g in ordered.groupby(["site_id", "measure_id"], sort=False)}
    for site in sites:
        for measure in measures:
            if (site, measure) not in spans:
                rows.append({"row": None, "column": "site_id", "message":
                             f"site {site} has no rows for measure {measure} in {project} {how}"})
                continue
            p0, r0, p1, r1 = spans[(site, measure)]
            if week:
                lead = [p0 - pd.Timedelta(days=7 * k) for k in range((p0 - start).days // 7, 0, -1)]
                # a week counts when all its 7 days fall inside the period
                trail = [p1 + pd.Timedelta(days=7 * k) for k in range(1, max((period_end - p1).days - 6, 0) // 7 + 1)]
            else:
                lead = list(pd.date_range(start, p0 - pd.offsets.MonthBegin(1), freq="MS")) if p0 > start else []
                trail = list(pd.date_range(p1 + pd.offsets.MonthBegin(1), end, freq="MS")) if p1 < end else []
            for missing, row, where in ((lead, r0, "start"), (trail, r1, "end")):
                if missing:
                    rows.append({"row": row, "column": "period", "message":
                                 f"site {site}, measure {measure}: no data for "
                                 f"{_period_list(missing, fmt, 12 if week else 24)} "
                                 f"({len(missing)} {unit}(s) missing at the {where} of {project}) {how}"})
    return pd.DataFrame(rows, columns=COLUMNS)


def swapped_columns(evidence: pd.Series, first: str, second: str, header_row: int, what: str,
                    min_rows: int = 3, share: float = 0.8) -> pd.DataFrame:
    """One header-row problem when most rows suggest columns ``first`` and ``second`` are swapped.

    ``evidence`` is True for a row that looks swapped (e.g. numerator > denominator on a percent
    measure), False for one that does not, NA where it says nothing. The row-level problems are still
    reported; this adds the likely cause once, on the header row, where the fix is.
    """
    known = evidence.dropna().astype(bool)
    hits = int(known.sum())
    if len(known) < min_rows or hits < share * len(known):
        return pd.DataFrame(columns=COLUMNS)
    return pd.DataFrame(
        {"row": [header_row], "column": [first],
         "message": [f"{what} on {hits} of {len(known)} rows: are the '{first}' and '{second}' "
                     "headers swapped?"]},
        columns=COLUMNS,
    )


def project_today() -> dt.date:
    """Today's date (a function so tests can reason about 'future')."""
    return dt.date.today()


def config_sites_in_table(config: ProjectConfig, site_ids: pd.Series) -> list[str]:
    """Sites named in the params but absent from sites.csv."""
    present = set(site_ids)
    return [s for s in config.sites if s not in present]


def within_magnitude(values: pd.Series) -> pd.DataFrame:
    """Counts and values larger than :data:`MAX_MAGNITUDE` (e.g. ``1e308``, ``99999999999999999999999``)."""
    bad = values.abs().gt(MAX_MAGNITUDE)
    return _out(bad, values.name, "implausibly large (more than 1,000,000,000,000): check the cell and "
                "its units, got " + _fmt(values))


def ignored_for_unit(values: pd.Series, ignored: pd.Series, unit: pd.Series, uses: str) -> pd.DataFrame:
    """A cell given on a row whose unit does not use it (e.g. ``value`` on a percent row): a warning,
    so a figure typed into the wrong column is not silently dropped."""
    bad = ignored & values.notna()
    return _out(bad, values.name, values.name + " is ignored for a " + unit + f" measure ({uses}), got "
                + _fmt(values))
