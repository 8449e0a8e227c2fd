"""Equity section: measures broken down by a column of the records (deprivation quintile,
weekday/weekend …), shown side by side so that a change that helps only some groups is visible.

Why: Core20PLUS5 (NHS England) asks that improvements reach the most deprived 20% of the
population (IMD quintile 1); an overall improvement can hide a group left behind. Each group gets
the same baseline vs intervention comparison as the measures table (qieval.measures.summary) and
its own panel in a row of small multiples with a shared y axis.

Data: ``ProjectData.breakdowns`` (from ``measures[].breakdown`` on record-derived measures). The
network view sums numerators and denominators over sites per group and period; continuous values
(medians per site) are averaged over sites, which is stated in the caption.

Disclosure: commissioner and public copies (an enabled :class:`~qieval.disclosure.DisclosurePolicy`)
go through the same small-number policy as the rest of the report: a group whose baseline or
intervention counts are small shows the marker instead of its rates, change and test (and is left
out of the sentences and the alt text), and each panel leaves out the group-months whose
numerator or denominator is small (a break), with a note saying how many.
"""

from __future__ import annotations


import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..config import Measure
from ..disclosure import DisclosurePolicy, small_mask
from ..io.load import ProjectData
from ..measures.series import values_in_unit
from ..measures.summary import summarise_measure
from .. import figures
from .html import Html, heading, para, table
from ..format import fmt_interval, fmt_num, fmt_p
from .plain_summary import measure_decimals, measure_value

#: Labels of deprivation quintiles (English IMD: 1 = most deprived 20%, the Core20 of Core20PLUS5).
IMD_LABELS = {"1": "1 (most deprived 20%: Core20)", "2": "2", "3": "3", "4": "4",
              "5": "5 (least deprived 20%)"}


def group_label(breakdown: str, group: str) -> str:
    """A readable group name (IMD quintiles get their Core20 meaning)."""
    if "imd" in breakdown.lower() or "quintile" in breakdown.lower():
        return IMD_LABELS.get(str(group), str(group))
    return str(group)


def breakdown_values(data: ProjectData, measure: Measure, site_id: str | None = None) -> pd.DataFrame:
    """One row per group × period: numerator, denominator, value (pooled over sites when
    ``site_id`` is None)."""
    b = data.breakdowns
    if b is None or b.empty:
        return pd.DataFrame()
    b = b.loc[b["measure_id"] == measure.id]
    if site_id is not None:
        b = b.loc[b["site_id"] == site_id]
    if b.empty:
        return b
    out = b.groupby(["group", "period"], as_index=False).agg(
        numerator=("numerator", "sum"), denominator=("denominator", "sum"), value=("value", "mean"))
    return out.assign(measure_id=measure.id, breakdown=b["breakdown"].iloc[0])


def group_summary(values: pd.DataFrame, data: ProjectData, measure: Measure) -> pd.DataFrame:
    """Baseline vs intervention per group (the measures-table statistics)."""
    rows = []
    for group, g in values.groupby("group", sort=True):
        v = g.copy()
        if measure.unit in ("percent", "rate"):
            v = v.loc[v["denominator"] > 0]
        row = summarise_measure(v, data.config, measure)
        rows.append(row | {"group": group})
    return pd.DataFrame(rows)


def _hidden(summary: pd.DataFrame, policy: DisclosurePolicy | None) -> np.ndarray:
    """Groups whose pooled baseline or intervention counts the policy suppresses."""
    hidden = np.zeros(len(summary), dtype=bool)
    if policy is None or not policy.enabled:
        return hidden
    for c in ("baseline_numerator", "baseline_denominator", "intervention_numerator",
              "intervention_denominator"):
        if c in summary:
            hidden |= small_mask(policy, summary[c])
    return hidden


def _published_points(values: pd.DataFrame, policy: DisclosurePolicy | None) -> tuple[pd.DataFrame, int]:
    """Group-months for the panels: those resting on a small numerator or denominator dropped
    (drawn as breaks); returns the rows to draw and how many were dropped."""
    if policy is None or not policy.enabled:
        return values, 0
    small = small_mask(policy, values["numerator"]) | small_mask(policy, values["denominator"])
    return values.assign(suppressed=small), int(small.sum())


