"""Derive measure values from record-level rows: open the source, validate the definitions and the
rows, run the one aggregation query, and complete the site × period grid.

The result has the shape of ``measure_values`` (site_id, period, measure_id, numerator,
denominator, value) so everything downstream (series, summaries, SPC, attribution, reports) is
unchanged; breakdowns (e.g. by deprivation quintile) come as a separate tidy table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ..config import MAX_MAGNITUDE, ProjectConfig, display_path
from ..errors import InputError, Problem
from . import compile as query_compiler
from .checks import check_records
from .source import OpenSource, open_source

VALUE_COLUMNS = ["site_id", "period", "measure_id", "numerator", "denominator", "value"]
BREAKDOWN_COLUMNS = ["site_id", "period", "measure_id", "breakdown", "group", "numerator",
                     "denominator", "value"]


@dataclass
class RecordValues:
    """``values``: measure_values rows; ``breakdowns``: the same per breakdown group;
    ``problems``/``warnings``: FILE:ROW:COLUMN problems; ``path``: the records file (provenance);
    ``rows``: records read."""

    values: pd.DataFrame
    breakdowns: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    path: Path | None = None
    rows: int = 0


def _empty() -> RecordValues:
    return RecordValues(pd.DataFrame(columns=VALUE_COLUMNS), pd.DataFrame(columns=BREAKDOWN_COLUMNS))


def _key_line(config: ProjectConfig, path: tuple) -> int | None:
    """YAML line of ``path`` or of its nearest parent that has one."""
    for k in range(len(path), 0, -1):
        line = config.key_line(*path[:k])
        if line is not None:
            return line
    return None


def expression_keys(config: ProjectConfig) -> list[tuple[tuple, str]]:
    """Every SQL expression of the params with its key path (derive, checks, measure definitions)."""
    rec = config.records
    out: list[tuple[tuple, str]] = []
    if rec is not None:
        out += [(("records", "derive", name), text) for name, text in rec.derive.items()]
        out += [(("records", "checks", i, "require"), c.require) for i, c in enumerate(rec.checks)]
    for p in query_compiler.parts(config):
        for key in ("where", "sum", "mean", "median", "count_distinct"):
            text = getattr(p.agg, key)
            if isinstance(text, str) and text:
                out.append((("measures", p.index, "from_records", p.part, key), text))
    return out


def _one_expression(text: str) -> str | None:
    """Why ``text`` is not one SQL expression (a ``;`` starting another statement), else None."""
    try:
        statements = duckdb.extract_statements(f"SELECT {text}")
    except duckdb.Error:
        return None  # a syntax error: reported with DuckDB's own message when the expression is used
    if len(statements) != 1:
        return "one SQL expression over the columns of the records is expected (no ';' and no further statements)"
    return None


def expression_problems(config: ProjectConfig) -> list[Problem]:
    """Expressions that are not a single SQL expression, at their params line. (File, network and
    extension access is refused by the locked-down connection, :func:`.source.lock_down`.)"""
    label = display_path(config.params_path)
    out = []
    for path, text in expression_keys(config):
        why = _one_expression(text)
        if why:
            out.append(Problem(label, _key_line(config, path), ".".join(map(str, path)), why))
    return out


def _sql_error(exc: Exception) -> str:
    """DuckDB's message in one line; a refused file/network access says what is allowed."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, duckdb.PermissionException) or "disabled by configuration" in first:
        return ("expressions may use only the columns of the records (no files, tables, network or "
                f"settings): {first}")
    return first


def _definition_problems(con: duckdb.DuckDBPyConnection, config: ProjectConfig) -> list[Problem]:
    """Prepare each aggregate, derived column and breakdown alone, so an error names its key."""
    label = display_path(config.params_path)
    out = []

    def bad(path: tuple, what: str, exc: Exception) -> Problem:
        line = None
        for k in range(len(path), 0, -1):
            line = config.key_line(*path[:k])
            if line is not None:
                break
        return Problem(label, line, ".".join(map(str, path)), f"{what}: {_sql_error(exc)}")

    for p in query_compiler.parts(config):
        sql = query_compiler.aggregate_sql(p.agg, config)
        if sql is None:
            continue
        try:
            con.execute(f"SELECT {sql} FROM rec LIMIT 0")
        except duckdb.Error as exc:
            key = "where" if p.agg.where else p.agg.kind
            out.append(bad(("measures", p.index, "from_records", p.part, key),
                           f"measure '{p.measure.id}': the {p.part} definition is not valid SQL "
                           "over the records", exc))
    for i, m in enumerate(config.measures):
        if m.from_records is not None and m.breakdown:
            try:
                con.execute(f"SELECT {query_compiler.quote(m.breakdown)} FROM rec LIMIT 0")
            except duckdb.Error as exc:
                out.append(bad(("measures", i, "breakdown"),
                               f"measure '{m.id}': breakdown is not a column of the records", exc))
    return out


