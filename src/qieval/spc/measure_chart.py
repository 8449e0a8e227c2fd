"""The SPC analysis of one measure at one site (or the network): choose the chart, place the
phases, run :func:`qic`, classify every point and read the Making Data Count icons off that same
chart, and say in words what it shows. No plotting.

One analysis per measure: the chart shown, its point colours, the findings, the variation and
assurance icons and ``last_point`` all come from one :func:`qic` result (the icons apply the MDC
rules to that chart's own limits: :mod:`qieval.spc.signals`), so nothing beside a chart can
contradict it.

Chart choice (NHS England "Making Data Count"; Provost & Murray, *The Health Care Data Guide*,
2011, ch. 5–6; Laney 2002 for p′/u′; Wheeler for XmR charts of counts):

- fewer than :data:`MIN_BASELINE_POINTS` useful baseline points → run chart (median, Anhøj rules);
- a baseline with no events at all (centre line 0) gives zero-width limits, so a run chart;
- continuous → XmR (I chart, with its moving-range chart);
- percent → p chart, or Laney p′ when the baseline is over-dispersed; rate → u, or u′;
- count → c chart, or an XmR (I) chart when the baseline is over-dispersed (a c chart's ±3√c̄
  limits are far too narrow for counts in the thousands);
- over-dispersed = Pearson's dispersion test rejects the binomial/Poisson model at 5% *and*
  Laney's σz > 1 (:mod:`qieval.spc.dispersion`); the reason says so with the figures;
- ``chart:`` in the params overrides the choice; an over-dispersed p, u or c chart chosen there is
  flagged in the reason.

Phases: limits are frozen on the baseline (qicharts2 ``freeze``); a measure may ask for limits to
be recalculated at given months or at the first PDSA cycle of a category (``recalculate_at``) —
each later phase then gets its own limits, while the first phase keeps the baseline freeze (the
references cannot combine freeze with parts). A recalculation is only ever *suggested* from the
data, never made automatically.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import Measure
from .dispersion import Dispersion, dispersion
from .qic import QicOptions, qic, qic_columns
from .signals import assurance_icon, last_point_state, point_types, variation_icon

MIN_BASELINE_POINTS = 12
LANEY_MIN_DENOMINATOR = 1000  # site comparison (funnel) only

#: Display names of the chart types (``chart:`` values).
CHART_NAMES = {"run": "run", "p": "p", "pp": "Laney p′", "u": "u", "up": "Laney u′", "c": "c",
               "i": "XmR (I)"}

#: Words for ``last_point`` (the state of the latest point on the chart shown).
LAST_POINT_WORDS = {"common_cause": "common-cause variation", "improvement": "special cause: improvement",
                    "concern": "special cause: concern", "neutral": "special cause (no direction is better)"}


@dataclass
class MeasureSPC:
    """Computed SPC result for one series: one chart, and everything said about it.

    ``result``: qic() columns plus ``period``, ``phase_start`` (True at the first point of a
    recalculated phase), ``special_cause`` (the MDC rule a point meets, ``"Common Cause"``, or
    ``""`` without a value) and ``point_type`` (``common_cause``, ``special_cause_improvement`` …);
    an XmR chart also carries its moving ranges (``mr``, ``mr_cl``, ``mr_ucl``). ``variation`` and
    ``assurance`` are the MDC icons of that chart's latest point and limits; ``last_point`` is
    ``improvement``, ``concern``, ``neutral`` or ``common_cause``. ``dispersion``: the baseline's
    over-dispersion figures for p, u and c data (None otherwise). ``mdc`` is kept for callers of
    the former separate XmR analysis and is always None.
    """

    measure_id: str
    chart: str
    reason: str
    result: pd.DataFrame
    mdc: pd.DataFrame | None
    variation: str = ""
    assurance: str = ""
    gaps: list[pd.Timestamp] = field(default_factory=list)
    phase_starts: list[pd.Timestamp] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    suggestion: str = ""
    last_point: str = ""
    dispersion: Dispersion | None = None


def recalculation_months(measure: Measure, cycles: pd.DataFrame) -> list[pd.Timestamp]:
    """Months at which the measure's params ask for limits to be recalculated."""
    out = []
    for item in measure.recalculate_at or []:
        if isinstance(item, dict):
            starts = cycles.loc[cycles["category"] == item["first_cycle"], "start"]
            if len(starts):
                out.append(starts.min().to_period("M").to_timestamp())
        else:
            out.append(pd.Timestamp(str(item)[:7] + "-01"))
    return sorted(set(out))


def choose_chart(measure: Measure, series: pd.DataFrame) -> tuple[str, str]:
    """Chart type and the reason in words (see module docstring)."""
    chart, reason, _ = _choose_chart(measure, series, series["phase"].to_numpy() == "baseline")
    return chart, reason