def _sentence(summary: pd.DataFrame, measure: Measure, breakdown: str) -> str:
    """Which groups improved clearly, and the largest and smallest change."""
    out = _clear(summary, measure, breakdown)
    ok = summary.dropna(subset=["abs_change"]) if "abs_change" in summary else summary.iloc[0:0]
    if len(ok) >= 2:
        lo, hi = ok.loc[ok["abs_change"].idxmin()], ok.loc[ok["abs_change"].idxmax()]
        d = measure.decimals
        change = ((lambda x: f"{fmt_num(x, d)}pp") if measure.unit == "percent"  # noqa: E731
                  else (lambda x: measure_value(measure, x)))
        out += (f" Change from baseline ranges from {change(lo['abs_change'])} "
                f"({group_label(breakdown, lo['group'])}) to {change(hi['abs_change'])} "
                f"({group_label(breakdown, hi['group'])}).")
    return out.strip()


def _clear(summary: pd.DataFrame, measure: Measure, breakdown: str) -> str:
    """Which groups improved clearly (95% interval of the change excludes no change)."""
    sign = {"increase": 1, "decrease": -1}.get(measure.improvement_direction, 0)
    if sign == 0 or "abs_low" not in summary:
        return ""
    better = summary.loc[(summary["abs_high"] < 0) if sign < 0 else (summary["abs_low"] > 0)]
    unclear = summary.loc[~summary.index.isin(better.index)]
    names = lambda s: ", ".join(group_label(breakdown, g) for g in s["group"])  # noqa: E731
    if len(better) == len(summary):
        return "Every group improved (95% interval of the change excludes no change)."
    if better.empty:
        return "No group shows a clear improvement (every 95% interval includes no change)."
    return (f"Clear improvement in {names(better)}; no clear improvement in {names(unclear)}: "
            "the change has not reached every group.")


def _panels(values: pd.DataFrame, measure: Measure, breakdown: str, start: pd.Timestamp,
            title: str, alt: str, hidden_groups: frozenset = frozenset()) -> plt.Figure:
    """One panel per group, side by side, shared y axis, intervention start marked. Rows with
    ``suppressed`` set are not drawn; groups in ``hidden_groups`` get no mean lines."""
    groups = sorted(values["group"].unique(), key=str)
    with plt.rc_context(figures.RC):
        fig, axes = plt.subplots(1, len(groups), figsize=(min(2.2 * len(groups) + 1, 11), 2.8),
                                 sharey=True, layout="constrained", squeeze=False)
        for ax, group in zip(axes[0], groups):
            g = values.loc[values["group"] == group].sort_values("period")
            y = values_in_unit(measure, g["numerator"], g["denominator"], g["value"])
            y = pd.Series(np.asarray(y, dtype="float64"), index=g.index)
            if "suppressed" in g:  # small counts for this audience: a break, never the point
                y = y.where(~g["suppressed"].to_numpy(dtype=bool))
            ax.plot(g["period"], y, lw=1, color=figures.GREY, marker="o", ms=2)
            base = y[g["period"] < start].dropna()
            after = y[g["period"] >= start].dropna()
            if len(base) and group not in hidden_groups:
                ax.hlines(base.mean(), g["period"].min(), start, color=figures.DARK, lw=1.2)
            if len(after) and group not in hidden_groups:
                ax.hlines(after.mean(), start, g["period"].max(), color=figures.NHS_BLUE, lw=1.6)
            ax.axvline(start, color=figures.GREY, lw=0.8, ls="--")
            ax.set_title(group_label(breakdown, group), fontsize=8, loc="left")
            ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=4))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
            ax.tick_params(axis="x", labelsize=6)
        axes[0][0].set_ylabel(measure.label)
        fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    fig.qieval_alt = alt
    return fig


