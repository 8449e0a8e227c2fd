"""Figures (matplotlib) drawn from computed results; no statistics are computed here.

Every figure function takes tidy, already-computed data plus an ``alt`` text and returns a
matplotlib Figure carrying that text (``fig.qieval_alt``) so the HTML can show it to screen readers.
Colours follow NHS "Making Data Count" and are colour-blind safe (Okabe–Ito for categories).
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: Okabe–Ito palette (colour-blind safe) for PDSA categories.
CATEGORY_COLOURS = {
    "education": "#0072B2", "staffing": "#D55E00", "IT": "#009E73", "process": "#CC79A7",
    "other": "#999999",
}
NHS_BLUE, GREY, DARK = "#005EB8", "#7B7D7D", "#231F20"

RC = {
    "svg.fonttype": "none",  # text stays text: smaller, searchable, accessible
    "svg.hashsalt": "qieval",  # deterministic element ids
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    # A fixed title position: matplotlib otherwise measures every tick label on every draw to see
    # whether the title must move up (≈12% of a chart's rendering time, cProfile) — it never has to
    # here, as there are no ticks on the top axis.
    "axes.titley": 1.0,
    "figure.dpi": 100,
}


def category_colour(category: str) -> str:
    """The colour of a PDSA change category (grey for a category without its own colour)."""
    return CATEGORY_COLOURS.get(category, GREY)


def new_figure(figsize=(7.5, 2.9), *, left: float = 0.09, bottom_in: float = 0.55):
    """A figure with fixed margins (``bottom_in`` inches below the axes for the tick labels, or
    more for a matplotlib legend below the axes).

    Fixed margins instead of constrained layout: layout solving drew every figure twice and cost
    about half the rendering time of a site report (measured with cProfile). The figure is a plain
    :class:`~matplotlib.figure.Figure`, not registered with pyplot: reports only ever save it as
    SVG, so nothing needs pyplot's figure manager (and nothing can leak between reports)."""
    with plt.rc_context(RC):
        fig = Figure(figsize=figsize)
        ax = fig.add_subplot()
    fig.subplots_adjust(left=left, right=0.98, top=1 - 0.3 / figsize[1], bottom=bottom_in / figsize[1])
    return fig, ax