def _derive_problems(con: duckdb.DuckDBPyConnection, config: ProjectConfig,
                     types: dict[str, str]) -> list[Problem]:
    """Each ``records.derive`` expression tried alone over the source, so an error names its line."""
    label = display_path(config.params_path)
    out, before = [], ""
    for name, text in config.records.derive.items():
        try:  # with the derived columns before it (DuckDB lets a column refer to an earlier alias)
            con.execute(f"SELECT *{before}, ({text}) FROM src LIMIT 0")
            before += f", ({text}) AS {query_compiler.quote(name)}"
        except duckdb.Error as exc:
            out.append(Problem(label, _key_line(config, ("records", "derive", name)),
                               f"records.derive.{name}",
                               f"derived column '{name}' is not valid SQL over the records: {_sql_error(exc)}"))
    return out


def _expressions(config: ProjectConfig) -> list[str]:
    """Every SQL text of the params that refers to record columns."""
    rec = config.records
    out = list(rec.derive.values()) + [c.require for c in rec.checks]
    for p in query_compiler.parts(config):
        a = p.agg
        out += [x for x in (a.where, a.sum, a.mean, a.median, a.count_distinct) if x]
    return out


def _non_numeric(src: OpenSource, config: ProjectConfig, types: dict[str, str]) -> list[Problem]:
    """Cells that are not numbers in a text column the definitions use as a number.

    A CSV column with one typo ('12O') is read as text, and every comparison with a number then
    fails with a type error that names no row; so text columns that the params mention and that
    are mostly numbers have their non-numbers reported as FILE:ROW:COLUMN instead.
    """
    from .checks import rule_problems

    text = " ".join(_expressions(config))
    roles = set(config.records.columns.values())
    out = []
    for col, typ in types.items():
        if typ.upper() != "VARCHAR" or col in roles or not re.search(rf"\b{re.escape(col)}\b", text):
            continue
        q = query_compiler.quote(col)
        cell = f"NULLIF(trim({q}), '')"
        good, bad = src.con.execute(
            f"SELECT COUNT(*) FILTER (WHERE TRY_CAST({cell} AS DOUBLE) IS NOT NULL), "
            f"COUNT(*) FILTER (WHERE {cell} IS NOT NULL AND TRY_CAST({cell} AS DOUBLE) IS NULL) "
            "FROM src").fetchone()
        if bad and good >= bad:
            out += rule_problems(src, "src_rows", f"{cell} IS NOT NULL AND TRY_CAST({cell} AS DOUBLE) IS NULL",
                         col, q, "'{value}' is not a number")
    return out


def _grid(frame: pd.DataFrame, periods: pd.DatetimeIndex, sites: list[str], extra: dict | None = None):
    """Every site × period (× group) row, with the aggregated values where there were records."""
    keys = {"site_id": sites, "period": periods} | (extra or {})
    index = pd.MultiIndex.from_product(list(keys.values()), names=list(keys))
    return frame.set_index(list(keys)).reindex(index).reset_index()