_KIND = {"percent": "p", "rate": "u", "count": "c"}
_OVER = {"p": "pp", "u": "up", "c": "i"}


def _dispersion(measure: Measure, series: pd.DataFrame, base: np.ndarray) -> Dispersion | None:
    """Over-dispersion figures of the baseline points with a value (None for continuous data or
    fewer than 3 points)."""
    kind = _KIND.get(measure.unit)
    if kind is None or int(base.sum()) < 3:
        return None
    num = series["numerator"].to_numpy(dtype=float)[base]
    den = series["denominator"].to_numpy(dtype=float)[base] if kind != "c" else None
    d = dispersion(num, den, kind)
    return d if d.df > 0 and np.isfinite(d.sigma_z) else None


def _choose_chart(measure: Measure, series: pd.DataFrame, baseline: np.ndarray
                  ) -> tuple[str, str, Dispersion | None]:
    """:func:`choose_chart` given the rows of the baseline phase (a boolean array), with the
    baseline's over-dispersion figures."""
    base = baseline & series["value"].notna().to_numpy()  # baseline points with a value
    n_base = int(base.sum())
    disp = _dispersion(measure, series, base)
    if measure.chart:
        reason = f"{CHART_NAMES[measure.chart]} chart set in the params (chart: {measure.chart})"
        if disp is not None and disp.over and measure.chart in ("p", "u", "c"):
            reason += (f". Caution: the baseline is over-dispersed ({disp.sentence()}), so this chart's "
                       f"limits are too narrow and points outside them may be common-cause variation; "
                       f"{CHART_NAMES[_OVER[measure.chart]]} would suit the data")
        return measure.chart, reason, disp
    if n_base < MIN_BASELINE_POINTS:
        return "run", (f"run chart: {n_base} baseline points, fewer than the "
                       f"{MIN_BASELINE_POINTS} needed for control limits"), disp
    if measure.unit in ("percent", "rate", "count") and _masked_sum(series["numerator"], base) == 0:
        return "run", "run chart: no events in the baseline, so control limits would have zero width", disp
    if measure.unit == "continuous":
        return "i", "XmR chart (I chart with its moving-range chart) for a continuous measure", None
    kind = _KIND[measure.unit]
    if disp is not None and disp.over:
        chart = _OVER[kind]
        why = {"p": "a p chart's binomial limits would be too narrow, so Laney's p′ chart widens them by σz",
               "u": "a u chart's Poisson limits would be too narrow, so Laney's u′ chart widens them by σz",
               "c": ("a c chart's Poisson limits (±3√c̄) would be far too narrow, so an XmR (I) chart "
                     "takes its limits from the moving ranges")}[kind]
        return chart, f"{CHART_NAMES[chart]} chart: the baseline is over-dispersed ({disp.sentence()}): {why}", disp
    words = {"p": "p chart for a proportion", "u": "u chart for a rate", "c": "c chart for counts per period"}[kind]
    if disp is None:
        return kind, words, None
    return kind, f"{words}: no over-dispersion in the baseline ({disp.sentence()})", disp


def _masked_sum(column: pd.Series, mask: np.ndarray):
    """``column[mask].sum()`` (missing values skipped), without pandas overhead for floats."""
    if isinstance(column.dtype, np.dtype) and column.dtype == np.float64:
        return np.nansum(column.to_numpy()[mask])  # what pandas' float sum does: NaN -> 0, np.sum
    return column[mask].sum()


def _sorted_by_period(series: pd.DataFrame) -> pd.DataFrame:
    """The series in period order: as it is when the periods already strictly increase (as
    :func:`~qieval.measures.series.measure_series` makes them), else sorted with a fresh index."""
    p = series["period"].to_numpy()
    if p.dtype.kind == "M" and (len(p) < 2 or bool((p[1:] > p[:-1]).all())):
        return series  # NaT compares False, so any missing period takes the general path
    return series.sort_values("period").reset_index(drop=True)