def _finish_time_axes(ax, *, cycles: pd.DataFrame, title: str, ylabel: str,
                      target: float | None = None, reference: tuple[float, str] | None = None,
                      shade: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> None:
    """Shared decoration of charts over time: target/reference lines, baseline shading, PDSA
    cycle markers, title, axis labels, month ticks and the legend (in HTML, :func:`html_legend`)."""
    if target is not None:
        ax.axhline(target, color=DARK, lw=1, ls=":", label=f"target {target:g}")
    if reference is not None:
        ax.axhline(reference[0], color="#768692", lw=1, ls="-.", label=reference[1])
    if shade is not None:
        ax.axvspan(shade[0], shade[1], color="#E8EDEE", zorder=0, lw=0, label="baseline")
    _mark_cycles(ax, cycles)
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    _month_ticks(ax)
    html_legend(ax)


#: Month steps for date ticks: the first that gives at most :data:`MAX_DATE_TICKS` ticks.
MONTH_STEPS = (1, 3, 6, 12, 24)
MAX_DATE_TICKS = 7


def _month_ticks(ax) -> None:
    """Month ticks (January-aligned: monthly, quarterly, half-yearly or yearly, at most
    :data:`MAX_DATE_TICKS`) labelled "Jan\\n2024", and at most six value ticks. Every tick costs a
    few artists to create, lay out and draw (most of a chart's rendering time, cProfile), so charts
    carry as many as a reader needs and no more, and none outside the axes (:func:`_fix_ticks`).
    Spans shorter than three months keep matplotlib's automatic date ticks."""
    x0, x1 = ax.dataLim.intervalx
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    if not (np.isfinite(x0) and np.isfinite(x1)) or x1 - x0 < 90:
        _fix_ticks(ax.yaxis, mticker.MaxNLocator(nbins=5))
        return
    months = (x1 - x0) / 30.44
    step = next((k for k in MONTH_STEPS if months / k <= MAX_DATE_TICKS), MONTH_STEPS[-1])
    _fix_ticks(ax.xaxis, mdates.YearLocator(step // 12) if step > 12
               else mdates.MonthLocator(bymonth=range(1, 13, step)))
    _fix_ticks(ax.yaxis, mticker.MaxNLocator(nbins=5))


def _fix_ticks(axis, locator) -> None:
    """Ticks from ``locator`` for the axis's final view limits, without the ones outside them.

    Locators return a tick beyond each end (e.g. -0.25 and 1.25 for limits -0.03 to 1.05) and
    matplotlib creates a Tick (two marks, a grid line and two labels) for each before hiding it;
    fixing the in-view ticks once the chart is complete skips that work. Call last: the view limits
    are computed here (as drawing would) and do not change afterwards unless data are added."""
    lo, hi = sorted(axis.get_view_interval())
    axis.set_major_locator(locator)
    ticks = [t for t in locator() if lo <= t <= hi]
    axis.set_major_locator(mticker.FixedLocator(ticks))


def _mark_cycles(ax, cycles: pd.DataFrame) -> None:
    """Vertical lines at PDSA cycle starts, coloured and labelled by category (one line collection
    per category; cycle labels at the top of the axes)."""
    if cycles is None or cycles.empty:
        return
    ordered = cycles.sort_values("start", kind="stable")
    trans = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for category, g in ordered.groupby("category", sort=False):
        ax.vlines(g["start"], 0, 1, transform=trans, colors=category_colour(category), lw=1, ls="--",
                  alpha=0.8, label=f"PDSA: {category}")
    for i, c in enumerate(ordered.itertuples(index=False)):
        ax.annotate(c.cycle_id.replace("PDSA-", "C"), (c.start, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(1, -2 - 8 * (i % 3)), textcoords="offset points", fontsize=6.5,
                    color=category_colour(c.category), va="top")


#: Making Data Count point colours (NHSRplotthedots ptd_spc_colours; colour-blind safe pairings
#: with marker shapes: improvement ▲/▼, concern ◆, common cause ●).
MDC_COLOURS = {"common_cause": "#7B7D7D", "improvement": "#0072B2", "concern": "#E46C0A",
               "neutral": "#490092"}


def spc_chart(result: pd.DataFrame, *, chart: str, improvement_direction: str, cycles: pd.DataFrame,
              title: str, ylabel: str, alt: str, target: float | None = None,
              reference: tuple[float, str] | None = None, baseline_end: pd.Timestamp | None = None,
              gaps: list | None = None, partial: list | None = None) -> plt.Figure:
    """Run or control chart drawn from a computed qic() result (columns period, y, cl, lcl, ucl,
    part, sigma_signal, runs_signal, and ``point_type`` when the points were classified by
    :func:`qieval.spc.signals.point_types`). Limits are drawn per part as steps; special-cause
    points are coloured improvement (blue ▲/▼), concern (orange ◆) or neutral (purple) — by
    ``point_type`` when present, else by the 3-sigma signal and the improvement direction; a runs
    signal makes that part's centre line dashed orange, as in qicharts2. A result carrying moving
    ranges (``mr``, ``mr_cl``, ``mr_ucl``: an XmR chart) gets its MR chart underneath. ``partial``
    periods (pooled from only some sites) are ringed."""
    has_mr = "mr" in result.columns
    if has_mr:
        fig, (ax, ax_mr) = _new_pair()
    else:
        fig, ax = new_figure()
    with plt.rc_context(RC):
        _draw_spc(ax, result, chart=chart, improvement_direction=improvement_direction, gaps=gaps,
                  partial=partial)
        shade = (result["period"].min(), baseline_end) if baseline_end is not None else None
        _finish_time_axes(ax, cycles=cycles, title=title, ylabel=ylabel, target=target,
                          reference=reference, shade=shade)
        if has_mr:
            _draw_mr(ax_mr, result)
            ax_mr.set_xlim(ax.get_xlim())
            _month_ticks(ax_mr)
            ax.tick_params(labelbottom=False)
    fig.qieval_alt = alt
    return fig


def _new_pair(figsize=(7.5, 4.1)):
    """A figure with a chart above and a smaller moving-range chart below (fixed margins)."""
    with plt.rc_context(RC):
        fig = Figure(figsize=figsize)
        ax, ax_mr = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.6, 1], "hspace": 0.12})
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.3 / figsize[1], bottom=0.55 / figsize[1])
    return fig, (ax, ax_mr)


