"""The measure plan page: the aim statement and every measure with its type and collection method,
tabulated the way the IHI Model for Improvement worked example does (seed 004: "Measure |
Collection method | Type of measure"), at the top of a project's reports.

Charted measures come from ``measures`` (with ``collection``); measures that are planned but not
charted (patient surveys, case studies, clinician feedback) from ``measure_plan``. For measures
derived from record-level data the declarative definition is shown, so a reader can see exactly
what was counted.
"""

from __future__ import annotations

import pandas as pd

from ..config import Aggregate, Measure, ProjectConfig
from .html import Html, heading, para, table
from ..format import fmt_month
from .plain_summary import target_value

TYPE_ORDER = {"outcome": 0, "process": 1, "balancing": 2}
TYPE_WORDS = {"outcome": "Outcome measure", "process": "Process measure", "balancing": "Balancing measure"}


def aggregate_words(agg: Aggregate, config: ProjectConfig) -> str:
    """A definition in words-and-SQL, e.g. ``distinct patient where ome_mg_day > 120``."""
    if agg.kind == "list_size":
        return "registered list size (sites table)"
    what = {"count_distinct": f"distinct {agg.count_distinct}", "count": "records",
            "sum": f"sum of {agg.sum}", "mean": f"mean of {agg.mean}",
            "median": f"median of {agg.median}"}[agg.kind]
    return what + (f" where {agg.where}" if agg.where else "")


def definition_text(m: Measure, config: ProjectConfig) -> str:
    """How the measure is computed from the records ('' when it is not derived from records)."""
    d = m.from_records
    if d is None:
        return ""
    if d.value is not None:
        text = aggregate_words(d.value, config)
    else:
        text = aggregate_words(d.numerator, config)
        if d.denominator is not None:
            text += " ÷ " + aggregate_words(d.denominator, config)
    per = {"percent": " × 100", "rate": f" × {m.per:,}"}.get(m.unit, "")
    by = f"; by {m.breakdown}" if m.breakdown else ""
    return f"{text}{per}, per site and {config.frequency}{by}"


def _plan_rows(config: ProjectConfig) -> list[dict]:
    """The rows of :func:`plan_table` as dicts, in its order (a stable sort by type keeps the
    params' order within a type)."""
    rows = []
    for m in config.measures:
        target = "" if m.target is None else target_value(m)
        if target and m.target_date:
            target += f" by {fmt_month(pd.Timestamp(m.target_date))}"
        rows.append({"title": m.title, "type": m.type, "collection": m.collection or "",
                     "definition": definition_text(m, config), "charted": True, "target": target})
    for item in config.measure_plan or []:
        rows.append({"title": item.title, "type": item.type, "collection": item.collection,
                     "definition": "", "charted": False, "target": ""})
    return sorted(rows, key=lambda r: TYPE_ORDER.get(r["type"], len(TYPE_ORDER)))


def plan_table(config: ProjectConfig) -> pd.DataFrame:
    """Tidy measure plan: one row per measure (charted or not), ordered outcome → process →
    balancing: title, type, collection, definition, charted, target."""
    return pd.DataFrame(_plan_rows(config))


def measure_plan(config: ProjectConfig) -> Html:
    """The measure plan section (heading level 2): the aim's how much / by when, then the table.

    The aim statement itself is the report's Aim section, just above."""
    a = config.aim
    rows = [[r["title"] + ("" if r["charted"] else " (not charted)"), r["collection"] or "–",
             TYPE_WORDS[r["type"]], r["target"] or "–", r["definition"] or "–"] for r in _plan_rows(config)]
    derived = sum(m.from_records is not None for m in config.measures)
    note = (f"{derived} measure(s) are derived from record-level data by the definitions shown "
            "(records → one aggregation per site and period)." if derived else "")
    return Html(
        heading("Measure plan")
        + para(f"How we will know that a change is an improvement: the measures of the aim "
               f"({a.how_much}, by {fmt_month(pd.Timestamp(a.by_when))}).")
        + table(["Measure", "Collection method", "Type of measure", "Target", "Definition (from records)"],
                rows, "The project's measures, as planned with the Model for Improvement: outcome, "
                "process and balancing measures and how each is collected")
        + (para(note, "notes") if note else ""))