def _qic_phases(series: pd.DataFrame, measure: Measure, chart: str, n_base: int,
                starts: list[pd.Timestamp]) -> pd.DataFrame:
    """qic() on the first phase with the baseline frozen, then each recalculated phase alone."""
    y, n = ("value", None) if measure.unit in ("continuous", "count") else ("numerator", "denominator")
    if measure.unit == "count":
        y = "numerator"
    mult = measure.multiplier if measure.unit in ("percent", "rate") else 1
    period = series["period"]
    first = period.min()
    edges = [first, *[s for s in starts if s > first], None]
    if len(edges) == 2 and len(series) and not period.isna().any():
        chunks = [series]  # one phase holding every row
    else:
        chunks = []
        for k in range(len(edges) - 1):
            sel = period >= edges[k]
            if edges[k + 1] is not None:
                sel &= period < edges[k + 1]
            chunks.append(series.loc[sel])
    frames = []
    for k, chunk in enumerate(chunks):
        if chunk.empty:
            continue
        freeze = n_base if k == 0 and 0 < n_base < len(chunk) else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cols = qic_columns(chunk, "period", y, n, QicOptions(  # qic() before it becomes a frame
                chart=chart, freeze=freeze, multiply=mult, target=measure.target))
            if chart == "i":  # the moving-range chart drawn under every I chart (qicharts2 users expect it)
                mr = qic_columns(chunk, "period", y, n, QicOptions(chart="mr", freeze=freeze, multiply=mult))
        n_points = len(cols["x"])
        if chart == "i":
            cols["mr"], cols["mr_cl"], cols["mr_ucl"] = mr["y"], mr["cl"], mr["ucl"]
        cols["part"] = np.full(n_points, k + 1, dtype=np.int64)
        cols["phase_start"] = np.arange(n_points) == 0
        cols["period"] = cols["x"]
        frames.append(pd.DataFrame(cols))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _findings(r: pd.DataFrame, measure: Measure, chart: str, last_point: str) -> list[str]:
    """Plain sentences on what the chart shows: runs signals per phase (Anhøj), special-cause
    points by the Making Data Count rules, and the state of the latest point (as the icon)."""
    out = []
    sign = {"increase": 1, "decrease": -1}.get(measure.improvement_direction, 0)
    col = {c: r[c].to_numpy() for c in ("part", "runs_signal", "longest_run", "longest_run_max",
                                        "n_crossings", "n_crossings_min", "sigma_signal", "y", "cl",
                                        "point_type", "special_cause")}
    parts = np.unique(col["part"])
    for part in parts:
        rows = col["part"] == part
        label = ("the series (centre line from the baseline)" if len(parts) == 1
                 else "phase 1 (centre line from the baseline)" if part == 1 else f"phase {part}")
        label = label if label.startswith("the ") else f"the {label}"
        if col["runs_signal"][rows].any():
            at = np.flatnonzero(rows)[0]  # part-level figures repeat on every point of the part
            out.append(f"Non-random variation in {label}: longest run {int(col['longest_run'][at])} "
                       f"(signal above {int(col['longest_run_max'][at])}) or crossings "
                       f"{int(col['n_crossings'][at])} (signal below {int(col['n_crossings_min'][at])}), "
                       "Anhøj rules: a shift in the process.")
        words = []
        if chart != "run":
            sig = rows & col["sigma_signal"]
            if sig.any():
                with np.errstate(invalid="ignore"):
                    above = int((col["y"][sig] > col["cl"][sig]).sum())
                below = int(sig.sum()) - above
                for k, side, better in ((above, "above the upper", sign > 0), (below, "below the lower", sign < 0)):
                    if k:
                        kind = "" if sign == 0 else (" (improvement)" if better else " (concern)")
                        words.append(f"{k} point(s) {side} limit{kind}")
        other = rows & (col["special_cause"] != "") & (col["special_cause"] != "Common Cause") & ~col["sigma_signal"]
        if other.any():
            rules = sorted({_rule_words(t) for t in col["special_cause"][other]})
            words.append(f"{int(other.sum())} point(s) in {' or '.join(rules)}")
        if words:
            out.append(f"In {label}: " + "; ".join(words) + " (special causes, Making Data Count rules).")
    if not out:
        out.append("Common-cause variation only: no signal of a change by the Anhøj or Making Data Count rules.")
    ok = ~pd.isna(col["y"]) if col["y"].dtype == object else ~np.isnan(col["y"].astype(float))
    if ok.any() and last_point:
        at = np.flatnonzero(ok)[-1]
        rule = "" if last_point == "common_cause" else f" ({_rule_words(col['special_cause'][at])})"
        out.append(f"Latest point, {pd.Timestamp(r['period'].iloc[at]):%b %Y}: "
                   f"{LAST_POINT_WORDS[last_point]}{rule}; the variation icon shows this point.")
    return out


def _rule_words(label: str) -> str:
    """The MDC rule behind a special-cause label, in words."""
    if label.startswith("Above") or label.startswith("Below"):
        return "outside the control limits"
    if label.startswith("7 Point Trend"):
        return "a run of 7 rising or falling points"
    if label.startswith("2 in 3"):
        return "two of three points beyond a 2-sigma limit"
    if label.startswith("7 Points"):
        return "a run of 7 points on one side of the centre line"
    return label