def _point_groups(result: pd.DataFrame, improvement_direction: str) -> dict[str, pd.Series]:
    """Masks of the points to draw as common cause, improvement, concern and neutral special
    cause: read from ``point_type`` when present, else from ``sigma_signal`` and the direction."""
    shown = result["y"].notna()
    if "point_type" in result.columns:
        pt = result["point_type"].astype(str)
        return {"common_cause": shown & (pt == "common_cause"),
                "improvement": shown & (pt == "special_cause_improvement"),
                "concern": shown & (pt == "special_cause_concern"),
                "neutral": shown & pt.str.startswith("special_cause_neutral")}
    sign = {"increase": 1, "decrease": -1}.get(improvement_direction, 0)
    signal = result["sigma_signal"].fillna(False).astype(bool) & shown
    high = result["y"] > result["cl"]
    better = (high & (sign > 0)) | (~high & (sign < 0))
    none = pd.Series(False, index=result.index)
    return {"common_cause": shown & ~signal,
            "improvement": signal & better if sign else none,
            "concern": signal & ~better if sign else none,
            "neutral": signal if not sign else none}


def _draw_spc(ax, result: pd.DataFrame, *, chart: str, improvement_direction: str, gaps=None,
              partial=None, x: str = "period") -> None:
    """Line, centre line and limits per part, points by state, gaps and partial periods."""
    sign = {"increase": 1, "decrease": -1}.get(improvement_direction, 0)
    ax.plot(result[x], result["y"], lw=1.2, color=GREY, zorder=2)
    for part, g in result.groupby("part", sort=True):
        runs = bool(g["runs_signal"].any())
        ax.step(g[x], g["cl"], where="mid", lw=1.4 if not runs else 1.8,
                color=MDC_COLOURS["concern"] if runs else DARK, ls="--" if runs else "-",
                label=("centre line (runs signal)" if runs else "centre line") if part == result["part"].min() else None)
        if chart != "run":
            for col in ("ucl", "lcl"):
                ax.step(g[x], g[col], where="mid", lw=1, color="#768692", ls="-",
                        label="control limits (3σ)" if part == result["part"].min() and col == "ucl" else None)
    groups = _point_groups(result, improvement_direction)
    common = result.loc[groups["common_cause"]]
    ax.scatter(common[x], common["y"], s=16, color=MDC_COLOURS["common_cause"], zorder=3, label="common cause")
    styles = {"improvement": ("^" if sign > 0 else "v", "special cause: improvement"),
              "concern": ("D", "special cause: concern"), "neutral": ("o", "special cause")}
    for kind, (marker, label) in styles.items():
        pts = result.loc[groups[kind]]
        if len(pts):
            ax.scatter(pts[x], pts["y"], s=30 if kind != "neutral" else 26, marker=marker,
                       color=MDC_COLOURS[kind], zorder=4, label=label)
    for p in gaps or []:
        ax.axvspan(p - pd.Timedelta(days=14), p + pd.Timedelta(days=14), color="#FFB81C", alpha=0.3, lw=0)
    if gaps:
        ax.plot([], [], color="#FFB81C", alpha=0.5, lw=6, label="missing period (not joined)")
    if partial:
        pts = result.loc[result[x].isin(partial) & result["y"].notna()]
        ax.scatter(pts[x], pts["y"], s=80, facecolors="none", edgecolors=DARK, linewidths=1, zorder=5,
                   label="pooled from the sites present only")


def _draw_mr(ax, result: pd.DataFrame, x: str = "period", mr: str = "mr", cl: str = "mr_cl",
             ucl: str = "mr_ucl") -> None:
    """Moving-range chart under an I chart: moving ranges, their mean and upper limit (D4 = 3.267)."""
    ax.plot(result[x], result[mr], lw=1, color=GREY, marker="o", ms=2.5, label="moving range")
    part = result["part"] if "part" in result.columns else pd.Series(1, index=result.index)
    for k, g in result.groupby(part, sort=True):
        first = k == part.min()
        ax.step(g[x], g[cl], where="mid", lw=1.2, color=DARK, label="mean moving range" if first else None)
        ax.step(g[x], g[ucl], where="mid", lw=1, color="#768692", label="MR upper limit" if first else None)
    ax.set_ylabel("moving range")
    ax.set_ylim(bottom=0)


