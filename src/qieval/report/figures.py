"""Figures (matplotlib/seaborn) drawn from computed results; no statistics are computed here.

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
    "figure.dpi": 100,
}


def category_colour(category: str) -> str:
    return CATEGORY_COLOURS.get(category, GREY)


def _new(figsize=(7.5, 3.6), *, left: float = 0.09, bottom_in: float = 1.25):
    """A figure with fixed margins (``bottom_in`` inches below the axes for the legend).

    Fixed margins instead of constrained layout: layout solving drew every figure twice and cost
    about half the rendering time of a site report (measured with cProfile)."""
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=figsize)
    fig.subplots_adjust(left=left, right=0.98, top=1 - 0.3 / figsize[1], bottom=bottom_in / figsize[1])
    return fig, ax


def _finish_time_axes(ax, *, cycles: pd.DataFrame, title: str, ylabel: str,
                      target: float | None = None, reference: tuple[float, str] | None = None,
                      shade: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> None:
    """Shared decoration of charts over time: target/reference lines, baseline shading, PDSA
    cycle markers, title, axis labels, month ticks and a legend below the axes."""
    if target is not None:
        ax.axhline(target, color=DARK, lw=1, ls=":", label=f"target {target:g}")
    if reference is not None:
        ax.axhline(reference[0], color="#768692", lw=1, ls="-.", label=reference[1])
    if shade is not None:
        ax.axvspan(shade[0], shade[1], color="#E8EDEE", zorder=0, lw=0, label="baseline")
    _mark_cycles(ax, cycles)
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)


def _mark_cycles(ax, cycles: pd.DataFrame) -> None:
    """Vertical lines at PDSA cycle starts, coloured and labelled by category."""
    seen = set()
    for i, c in enumerate(cycles.sort_values("start").itertuples(index=False)):
        colour = category_colour(c.category)
        ax.axvline(c.start, color=colour, lw=1, ls="--", alpha=0.8,
                   label=f"PDSA: {c.category}" if c.category not in seen else None)
        seen.add(c.category)
        ax.annotate(c.cycle_id.replace("PDSA-", "C"), (c.start, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(1, -2 - 8 * (i % 3)), textcoords="offset points", fontsize=6.5, color=colour,
                    va="top")


#: Making Data Count point colours (NHSRplotthedots ptd_spc_colours; colour-blind safe pairings
#: with marker shapes: improvement ▲/▼, concern ◆, common cause ●).
MDC_COLOURS = {"common_cause": "#7B7D7D", "improvement": "#0072B2", "concern": "#E46C0A",
               "neutral": "#490092"}


def spc_chart(result: pd.DataFrame, *, chart: str, improvement_direction: str, cycles: pd.DataFrame,
              title: str, ylabel: str, alt: str, target: float | None = None,
              reference: tuple[float, str] | None = None, baseline_end: pd.Timestamp | None = None,
              gaps: list | None = None) -> plt.Figure:
    """Run or control chart drawn from a computed qic() result (columns period, y, cl, lcl, ucl,
    part, sigma_signal, runs_signal). Limits are drawn per part as steps; 3-sigma signals are
    coloured improvement (blue ▲) or concern (orange ◆) by the improvement direction; a runs
    signal makes that part's centre line dashed orange, as in qicharts2."""
    fig, ax = _new()
    sign = {"increase": 1, "decrease": -1}.get(improvement_direction, 0)
    with plt.rc_context(RC):
        ax.plot(result["period"], result["y"], lw=1.2, color=GREY, zorder=2)
        for part, g in result.groupby("part", sort=True):
            runs = bool(g["runs_signal"].any())
            ax.step(g["period"], g["cl"], where="mid", lw=1.4 if not runs else 1.8,
                    color=MDC_COLOURS["concern"] if runs else DARK, ls="--" if runs else "-",
                    label=("centre line (runs signal)" if runs else "centre line") if part == 1 else None)
            if chart != "run":
                for col in ("ucl", "lcl"):
                    ax.step(g["period"], g[col], where="mid", lw=1, color="#768692", ls="-",
                            label="control limits (3σ)" if part == 1 and col == "ucl" else None)
        signal = result["sigma_signal"].fillna(False).astype(bool) & result["y"].notna()
        high = result["y"] > result["cl"]
        better = (high & (sign > 0)) | (~high & (sign < 0))
        common = result.loc[~signal & result["y"].notna()]
        ax.scatter(common["period"], common["y"], s=16, color=MDC_COLOURS["common_cause"], zorder=3,
                   label="common cause")
        if sign == 0:
            neut = result.loc[signal]
            ax.scatter(neut["period"], neut["y"], s=26, marker="o", color=MDC_COLOURS["neutral"],
                       zorder=4, label="special cause")
        else:
            imp = result.loc[signal & better]
            con = result.loc[signal & ~better]
            if len(imp):
                ax.scatter(imp["period"], imp["y"], s=30, marker="^" if sign > 0 else "v",
                           color=MDC_COLOURS["improvement"], zorder=4, label="special cause: improvement")
            if len(con):
                ax.scatter(con["period"], con["y"], s=30, marker="D", color=MDC_COLOURS["concern"],
                           zorder=4, label="special cause: concern")
        for p in gaps or []:
            ax.axvspan(p - pd.Timedelta(days=14), p + pd.Timedelta(days=14), color="#FFB81C", alpha=0.3, lw=0)
        if gaps:
            ax.plot([], [], color="#FFB81C", alpha=0.5, lw=6, label="missing period (not joined)")
        shade = (result["period"].min(), baseline_end) if baseline_end is not None else None
        _finish_time_axes(ax, cycles=cycles, title=title, ylabel=ylabel, target=target,
                          reference=reference, shade=shade)
    fig.qieval_alt = alt
    return fig


def forest_plot(effects: pd.DataFrame, *, unit: str, title: str, alt: str) -> plt.Figure:
    """Effects by category as points with interval bars (columns category, abs_change, abs_low,
    abs_high, separable); categories that cannot be separated are listed, not plotted."""
    est = effects.loc[effects["separable"].astype(bool) & effects["abs_change"].notna()]
    fig, ax = _new((7.5, 0.55 * max(len(effects), 2) + 1.2), left=0.3, bottom_in=0.55)
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
    fig.qieval_alt = alt
    return fig


def counterfactual_chart(cf: pd.DataFrame, *, scale: float, ylabel: str, title: str, alt: str,
                         cycles: pd.DataFrame) -> plt.Figure:
    """Observed, fitted and counterfactual ('no change') series with the counterfactual's interval
    (columns period, observed, fitted, counterfactual, counterfactual_low, counterfactual_high)."""
    fig, ax = _new()
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


def funnel_plot(result: pd.DataFrame, *, title: str, ylabel: str, alt: str) -> plt.Figure:
    """Funnel plot from a categorical qic() result (x = site, n = denominator): each site's value
    against its denominator with the 95% and 99.8% (3σ) limits around the network centre line."""
    r = result.sort_values("n")
    fig, ax = _new((7.5, 3.4))
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
        for row in r.itertuples(index=False):
            ax.annotate(str(row.x), (row.n, row.y), xytext=(4, 3), textcoords="offset points", fontsize=7)
        ax.set_xlabel("denominator")
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)
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
    """``<figure>`` with the chart as an inline data-URI image that carries its alt text."""
    from html import escape

    alt = alt or getattr(fig, "qieval_alt", "")
    data = base64.b64encode(figure_svg(fig).encode("utf-8")).decode("ascii")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{escape(alt)}" '
            f'role="img" style="max-width:100%">{cap}</figure>')
