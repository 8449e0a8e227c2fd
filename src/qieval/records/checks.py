"""Data-quality rules on record-level rows, each a SQL query returning the first offending rows.

Built in: blank or unknown site, blank or unreadable period, a period in the future, a blank
patient id (when ``columns.patient`` is given). The params add their own (``records.checks``:
``{column: ome_mg_day, require: "ome_mg_day >= 0", message: …}``). Each rule reports up to
:data:`MAX_PER_RULE` rows as ``FILE:ROW:COLUMN: message`` (how ROW is numbered depends on the
source, see :mod:`.source`) and then one line saying how many more rows break it.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from ..config import ProjectConfig, display_path
from ..errors import Problem
from .compile import quote
from .source import OpenSource

MAX_PER_RULE = 5


def rule_problems(src: OpenSource, view: str, condition: str, column: str, shown: str,
          message: str) -> list[Problem]:
    """Rows of ``view`` where ``condition`` holds → problems (first few, then a count)."""
    q = (f"SELECT __row, CAST({shown} AS VARCHAR) AS v, COUNT(*) OVER () AS n FROM {view} "
         f"WHERE {condition} ORDER BY __row LIMIT {MAX_PER_RULE}")
    rows = src.con.execute(q).fetchall()
    # a plain replace, not str.format: a params message may hold any other braces
    out = [Problem(src.label, int(r), column, message.replace("{value}", v if v is not None else ""))
           for r, v, _ in rows]
    if rows and rows[0][2] > len(rows):
        out.append(Problem(src.label, None, column,
                           f"{rows[0][2] - len(rows):,} more row(s) like the above "
                           f"({message.replace('{value}', '…')})"))
    return out


def check_records(src: OpenSource, config: ProjectConfig, site_ids: list[str],
                  today: dt.date, view: str = "rec_rows") -> list[Problem]:
    """Every data-quality problem of the records (see module docstring)."""
    rec = config.records
    assert rec is not None
    site_col, period_col = rec.columns["site"], rec.columns["period"]
    src.con.execute("CREATE OR REPLACE TEMP TABLE __sites AS SELECT unnest(?::VARCHAR[]) AS s",
                    [site_ids])
    listed = ", ".join(site_ids[:12]) + (" …" if len(site_ids) > 12 else "")
    unit = "week" if config.frequency == "week" else "month"
    out = []
    out += rule_problems(src, view, "__site IS NULL", site_col, "__site", "site is blank")
    out += rule_problems(src, view, "__site IS NOT NULL AND __site NOT IN (SELECT s FROM __sites)", site_col,
                 "__site", f"unknown site '{{value}}' (not in sites.csv: {listed})")
    out += rule_problems(src, view, f"{quote(period_col)} IS NULL", period_col, "NULL", "period is blank")
    out += rule_problems(src, view, f"{quote(period_col)} IS NOT NULL AND __ts IS NULL", period_col,
                 quote(period_col), "'{value}' is not a date (expected YYYY-MM, YYYY-MM-DD or a date-time)")
    out += rule_problems(src, view, f"__period > DATE '{today:%Y-%m-%d}'", period_col, quote(period_col),
                 f"'{{value}}' is in the future (the {unit} starts after today, {today:%Y-%m-%d})")
    if "patient" in rec.columns:
        col = rec.columns["patient"]
        out += rule_problems(src, view, f"{quote(col)} IS NULL OR trim(CAST({quote(col)} AS VARCHAR)) = ''",
                     col, "NULL", "patient id is blank")
    for i, check in enumerate(rec.checks):
        condition = f"NOT COALESCE(({check.require}), false)"
        message = check.message or f"breaks the rule {check.require}"
        try:
            out += rule_problems(src, view, condition, check.column, quote(check.column),
                         message + (" (found '{value}')" if "{value}" not in message else ""))
        except duckdb.Error as exc:
            out.append(Problem(display_path(config.params_path),
                               config.key_line("records", "checks", i, "require"),
                               f"records.checks.{i}.require",
                               f"not a valid condition on the records: {str(exc).splitlines()[0]}"))
    return out