def qic_figure(result: pd.DataFrame, *, chart: str, improvement_direction: str = "neutral",
               facets: list[str] | None = None, mr: pd.DataFrame | None = None, title: str = "",
               ylabel: str = "", legend: bool = True) -> Figure:
    """A qic() result drawn as qicharts2 draws it: one panel per facet cell (``facets``: the
    result's facet columns), centre line and limits per part, points by state (``point_type`` when
    present, else the 3-sigma signal), dashed centre line on a runs signal, the target, and a
    moving-range panel when ``mr`` (a qic(chart="mr") result with the same rows) is given or the
    result carries ``mr`` columns. Reads the result's columns only; draws a matplotlib legend."""
    facets = [f for f in (facets or []) if f in result.columns]
    cells = list(result.groupby(facets, sort=False)) if facets else [((), result)]
    with_mr = mr is not None or "mr" in result.columns
    if with_mr and len(cells) == 1:
        fig, (ax, ax_mr) = _new_pair((7.5, 4.6))
        axes = [ax]
    else:
        with plt.rc_context(RC):
            fig = Figure(figsize=(7.5, 2.6 * len(cells) + 0.6))
            axes = list(np.atleast_1d(fig.subplots(len(cells), 1, squeeze=False)[:, 0]))
        fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.3 / (2.6 * len(cells) + 0.6),
                            bottom=0.55 / (2.6 * len(cells) + 0.6), hspace=0.45)
        ax_mr = None
    with plt.rc_context(RC):
        for ax, (key, cell) in zip(axes, cells):
            cell = cell.reset_index(drop=True)
            if "part" not in cell.columns:
                cell = cell.assign(part=1)
            _draw_spc(ax, cell, chart=chart, improvement_direction=improvement_direction, x="x")
            if "target" in cell.columns and cell["target"].notna().any():
                ax.plot(cell["x"], cell["target"], color=DARK, lw=1, ls=":", label="target")
            name = ", ".join(map(str, key if isinstance(key, tuple) else (key,)))
            ax.set_title(" · ".join(t for t in (title, name) if t), loc="left")
            ax.set_ylabel(ylabel)
            if legend and ax is axes[0]:
                ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        if ax_mr is not None:
            src = result if mr is None else mr.assign(mr=mr["y"], mr_cl=mr["cl"], mr_ucl=mr["ucl"])
            _draw_mr(ax_mr, src.reset_index(drop=True), x="x")
            if legend:
                ax_mr.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if legend:
        fig.subplots_adjust(right=0.74)
    return fig


#: Making Data Count point colours by mdc() point_type.
_MDC_POINT = {"common_cause": ("common_cause", "o", "common cause"),
              "special_cause_improvement": ("improvement", "o", "special cause: improvement"),
              "special_cause_concern": ("concern", "o", "special cause: concern"),
              "special_cause_neutral_high": ("neutral", "o", "special cause: neutral (high)"),
              "special_cause_neutral_low": ("neutral", "o", "special cause: neutral (low)")}