def measure_equity(data: ProjectData, measure: Measure, site_id: str | None = None,
                   policy: DisclosurePolicy | None = None) -> Html:
    """Heading, table and panels for one measure with a breakdown ('' when there is none); with an
    enabled ``policy`` (commissioner/public copies) small counts are suppressed (module docstring)."""
    values = breakdown_values(data, measure, site_id)
    if values.empty:
        return Html("")
    if measure.unit in ("percent", "rate") and values["denominator"].isna().all():
        return Html("")  # e.g. a list-size denominator: not known per group
    breakdown = str(values["breakdown"].iloc[0])
    summary = group_summary(values, data, measure)
    hidden = _hidden(summary, policy)
    hidden_groups = frozenset(summary.loc[hidden, "group"]) if len(summary) else frozenset()
    shown = summary.loc[~hidden]
    d = measure_decimals(measure)
    pp = "pp" if measure.unit == "percent" else ""
    rows = [[group_label(breakdown, r.group)] + ([policy.marker] * 4 if h else [
             fmt_interval(r.baseline_rate, r.baseline_low, r.baseline_high, d),
             fmt_interval(r.intervention_rate, r.intervention_low, r.intervention_high, d),
             fmt_interval(r.abs_change, getattr(r, "abs_low", np.nan), getattr(r, "abs_high", np.nan), d, pp),
             fmt_p(getattr(r, "p_value", np.nan))]) for r, h in zip(summary.itertuples(), hidden)]
    points, dropped = _published_points(values, policy)
    note = ""
    if dropped:
        note = (f"{dropped} of {len(values)} group-month points not shown: they rest on counts of "
                f"{policy.low} to {policy.high}, which are suppressed to protect confidentiality.")
    where = "this site" if site_id else "all sites pooled"
    start = pd.Timestamp(data.config.intervention.start)
    alt = (f"Small multiples of {measure.title.lower()} by {breakdown} ({where}), one panel per group "
           "with the baseline and intervention means: "
           + "; ".join(f"{group_label(breakdown, r.group)}: " + (
               "not shown (small numbers)" if h else
               f"{measure_value(measure, r.baseline_rate)} to {measure_value(measure, r.intervention_rate)}")
               for r, h in zip(summary.itertuples(), hidden))
           + (f". {note}" if note else ""))
    fig = _panels(points, measure, breakdown, start, f"{measure.title} by {breakdown}", alt, hidden_groups)
    sentence = _sentence(shown, measure, breakdown) if len(shown) else ""
    if sentence and hidden.any():
        sentence += (f" ({int(hidden.sum())} group(s) with small numbers not shown: "
                     f"{', '.join(group_label(breakdown, g) for g in sorted(hidden_groups, key=str))}.)")
    caption = (f"{measure.title} by {breakdown}, {where}: baseline vs intervention with 95% intervals"
               + ("; continuous values are the mean over sites of each site's value" if
                  measure.unit == "continuous" and site_id is None else "")
               + (". " + policy.footnote() if policy is not None and policy.enabled else ""))
    return Html(heading(f"{measure.title} by {breakdown}", 3)
                + (para(sentence) if sentence else "")
                + (para(note, "notes") if note else "")
                + figures.figure_html(fig)
                + table([breakdown, "Baseline (95% CI)", "Intervention (95% CI)", "Change (95% CI)", "Test"],
                        rows, caption))


def equity_section(data: ProjectData, site_id: str | None = None,
                   policy: DisclosurePolicy | None = None) -> Html:
    """Every measure with a breakdown, side by side by group (heading level 2); '' if none.
    ``policy``: the audience's small-number policy (``report.policy``; None = evaluator)."""
    parts = [measure_equity(data, m, site_id, policy) for m in data.config.measures if m.breakdown]
    parts = [p for p in parts if p]
    if not parts:
        return Html("")
    intro = para("Each measure broken down by group (e.g. deprivation quintile: Core20PLUS5 asks that "
                 "improvement reaches the most deprived 20%), side by side on the same scale, so that a "
                 "change which helps only some groups is visible. Black line: baseline mean; blue line: "
                 "intervention mean.")
    return Html(heading("Equity: measures by group") + intro + "".join(parts))