def _shape(agg: pd.DataFrame, config: ProjectConfig, sites: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Aggregated columns → long measure rows (site_id, period, [group], measure_id, num, den, value)."""
    list_size = dict(zip(sites["site_id"], sites["list_size"]))
    frames = []
    for m in config.measures:
        d = m.from_records
        if d is None or (by is not None and m.breakdown != by):
            continue
        out = agg[["site_id", "period"] + (["group"] if by else [])].copy()
        out["measure_id"] = m.id
        for name in ("numerator", "denominator", "value"):
            a = getattr(d, name)
            if a is None:
                out[name] = np.nan
            elif a.kind == "list_size":
                out[name] = np.nan if by else out["site_id"].map(list_size).astype("float64")
            else:
                col = agg[f"{m.id}__{name}"].astype("float64")
                out[name] = col.fillna(0.0) if a.kind in ("count_distinct", "count", "sum") else col
        frames.append(out)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _usable(values: pd.DataFrame, config: ProjectConfig) -> pd.Series:
    unit = values["measure_id"].map({m.id: m.unit for m in config.measures})
    return np.where(unit == "continuous", values["value"].notna(),
                    np.where(unit == "count", values["numerator"].notna(),
                             values["denominator"].gt(0)))


def aggregate(src: OpenSource, config: ProjectConfig, sites: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the compiled query; return (measure_values rows, breakdown rows) on a complete grid."""
    known = set(sites["site_id"])
    site_ids = [s for s in config.sites if s in known]
    agg = src.con.execute(query_compiler.aggregate_query(config)).df()
    if agg.empty:
        return pd.DataFrame(columns=VALUE_COLUMNS), pd.DataFrame(columns=BREAKDOWN_COLUMNS)
    agg["period"] = pd.to_datetime(agg["period"]).astype("datetime64[ns]")
    start, end = agg["period"].min(), agg["period"].max()
    periods = pd.date_range(start, end, freq="7D" if config.frequency == "week" else "MS")
    internal = ["__set", "__group", "__n"]
    totals = agg.loc[agg["__set"] == ""].drop(columns=internal)
    values = _shape(_grid(totals, periods, site_ids), config, sites, None)
    values = values.loc[_usable(values, config)] if len(values) else values
    parts = []
    for b in query_compiler.breakdowns(config):
        sub = agg.loc[agg["__set"] == b].rename(columns={"__group": "group"})
        groups = sorted(sub["group"].unique(), key=str)
        sub = sub.drop(columns=["__set", "__n"])
        long = _shape(_grid(sub, periods, site_ids, {"group": groups}), config, sites, b)
        parts.append(long.assign(breakdown=b))
    breakdown = (pd.concat(parts, ignore_index=True)[BREAKDOWN_COLUMNS] if parts
                 else pd.DataFrame(columns=BREAKDOWN_COLUMNS))
    values = values.reindex(columns=VALUE_COLUMNS).sort_values(["measure_id", "site_id", "period"])
    return values.reset_index(drop=True), breakdown.reset_index(drop=True)


def _huge_values(values: pd.DataFrame, config: ProjectConfig, label: str) -> list[Problem]:
    """Aggregated values beyond :data:`qieval.config.MAX_MAGNITUDE` (e.g. a record of ``1e308``
    or ``inf``): the statistics would overflow, so the measure is reported, never charted."""
    out = []
    for name in ("numerator", "denominator", "value"):
        col = pd.to_numeric(values[name], errors="coerce").abs() if name in values else None
        if col is None:
            continue
        bad = values.loc[col.gt(MAX_MAGNITUDE).to_numpy()]
        for mid, g in bad.groupby("measure_id", sort=False):
            first = g.iloc[0]
            out.append(Problem(label, None, None,
                               f"measure '{mid}': the {name} of site '{first['site_id']}' in "
                               f"{pd.Timestamp(first['period']):%Y-%m-%d} is {first[name]:g}, more than "
                               f"1,000,000,000,000 ({len(g)} site-period(s) like it): check the records "
                               "and their units"))
    return out


def _empty_periods(values: pd.DataFrame, config: ProjectConfig, site_ids: list[str],
                   label: str) -> list[Problem]:
    """Periods with no usable value (e.g. no patients that month) → one problem per series gap."""
    if values.empty:
        return []
    periods = pd.date_range(values["period"].min(), values["period"].max(),
                            freq="7D" if config.frequency == "week" else "MS")
    fmt = "%Y-%m-%d" if config.frequency == "week" else "%Y-%m"
    severity = "warning" if config.allow_gaps else "error"
    measures = [m.id for m in config.measures if m.from_records is not None]
    full = pd.MultiIndex.from_product([measures, site_ids, periods],
                                      names=["measure_id", "site_id", "period"])
    have = pd.MultiIndex.from_frame(values[["measure_id", "site_id", "period"]])
    missing = full.difference(have).to_frame(index=False)
    out = []
    for (mid, site), g in missing.groupby(["measure_id", "site_id"], sort=False):
        out.append(Problem(label, None, config.records.columns["period"],
                           f"measure '{mid}' at site '{site}' has no value for {len(g)} period(s) "
                           f"from {g['period'].min():{fmt}} (no records, or a zero denominator)"
                           + ("; charts show the break" if config.allow_gaps
                              else "; set allow_gaps: true to chart the break"), severity))
    return out


#: Results of :func:`derive` for record files, by what they depend on (a warm report kernel
#: renders several sites of one project: the records are scanned once, not once per site).
_CACHE: dict[tuple, RecordValues] = {}
_CACHE_SIZE = 4


def _cache_key(config: ProjectConfig, sites: pd.DataFrame, today: dt.date, check: bool) -> tuple | None:
    """Params text, the records file's content (SHA-256), the sites, today — or None for a SQL
    source (the database may change between reports: it is read every time)."""
    from ..format import file_digest

    rec = config.records
    if rec is None or not rec.file:
        return None
    path = config.data_dir / rec.file
    try:
        digest = file_digest(path)
        params = config.params_path.read_bytes()
    except OSError:
        return None
    site_key = tuple(map(tuple, sites[["site_id", "list_size"]].astype(str).to_numpy()))
    return (str(path.resolve()), digest, params, site_key, today, check, str(config.root))


def _copy(res: RecordValues) -> RecordValues:
    return RecordValues(res.values.copy(), res.breakdowns.copy(), list(res.problems),
                        list(res.warnings), res.path, res.rows)


def derive(config: ProjectConfig, sites: pd.DataFrame, *, today: dt.date,
           check: bool = True) -> RecordValues:
    """Measure values of every ``from_records`` measure (see module docstring).

    ``sites``: site_id and list_size (from sites.csv). Problems are returned, not raised, so the
    loader can report them together with those of the other tables. Results for a records file
    are cached in the process (keyed by the params text, the file's content, the sites and
    ``today``); a SQL source is never cached.
    """
    key = _cache_key(config, sites, today, check)
    if key is not None and key in _CACHE:
        return _copy(_CACHE[key])
    res = _derive(config, sites, today=today, check=check)
    if key is not None:
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _copy(res)
    return res


def _derive(config: ProjectConfig, sites: pd.DataFrame, *, today: dt.date, check: bool) -> RecordValues:
    label = display_path(config.params_path)
    needs = [i for i, m in enumerate(config.measures) if m.from_records is not None]
    if config.records is None:
        if not needs:
            return _empty()
        res = _empty()
        res.problems = [Problem(label, config.key_line("measures", i, "from_records"),
                                f"measures.{i}.from_records",
                                f"measure '{config.measures[i].id}' is defined from records but the "
                                "params have no 'records' section") for i in needs]
        return res
    unsafe = expression_problems(config)
    if unsafe:
        res = _empty()
        res.problems = unsafe
        return res
    try:
        src = open_source(config)
    except InputError as err:
        res = _empty()
        res.problems = err.problems
        return res
    res = _empty()
    res.path = src.path
    try:
        types = dict(src.con.execute("SELECT column_name, column_type FROM (DESCRIBE src)").fetchall())
        missing = [(role, col) for role, col in config.records.columns.items() if col not in types]
        if missing:
            res.problems = [Problem(src.label, 1 if src.path else None, col,
                                    f"column '{col}' (records.columns.{role}) is not in the records "
                                    f"(columns: {', '.join(types)})") for role, col in missing]
            return res
        try:
            src.con.execute(f"CREATE VIEW rec AS {query_compiler.records_view(config, 'src', types)}")
            src.con.execute(f"CREATE VIEW rec_rows AS {query_compiler.records_view(config, 'src_rows', types)}")
        except duckdb.Error as exc:
            res.problems = _derive_problems(src.con, config, types) or [
                Problem(label, config.key_line("records", "derive"), "records.derive",
                        f"a derived column is not valid SQL over the records: {_sql_error(exc)}")]
            return res
        res.problems = _non_numeric(src, config, types)
        if res.problems:  # definitions over these columns would fail with misleading type errors
            return res
        res.problems = _definition_problems(src.con, config)
        site_ids = [s for s in sites["site_id"] if s]
        if check:
            try:
                res.problems += check_records(src, config, site_ids, today)
            except duckdb.Error as exc:  # a value DuckDB cannot convert while scanning a CSV
                res.problems.append(Problem(src.label, None, None,
                                            f"cannot read the records: {str(exc).splitlines()[0]}"))
        if res.problems:
            return res
        res.rows = int(src.con.execute("SELECT COUNT(*) FROM src").fetchone()[0])
        try:
            res.values, res.breakdowns = aggregate(src, config, sites)
        except duckdb.Error as exc:  # e.g. a CAST in a definition that fails on some row
            res.problems = [Problem(src.label, None, None, "cannot aggregate the records with the "
                                    f"params' definitions: {str(exc).splitlines()[0]}")]
            return res
        huge = _huge_values(res.values, config, src.label)
        if huge:
            res.problems = huge
            return res
        gaps = _empty_periods(res.values, config, [s for s in config.sites if s in site_ids], src.label)
        res.warnings = [p for p in gaps if p.severity == "warning"]
        res.problems = [p for p in gaps if p.severity == "error"]
        return res
    finally:
        src.con.close()