def mdc_figure(result: pd.DataFrame, *, facet_column: str | None = None, title: str = "", ylabel: str = "",
               legend: bool = True) -> Figure:
    """An mdc() result drawn as Making Data Count charts are: the values, the mean, the process
    limits (solid) and the 2-sigma limits (dotted) per rebase group, points coloured by
    ``point_type``, the target (dashed); one panel per facet. Reads the result's columns only."""
    cells = (list(result.groupby(facet_column, sort=False)) if facet_column and facet_column in result.columns
             and result[facet_column].nunique() > 1 else [("", result)])
    height = 2.6 * len(cells) + 0.6
    with plt.rc_context(RC):
        fig = Figure(figsize=(7.5, height))
        axes = list(fig.subplots(len(cells), 1, squeeze=False)[:, 0])
    fig.subplots_adjust(left=0.09, right=0.74 if legend else 0.98, top=1 - 0.3 / height,
                        bottom=0.55 / height, hspace=0.45)
    with plt.rc_context(RC):
        for ax, (key, cell) in zip(axes, cells):
            cell = cell.reset_index(drop=True)
            ax.plot(cell["x"], cell["y"], lw=1.2, color=GREY, zorder=2)
            for k, g in cell.groupby("rebase_group", sort=True):
                first = k == cell["rebase_group"].min()
                ax.plot(g["x"], g["mean"], color=DARK, lw=1.4, label="mean" if first else None)
                ax.plot(g["x"], g["upl"], color="#768692", lw=1, label="process limits" if first else None)
                ax.plot(g["x"], g["lpl"], color="#768692", lw=1)
                ax.plot(g["x"], g["nupl"], color="#768692", lw=0.8, ls=":",
                        label="2-sigma limits" if first else None)
                ax.plot(g["x"], g["nlpl"], color="#768692", lw=0.8, ls=":")
            pt = cell["point_type"].astype(str)
            for kind, (colour, marker, label) in _MDC_POINT.items():
                pts = cell.loc[pt == kind]
                if len(pts):
                    ax.scatter(pts["x"], pts["y"], s=22, marker=marker, color=MDC_COLOURS[colour], zorder=3,
                               label=label)
            if "target" in cell.columns and cell["target"].notna().any():
                ax.plot(cell["x"], cell["target"], color=DARK, lw=1, ls="--", label="target")
            ax.set_title(" · ".join(t for t in (title, str(key)) if t), loc="left")
            ax.set_ylabel(ylabel)
            if legend and ax is axes[0]:
                ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def forest_plot(effects: pd.DataFrame, *, unit: str, title: str, alt: str) -> plt.Figure:
    """Effects by category as points with interval bars (columns category, abs_change, abs_low,
    abs_high, separable); categories that cannot be separated are listed, not plotted."""
    est = effects.loc[effects["separable"].astype(bool) & effects["abs_change"].notna()]
    fig, ax = new_figure((7.5, 0.55 * max(len(effects), 2) + 1.2), left=0.3, bottom_in=0.55)
    with plt.rc_context(RC):
        y = np.arange(len(effects))[::-1]
        labels = []
        for yi, row in zip(y, effects.itertuples(index=False)):
            ok = bool(row.separable) and pd.notna(row.abs_change)
            labels.append(row.category if ok else f"{row.category} (cannot be separated)")
            if ok:
                colour = category_colour(str(row.category).split(":")[0])
                ax.errorbar(row.abs_change, yi, xerr=[[row.abs_change - row.abs_low], [row.abs_high - row.abs_change]],
                            fmt="s", color=colour, ms=6, capsize=3, lw=1.5)
        ax.axvline(0, color=GREY, lw=1)
        ax.set_yticks(y, labels)
        ax.set_xlabel(f"change associated with the category ({unit}), 95% CI")
        ax.set_title(title, loc="left")
        if est.empty:
            ax.text(0.5, 0.5, "no category could be estimated separately", transform=ax.transAxes,
                    ha="center", va="center", color=DARK)
        _fix_ticks(ax.xaxis, mticker.MaxNLocator(nbins=6))
    fig.qieval_alt = alt
    return fig


def counterfactual_chart(cf: pd.DataFrame, *, scale: float, ylabel: str, title: str, alt: str,
                         cycles: pd.DataFrame) -> plt.Figure:
    """Observed, fitted and counterfactual ('no change') series with the counterfactual's interval
    (columns period, observed, fitted, counterfactual, counterfactual_low, counterfactual_high)."""
    fig, ax = new_figure()
    with plt.rc_context(RC):
        ax.fill_between(cf["period"], cf["counterfactual_low"] * scale, cf["counterfactual_high"] * scale,
                        color="#E46C0A", alpha=0.15, lw=0, label="counterfactual 95% CI")
        ax.plot(cf["period"], cf["counterfactual"] * scale, color="#E46C0A", ls="--", lw=1.5,
                label="counterfactual (no changes)")
        ax.plot(cf["period"], cf["fitted"] * scale, color=NHS_BLUE, lw=1.5, label="model")
        ax.scatter(cf["period"], cf["observed"] * scale, s=14, color=DARK, zorder=3, label="observed")
        _finish_time_axes(ax, cycles=cycles, title=title, ylabel=ylabel)
    fig.qieval_alt = alt
    return fig


