"""Compile the params' ``from_records`` definitions into DuckDB SQL.

Every measure of a project becomes a few aggregate columns of ONE query over the records, grouped
by site and period (and again by site, period and each breakdown column, ``UNION ALL``)::

    COUNT(DISTINCT patient_id) FILTER (WHERE ome_mg_day > 120)   -- {count_distinct: patient, where: …}
    COUNT(*) FILTER (WHERE …)                                    -- {count: true}
    SUM(x) FILTER (WHERE …), AVG(x) …, MEDIAN(x) …               -- {sum|mean|median: x}

``{list_size: true}`` is not SQL: the registered list size is joined from sites.csv afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import Aggregate, Measure, ProjectConfig

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def column_or_expr(text: str, config: ProjectConfig) -> str:
    """A role name (``patient``) → its quoted source column; a plain column → quoted; else the
    SQL expression unchanged."""
    roles = config.records.columns if config.records else {}
    text = roles.get(text, text)
    return quote(text) if _IDENT.match(text) else f"({text})"


def aggregate_sql(agg: Aggregate, config: ProjectConfig) -> str | None:
    """SQL of one aggregate (None for ``list_size``)."""
    where = f" FILTER (WHERE {agg.where})" if agg.where else ""
    kind = agg.kind
    if kind == "list_size":
        return None
    if kind == "count":
        return f"COUNT(*){where}"
    expr = column_or_expr(getattr(agg, kind), config)
    if kind == "count_distinct":
        return f"COUNT(DISTINCT {expr}){where}"
    if kind == "sum":
        return f"COALESCE(SUM({expr}){where}, 0)"
    # as DOUBLE: the median of a DECIMAL(p, 0) column (PostgreSQL ``numeric``) would be truncated
    return {"mean": "AVG", "median": "MEDIAN"}[kind] + f"(CAST({expr} AS DOUBLE)){where}"


@dataclass(frozen=True)
class Part:
    """One aggregate of one measure: ``part`` is numerator, denominator or value."""

    measure: Measure
    index: int  # position of the measure in the params (for key_line)
    part: str
    agg: Aggregate

    @property
    def alias(self) -> str:
        return f"{self.measure.id}__{self.part}"

    @property
    def fills_zero(self) -> bool:
        """A period without records counts 0 (counts, sums); a mean or median is then missing."""
        return self.agg.kind in ("count_distinct", "count", "sum")


def parts(config: ProjectConfig) -> list[Part]:
    """Every aggregate of every ``from_records`` measure, in params order."""
    out = []
    for i, m in enumerate(config.measures):
        d = m.from_records
        if d is None:
            continue
        for name in ("numerator", "denominator", "value"):
            agg = getattr(d, name)
            if agg is not None:
                out.append(Part(m, i, name, agg))
    return out


def breakdowns(config: ProjectConfig) -> list[str]:
    """Breakdown columns used by ``from_records`` measures (unique, params order)."""
    return list(dict.fromkeys(m.breakdown for m in config.measures
                              if m.from_records is not None and m.breakdown))


def period_expr(column_type: str, column: str) -> str:
    """Timestamp of the period column, whatever its type (dates, timestamps or ``YYYY-MM`` text)."""
    col = quote(column)
    t = column_type.upper()
    if t.startswith(("DATE", "TIMESTAMP")):
        return f"CAST({col} AS TIMESTAMP)"
    text = f"trim(CAST({col} AS VARCHAR))"
    formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m"]
    return "COALESCE(" + ", ".join(f"TRY_STRPTIME({text}, '{f}')" for f in formats) + ")"


def records_view(config: ProjectConfig, base: str, types: dict[str, str]) -> str:
    """SELECT over ``base`` adding ``__site``, ``__ts``, ``__period`` and the ``derive`` columns."""
    rec = config.records
    assert rec is not None
    unit = "week" if config.frequency == "week" else "month"
    derived = "".join(f", ({expr}) AS {quote(name)}" for name, expr in rec.derive.items())
    ts = period_expr(types.get(rec.columns["period"], "VARCHAR"), rec.columns["period"])
    site = f"NULLIF(trim(CAST({quote(rec.columns['site'])} AS VARCHAR)), '')"
    return (f"SELECT *{derived}, {site} AS __site, {ts} AS __ts, "
            f"date_trunc('{unit}', {ts}) AS __period FROM {base}")


def _set_query(config: ProjectConfig, view: str, by: str | None) -> str:
    """Aggregates of one grouping set (site × period, or site × period × ``by``).

    ``COUNT(DISTINCT x) FILTER (WHERE c)`` is computed in two stages, which DuckDB runs several
    times faster than many distinct aggregates side by side: first one row per (keys, x) with a
    flag per definition (``bool_or(c)``), then ``COUNT(*) FILTER (WHERE flag)`` per key. The
    result is the same (NULL x is not counted; a NULL condition does not count).
    """
    group = f"COALESCE(CAST({quote(by)} AS VARCHAR), '(missing)')" if by else "''"
    keys = ["__site", "__period", "__group"]
    base = (f"SELECT *, {group} AS __group FROM {view} "
            "WHERE __site IS NOT NULL AND __period IS NOT NULL")
    ps = parts(config)
    row_cols = [f"{sql} AS {quote(p.alias)}" for p in ps
                if p.agg.kind != "count_distinct" and (sql := aggregate_sql(p.agg, config)) is not None]
    ctes = [f"b AS NOT MATERIALIZED ({base})",
            f"r AS (SELECT {', '.join(keys + ['COUNT(*) AS __n'] + row_cols)} FROM b GROUP BY ALL)"]
    joins, outs = [], []
    distinct = [p for p in ps if p.agg.kind == "count_distinct"]
    for k, col in enumerate(dict.fromkeys(column_or_expr(p.agg.count_distinct, config) for p in distinct)):
        mine = [p for p in distinct if column_or_expr(p.agg.count_distinct, config) == col]
        flags = [f"bool_or({'(' + p.agg.where + ')' if p.agg.where else 'true'}) AS f{i}"
                 for i, p in enumerate(mine)]
        counts = [f"COUNT(*) FILTER (WHERE f{i}) AS {quote(p.alias)}" for i, p in enumerate(mine)]
        ctes.append(f"k{k} AS (SELECT {', '.join(keys + flags)} FROM b WHERE {col} IS NOT NULL "
                    f"GROUP BY {', '.join(keys)}, {col})")
        ctes.append(f"d{k} AS (SELECT {', '.join(keys + counts)} FROM k{k} GROUP BY ALL)")
        joins.append(f"LEFT JOIN d{k} USING ({', '.join(keys)})")
        outs += [quote(p.alias) for p in mine]
    outs += [quote(p.alias) for p in ps if p.agg.kind not in ("count_distinct", "list_size")]
    select = (f"SELECT __site AS site_id, __period AS period, {sql_text(by or '')} AS __set, "
              f"__group, {', '.join(['__n'] + outs)} FROM r {' '.join(joins)}")
    return f"(WITH {', '.join(ctes)} {select})"


def sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def aggregate_query(config: ProjectConfig, view: str = "rec") -> str:
    """The one query: every aggregate by site × period, and again by site × period × each
    breakdown, as ``UNION ALL`` of the grouping sets (``__set`` names the breakdown, ``''`` for
    the totals; ``__group`` is the breakdown value)."""
    sets = [None] + breakdowns(config)
    return " UNION ALL ".join(_set_query(config, view, b) for b in sets)