def measure_spc(series: pd.DataFrame, measure: Measure, cycles: pd.DataFrame) -> MeasureSPC:
    """Full SPC analysis of one site's (or the network's) series of one measure.

    ``series``: columns period, numerator, denominator, value (in the measure's unit), phase — as
    made by :func:`qieval.measures.series.measure_series` (missing periods present as NaN rows).
    """
    series = _sorted_by_period(series)
    phase = series["phase"].to_numpy()
    baseline = phase == "baseline"
    chart, reason, disp = _choose_chart(measure, series, baseline)
    starts = recalculation_months(measure, cycles)
    result = _qic_phases(series, measure, chart, int(baseline.sum()), starts)
    labels, types = point_types(result, measure.improvement_direction)
    result["special_cause"] = labels
    result["point_type"] = types
    last_type, last_point = last_point_state(types)
    variation = variation_icon(last_type, measure.improvement_direction)
    assurance = assurance_icon(result, measure.target, measure.improvement_direction)
    missing = series["value"].isna().to_numpy()
    gaps = list(series.loc[missing, "period"]) if missing.any() else []
    out = MeasureSPC(measure.id, chart, reason, result, None, variation, assurance, gaps,
                     [s for s in starts if s > series["period"].min()],
                     _findings(result, measure, chart, last_point), last_point=last_point, dispersion=disp)
    n_intervention = int((phase == "intervention").sum()) if len(result) == len(series) else len(result)
    if not starts and result["runs_signal"].to_numpy()[result["part"].to_numpy() == 1].any() and n_intervention:
        first_cycle = cycles["start"].min() if len(cycles) else None
        when = f" from {first_cycle:%b %Y} (the first PDSA cycle)" if first_cycle is not None else ""
        out.suggestion = (f"The process appears to have shifted. If the change is to be kept, consider "
                          f"recalculating the limits{when}: add recalculate_at to this measure in the params. "
                          "qieval never recalculates limits automatically.")
    if gaps:
        out.findings.append(f"{len(gaps)} missing period(s) ({', '.join(f'{g:%b %Y}' for g in gaps)}) are "
                            "shown as breaks; lines are not joined across them.")
    return out


def icon_summary(results: list[tuple[str, Measure, MeasureSPC]]) -> pd.DataFrame:
    """Tidy table of many series: site_id, measure_id, title, chart, variation, assurance,
    latest_period, latest_value, target (for the icon matrix boards read)."""
    rows = []
    for site_id, m, spc in results:
        ok = spc.result.dropna(subset=["y"])
        rows.append({
            "site_id": site_id, "measure_id": m.id, "title": m.title, "chart": spc.chart,
            "variation": spc.variation, "assurance": spc.assurance, "last_point": spc.last_point,
            "latest_period": ok["period"].iloc[-1] if len(ok) else pd.NaT,
            "latest_value": float(ok["y"].iloc[-1]) if len(ok) else np.nan,
            "target": m.target, "improvement_direction": m.improvement_direction,
        })
    return pd.DataFrame(rows)


def site_comparison(values: pd.DataFrame, measure: Measure, start: pd.Timestamp, end: pd.Timestamp,
                    names: dict[str, str], is_small=None) -> tuple[pd.DataFrame | None, str, int]:
    """Funnel-plot data comparing sites on one proportion or rate over ``start``–``end``.

    Sums each site's numerator and denominator over the window and runs a categorical
    :func:`qic` (x = site name): p or u limits, Laney p′/u′ when the mean denominator per period
    is at least :data:`LANEY_MIN_DENOMINATOR`. ``is_small`` (a disclosure predicate) leaves out
    sites resting on small counts. Returns (qic result or None with fewer than 3 sites, chart,
    number of sites left out).
    """
    sub = values.loc[(values["measure_id"] == measure.id) & values["period"].between(start, end)]
    agg = sub.groupby("site_id", as_index=False)[["numerator", "denominator"]].sum()
    left_out = 0
    if is_small is not None:
        small = agg["numerator"].map(is_small) | agg["denominator"].map(is_small)
        left_out = int(small.sum())
        agg = agg.loc[~small.astype(bool)]
    large = len(agg) > 0 and agg["denominator"].mean() / max(sub["period"].nunique(), 1) >= LANEY_MIN_DENOMINATOR
    chart = ("pp" if large else "p") if measure.unit == "percent" else ("up" if large else "u")
    if len(agg) < 3:
        return None, chart, left_out
    agg = agg.assign(site=pd.Categorical(agg["site_id"].map(names)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = qic(agg, "site", "numerator", "denominator", chart=chart, multiply=measure.multiplier)
    return r, chart, left_out