def event_time_chart(effects: pd.DataFrame, category: str, *, ratio: bool, ylabel: str, title: str,
                     alt: str) -> plt.Figure:
    """The effect of ``category`` by month since its start (rows ``<category>:month_<h>`` of
    ``Attribution.effects``: horizon, estimate or ratio with their interval, comparison_sites), with
    the headline average as a line. Months when no site was without the category (nothing to compare
    with at that time: the estimate rests on the other months) are drawn hollow and grey."""
    rows = effects.loc[effects["category"].astype(str).str.startswith(f"{category}:month_")]
    head = effects.loc[effects["category"] == category]
    cols = ("ratio", "ratio_low", "ratio_high") if ratio else ("estimate", "estimate_low", "estimate_high")
    fig, ax = new_figure()
    with plt.rc_context(RC):
        colour = category_colour(category)
        h = rows["horizon"].to_numpy(float)
        est, lo, hi = (rows[c].to_numpy(float) for c in cols)
        compared = rows["comparison_sites"].to_numpy(float) > 0
        for mask, face, edge, label in ((compared, colour, colour, "compared with sites not yet started"),
                                        (~compared, "white", GREY, "no site without it at that time")):
            if mask.any():
                ax.errorbar(h[mask], est[mask], yerr=[est[mask] - lo[mask], hi[mask] - est[mask]], fmt="o",
                            ms=4.5, mfc=face, mec=edge, color=edge, capsize=2, lw=1, label=label)
        ax.axhline(1.0 if ratio else 0.0, color=GREY, lw=1)
        if len(head) and np.isfinite(float(head[cols[0]].iloc[0])):
            ax.axhline(float(head[cols[0]].iloc[0]), color=colour, ls="--", lw=1.2,
                       label="average over the months after the start")
        if ratio:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(mticker.LogLocator(base=10, subs=(0.1, 0.2, 0.3, 0.5, 0.7, 1.0)))
            ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(mticker.NullFormatter())
        ax.set_xlabel("months since the start at each site")
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        _fix_ticks(ax.xaxis, mticker.MaxNLocator(nbins=12, integer=True))
        html_legend(ax)
    fig.qieval_alt = alt
    return fig


#: Funnel plots name every site up to this many sites, beyond it only those outside the 3σ limits.
FUNNEL_LABEL_ALL = 12


LABEL_POINTS = 7  # font size of point labels
_GAP = 4  # points between a marker and its label


def _text_width(text: str, size: float = LABEL_POINTS) -> float:
    """Width of ``text`` in points at ``size`` (measured from the font's glyphs, no renderer)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    with plt.rc_context(RC):
        width, _, _ = TextToPath().get_text_width_height_descent(text, FontProperties(size=size), ismath=False)
    return float(width)


def _fitted_label(fig, ax, text: str, x: float, y: float) -> None:
    """Name a point beside it, on whichever side the whole label fits inside the figure (right
    first); a label too long for either side is shortened with "…" to fit the wider side, so a
    name is never cut off at the figure's edge ("King's C")."""
    px = float(ax.transData.transform((x, y))[0]) * 72 / fig.dpi  # points from the figure's left
    width_pt = fig.get_figwidth() * 72
    right_room, left_room = width_pt - px - _GAP - 2, px - _GAP - 2
    label = text
    if _text_width(label) > max(right_room, left_room):
        room = max(right_room, left_room)
        while len(label) > 1 and _text_width(label + "…") > room:
            label = label[:-1]
        label = label.rstrip() + "…"
    right = _text_width(label) <= right_room
    ax.annotate(label, (x, y), xytext=(_GAP if right else -_GAP, 3), textcoords="offset points",
                ha="left" if right else "right", fontsize=LABEL_POINTS, annotation_clip=True)


