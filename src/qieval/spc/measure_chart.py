"""The SPC analysis of one measure at one site (or the network): choose the chart, place the
phases, run :func:`qic` and :func:`mdc`, and say in words what the chart shows. No plotting.

Chart choice (NHS Improvement "Making Data Count"; Provost & Murray, *The Health Care Data Guide*,
2011, ch. 5–6; Laney 2002 for P′/U′):

- fewer than :data:`MIN_BASELINE_POINTS` useful baseline points → run chart (median, Anhøj rules);
- percent → p chart, or Laney p′ when the mean denominator is at least
  :data:`LANEY_MIN_DENOMINATOR` (large subgroups make p-chart limits too narrow: overdispersion);
- rate → u chart (u′ for large denominators); count → c chart; continuous → XmR (I chart);
- a baseline with no events at all (centre line 0) gives zero-width limits, so a run chart is used.

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
from .mdc import _icon_names, mdc
from .qic import qic, qic_columns

MIN_BASELINE_POINTS = 12
LANEY_MIN_DENOMINATOR = 1000
MDC_MIN_POINTS = 12


@dataclass
class MeasureSPC:
    """Computed SPC result for one series.

    ``result``: qic() columns plus ``period`` and ``phase_start`` (True at the first point of a
    recalculated phase); ``icons``: ``variation``, ``assurance`` (MDC); ``mdc``: the mdc() frame.
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
    if measure.chart:
        return measure.chart, "chart set in the params"
    return _choose_chart(measure, series, series["phase"].to_numpy() == "baseline")


def _choose_chart(measure: Measure, series: pd.DataFrame, baseline: np.ndarray) -> tuple[str, str]:
    """:func:`choose_chart` given the rows of the baseline phase (a boolean array)."""
    if measure.chart:
        return measure.chart, "chart set in the params"
    base = baseline & series["value"].notna().to_numpy()  # baseline points with a value
    n_base = int(base.sum())
    if n_base < MIN_BASELINE_POINTS:
        return "run", (f"run chart: {n_base} baseline points, fewer than the "
                       f"{MIN_BASELINE_POINTS} needed for control limits")
    if measure.unit in ("percent", "rate") and _masked_sum(series["numerator"], base) == 0:
        return "run", "run chart: no events in the baseline, so control limits would have zero width"
    if measure.unit == "continuous":
        return "i", "XmR (I) chart for a continuous measure"
    if measure.unit == "count":
        return "c", "c chart for counts per period"
    large = series["denominator"].mean() >= LANEY_MIN_DENOMINATOR
    if measure.unit == "percent":
        return ("pp", "Laney p′ chart: large denominators (mean ≥ 1,000) over-disperse a p chart") if large \
            else ("p", "p chart for a proportion")
    return ("up", "Laney u′ chart: large denominators (mean ≥ 1,000)") if large \
        else ("u", "u chart for a rate")


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
            cols = qic_columns(chunk, "period", y, n, chart=chart, freeze=freeze, multiply=mult,
                               target=measure.target)  # qic() before it becomes a frame
        n_points = len(cols["x"])
        cols["part"] = np.full(n_points, k + 1, dtype=np.int64)
        cols["phase_start"] = np.arange(n_points) == 0
        cols["period"] = cols["x"]
        frames.append(pd.DataFrame(cols))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _mdc(series: pd.DataFrame, measure: Measure, baseline: np.ndarray, starts: list[pd.Timestamp]):
    """mdc() of the points with a value (``baseline``: the rows of the baseline phase), and the
    variation and assurance icons of its last point."""
    value = series["value"]
    keep = value.notna().to_numpy()
    if int(keep.sum()) < MDC_MIN_POINTS:
        return None, "", ""
    ok = series if keep.all() else series.loc[keep]  # the rows with a value
    # Limits fixed on the baseline, unless the baseline never varies (e.g. 0% every month), which
    # would give zero-width or undefined limits: then the whole series sets them.
    n_base = int(baseline.sum())
    varied = len(pd.unique(value.to_numpy()[keep & baseline])) > 1
    fix = n_base if n_base >= 12 and not starts and varied else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mdc(ok, "value", "period", rebase=[s for s in starts if s > ok["period"].min()] or None,
                     fix_after_n_points=fix, improvement_direction=measure.improvement_direction,
                     target=measure.target, screen_outliers=True)
    _, _, variation, assurance = _icon_names(result)  # as mdc_icons(result), one facet
    return result, str(variation[0]), str(assurance[0])


def _findings(r: pd.DataFrame, measure: Measure, chart: str) -> list[str]:
    """Plain sentences on what the chart shows (signals per phase)."""
    out = []
    sign = {"increase": 1, "decrease": -1}.get(measure.improvement_direction, 0)
    col = {c: r[c].to_numpy() for c in ("part", "runs_signal", "longest_run", "longest_run_max",
                                        "n_crossings", "n_crossings_min", "sigma_signal", "y", "cl")}
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
        if chart != "run":
            sig = rows & col["sigma_signal"]
            if sig.any():
                with np.errstate(invalid="ignore"):
                    above = int((col["y"][sig] > col["cl"][sig]).sum())
                below = int(sig.sum()) - above
                words = []
                for k, side, better in ((above, "above the upper", sign > 0), (below, "below the lower", sign < 0)):
                    if k:
                        kind = "" if sign == 0 else (" (improvement)" if better else " (concern)")
                        words.append(f"{k} point(s) {side} limit{kind}")
                out.append(f"In {label}: " + "; ".join(words) + ".")
    if not out:
        out.append("Common-cause variation only: no signal of a change by the Anhøj or 3-sigma rules.")
    return out


def measure_spc(series: pd.DataFrame, measure: Measure, cycles: pd.DataFrame) -> MeasureSPC:
    """Full SPC analysis of one site's (or the network's) series of one measure.

    ``series``: columns period, numerator, denominator, value (in the measure's unit), phase — as
    made by :func:`qieval.measures.series.measure_series` (missing periods present as NaN rows).
    """
    series = _sorted_by_period(series)
    phase = series["phase"].to_numpy()
    baseline = phase == "baseline"
    chart, reason = _choose_chart(measure, series, baseline)
    starts = recalculation_months(measure, cycles)
    result = _qic_phases(series, measure, chart, int(baseline.sum()), starts)
    mdc_result, variation, assurance = _mdc(series, measure, baseline, starts)
    missing = series["value"].isna().to_numpy()
    gaps = list(series.loc[missing, "period"]) if missing.any() else []
    out = MeasureSPC(measure.id, chart, reason, result, mdc_result, variation, assurance, gaps,
                     [s for s in starts if s > series["period"].min()], _findings(result, measure, chart))
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
            "variation": spc.variation, "assurance": spc.assurance,
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