def funnel_plot(result: pd.DataFrame, *, title: str, ylabel: str, alt: str) -> plt.Figure:
    """Funnel plot from a categorical qic() result (x = site, n = denominator): each site's value
    against its denominator with the 95% and 99.8% (3σ) limits around the network centre line.
    Sites are named beside their points when there are at most :data:`FUNNEL_LABEL_ALL`, otherwise
    only those outside the 3σ limits (labels kept inside the axes)."""
    r = result.sort_values("n")
    fig, ax = new_figure((7.5, 2.8), bottom_in=0.6)
    with plt.rc_context(RC):
        ax.plot(r["n"], r["cl"], color=DARK, lw=1.2, label="network centre line")
        ax.plot(r["n"], r["ucl"], color="#768692", lw=1, label="3σ limits")
        ax.plot(r["n"], r["lcl"], color="#768692", lw=1)
        ax.plot(r["n"], r["ucl_95"], color="#768692", lw=1, ls=":", label="2σ limits")
        ax.plot(r["n"], r["lcl_95"], color="#768692", lw=1, ls=":")
        out = r["sigma_signal"].astype(bool)
        ax.scatter(r.loc[~out, "n"], r.loc[~out, "y"], color=MDC_COLOURS["common_cause"], s=28, zorder=3,
                   label="within limits")
        ax.scatter(r.loc[out, "n"], r.loc[out, "y"], color=MDC_COLOURS["concern"], marker="D", s=32,
                   zorder=3, label="outside 3σ limits")
        labelled = r if len(r) <= FUNNEL_LABEL_ALL else r.loc[out]  # many sites: name the outliers only
        if len(labelled):
            ax.autoscale_view()  # the data limits, so each point's place in the figure is known
            for row in labelled.itertuples(index=False):
                _fitted_label(fig, ax, str(row.x), float(row.n), float(row.y))
        ax.set_xlabel("denominator")
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        html_legend(ax)  # no fixed ticks: a threshold line may still be added (accreditation)
    fig.qieval_alt = alt
    return fig


def figure_svg(fig: plt.Figure) -> str:
    """The figure as deterministic SVG text (no date, fixed ids), then closed."""
    buf = io.StringIO()
    with plt.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def figure_html(fig: plt.Figure, alt: str | None = None, caption: str | None = None) -> str:
    """``<figure>`` with the chart as an inline data-URI image that carries its alt text, then the
    chart's legend as an HTML list (:func:`html_legend`) and the caption."""
    from html import escape

    alt = alt or getattr(fig, "qieval_alt", "")
    legend = legend_html(fig)  # read before figure_svg closes the figure
    data = base64.b64encode(figure_svg(fig).encode("utf-8")).decode("ascii")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{escape(alt)}" '
            f'role="img" style="max-width:100%">{legend}{cap}</figure>')


# ---- legends in HTML ------------------------------------------------------------------------------

def html_legend(ax) -> None:
    """Show ``ax``'s legend as an HTML list under the image instead of inside the SVG.

    The entries (``ax.get_legend_handles_labels()``) are read when the figure is rendered, so lines
    added later (e.g. an accreditation threshold) are included. Why: a matplotlib legend is laid out
    with nested offset boxes and cost about 12% of a site report's CPU (cProfile over 4 sites,
    37 charts); an HTML legend costs almost nothing, reflows on narrow screens, and is read as a list
    by screen readers. Each entry keeps its symbol as a tiny inline SVG drawn from the handle's own
    colour, line style and marker (``aria-hidden``: the label carries the meaning)."""
    ax.figure.qieval_legend_axes = ax


def legend_entries(fig) -> list[tuple[str, str]]:
    """``(label, symbol_svg)`` for each entry of the figure's HTML legend (empty without one)."""
    ax = getattr(fig, "qieval_legend_axes", None)
    if ax is None:
        return []
    handles, labels = ax.get_legend_handles_labels()
    return [(label, _symbol_svg(h)) for h, label in zip(handles, labels)]


def legend_html(fig) -> str:
    """The HTML legend of a figure (``''`` without one)."""
    from html import escape

    entries = legend_entries(fig)
    if not entries:
        return ""
    return ('<ul class="legend" aria-label="Legend">'
            + "".join(f"<li>{svg}{escape(label)}</li>" for label, svg in entries) + "</ul>")


_SYMBOL_W, _SYMBOL_H = 26, 12  # px
_PX_PER_PT = 96 / 72  # CSS pixels per point: line widths and marker sizes are in points


def _hex(colour, alpha: float | None = None) -> tuple[str, float]:
    from matplotlib.colors import to_hex, to_rgba

    r, g, b, a = to_rgba(colour, alpha)
    return to_hex((r, g, b)), round(a, 3)


def _dasharray(linestyle, linewidth: float) -> str:
    """SVG dash array of a matplotlib line style: a name ('--', ':', '-.') or an
    ``(offset, dashes)`` tuple as collections store it (already scaled by the line width)."""
    if isinstance(linestyle, tuple):
        dashes = linestyle[1]
    else:
        name = {"--": "dashed", ":": "dotted", "-.": "dashdot", "dashed": "dashed", "dotted": "dotted",
                "dashdot": "dashdot"}.get(linestyle)
        if name is None:
            return ""
        dashes = matplotlib.rcParams[f"lines.{name}_pattern"]
        if matplotlib.rcParams["lines.scale_dashes"]:
            dashes = [d * linewidth for d in dashes]
    return ",".join(f"{d * _PX_PER_PT:.3g}" for d in dashes) if dashes else ""


def _line_svg(colour, alpha, linewidth: float, linestyle) -> str:
    if linestyle in ("None", "none", "", " ", None) or linewidth <= 0:
        return ""
    c, a = _hex(colour, alpha)
    dash = _dasharray(linestyle, linewidth)
    mid = _SYMBOL_H / 2
    return (f'<line x1="1" y1="{mid:g}" x2="{_SYMBOL_W - 1}" y2="{mid:g}" stroke="{c}" '
            f'stroke-width="{linewidth * _PX_PER_PT:.2g}"' + (f' stroke-opacity="{a:g}"' if a < 1 else "")
            + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")


def _marker_svg(path, size: float, facecolour, edgecolour=None) -> str:
    """A marker path (matplotlib's unit marker, y up) centred in the symbol, ``size`` points across."""
    from matplotlib.path import Path as MPath

    commands = {MPath.MOVETO: "M", MPath.LINETO: "L", MPath.CURVE3: "Q", MPath.CURVE4: "C",
                MPath.CLOSEPOLY: "Z"}
    cx, cy = _SYMBOL_W / 2, _SYMBOL_H / 2
    size *= _PX_PER_PT
    d = []
    for vertices, code in path.iter_segments(simplify=False, curves=True):
        if code == MPath.CLOSEPOLY:
            d.append("Z")
            continue
        pts = np.asarray(vertices, dtype=float).reshape(-1, 2)
        d.append(commands[code] + " ".join(f"{cx + x * size:.2f} {cy - y * size:.2f}" for x, y in pts))
    fc, fa = _hex(facecolour)
    out = f'<path d="{"".join(d)}" fill="{fc}"' + (f' fill-opacity="{fa:g}"' if fa < 1 else "")
    if edgecolour is not None:
        out += f' stroke="{_hex(edgecolour)[0]}" stroke-width="0.8"'
    return out + "/>"


def _symbol_svg(handle) -> str:
    """The legend symbol of one handle as a small inline SVG (lines, line collections, scatter
    markers, shaded spans and bands)."""
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.markers import MarkerStyle
    from matplotlib.patches import Patch

    body = ""
    if isinstance(handle, Line2D):
        body = _line_svg(handle.get_color(), handle.get_alpha(), handle.get_linewidth(), handle.get_linestyle())
        marker = handle.get_marker()
        if marker not in (None, "None", "none", "", " "):
            style = MarkerStyle(marker)
            body += _marker_svg(style.get_path().transformed(style.get_transform()), handle.get_markersize(),
                                handle.get_markerfacecolor())
    elif isinstance(handle, LineCollection):
        body = _line_svg(handle.get_colors()[0], handle.get_alpha(), float(handle.get_linewidths()[0]),
                         handle.get_linestyles()[0])
    elif isinstance(handle, PathCollection):
        size = float(np.sqrt(handle.get_sizes()[0])) if len(handle.get_sizes()) else 6.0
        faces, edges = handle.get_facecolors(), handle.get_edgecolors()
        body = (_marker_svg(handle.get_paths()[0], size, faces[0]) if len(faces)
                else _marker_svg(handle.get_paths()[0], size, "none", edges[0] if len(edges) else DARK))  # a ring
    elif isinstance(handle, (Patch, PolyCollection)):
        face = handle.get_facecolor() if isinstance(handle, Patch) else handle.get_facecolors()[0]
        c, a = _hex(face)
        body = (f'<rect x="1" y="1" width="{_SYMBOL_W - 2}" height="{_SYMBOL_H - 2}" fill="{c}"'
                + (f' fill-opacity="{a:g}"' if a < 1 else "") + "/>")
    return (f'<svg width="{_SYMBOL_W}" height="{_SYMBOL_H}" viewBox="0 0 {_SYMBOL_W} {_SYMBOL_H}" '
            f'aria-hidden="true" focusable="false">{body}</svg>')
