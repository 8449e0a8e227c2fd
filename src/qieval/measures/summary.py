"""Baseline vs intervention summary of every measure: rates, intervals, changes and a test.

One row per measure (tidy), in the measure's unit (percent → percentage points for changes):

- percent: pooled proportion Σnumerator/Σdenominator per phase with the Wilson interval; absolute
  change with Newcombe's hybrid score interval; relative change (risk ratio, log-scale Katz
  interval); Pearson χ² test, or Fisher's exact test for small expected counts.
- rate: pooled rate with the exact Poisson interval of the count over the exposure; rate
  difference (Wald); rate ratio with the exact conditional interval and binomial test.
- count: mean count per period, treated as a rate with one unit of exposure per period.
- continuous: mean of the period values with a t interval; Welch's difference and test.

Pooling months treats them as independent samples; the SPC and attribution sections of a report
account for trend and autocorrelation. ``latest_*`` describes the last period with data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import Measure, ProjectConfig
from . import intervals
from .series import phase_of

SUMMARY_COLUMNS = [
    "measure_id", "title", "type", "unit", "label",
    "baseline_numerator", "baseline_denominator", "baseline_periods",
    "baseline_rate", "baseline_low", "baseline_high",
    "intervention_numerator", "intervention_denominator", "intervention_periods",
    "intervention_rate", "intervention_low", "intervention_high",
    "abs_change", "abs_low", "abs_high", "rel_change", "rel_low", "rel_high",
    "test", "p_value", "latest_period", "latest_rate", "latest_low", "latest_high",
    "reference", "reference_label", "latest_vs_reference", "note",
]


def _phase_rate(measure: Measure, num: float, den: float, k: int) -> tuple[float, float, float]:
    m = measure.multiplier
    if measure.unit == "percent":
        lo, hi = intervals.wilson(num, den)
        return num / den * m, float(lo) * m, float(hi) * m
    exposure = den if measure.unit == "rate" else k
    lo, hi = intervals.poisson_exact(num)
    scale = m / exposure if measure.unit == "rate" else 1 / exposure
    return num * scale, float(lo) * scale, float(hi) * scale


def _proportion_changes(measure: Measure, b: dict, i: dict) -> dict:
    m = measure.multiplier
    lo, hi = intervals.newcombe_difference(b["num"], b["den"], i["num"], i["den"])
    out = {"abs_change": (i["num"] / i["den"] - b["num"] / b["den"]) * m,
           "abs_low": float(lo) * m, "abs_high": float(hi) * m}
    if b["num"] > 0 and i["num"] > 0:
        rr = (i["num"] / i["den"]) / (b["num"] / b["den"])
        se = np.sqrt(1 / i["num"] - 1 / i["den"] + 1 / b["num"] - 1 / b["den"])
        out |= {"rel_change": rr - 1, "rel_low": rr * np.exp(-intervals.Z95 * se) - 1,
                "rel_high": rr * np.exp(intervals.Z95 * se) - 1}
    else:
        out |= {"rel_change": np.nan, "rel_low": np.nan, "rel_high": np.nan,
                "note": "relative change undefined: no events in the baseline" if b["num"] == 0 else ""}
    test = intervals.two_proportion_test(b["num"], b["den"], i["num"], i["den"])
    return out | {"test": test["test"], "p_value": test["p_value"]}


def _rate_changes(measure: Measure, b: dict, i: dict) -> dict:
    e1 = b["den"] if measure.unit == "rate" else b["k"]
    e2 = i["den"] if measure.unit == "rate" else i["k"]
    scale = measure.multiplier if measure.unit == "rate" else 1.0
    r1, r2 = b["num"] / e1, i["num"] / e2
    se = np.sqrt(b["num"] / e1**2 + i["num"] / e2**2)
    rr = intervals.rate_ratio(b["num"], e1, i["num"], e2)
    out = {"abs_change": (r2 - r1) * scale, "abs_low": (r2 - r1 - intervals.Z95 * se) * scale,
           "abs_high": (r2 - r1 + intervals.Z95 * se) * scale, "rel_change": rr["ratio"] - 1,
           "rel_low": rr["low"] - 1, "rel_high": rr["high"] - 1,
           "test": "exact conditional test of two Poisson rates", "p_value": rr["p_value"]}
    if b["num"] == 0:  # a ratio against zero is undefined (the exact test still applies)
        out |= {"rel_change": np.nan, "rel_low": np.nan, "rel_high": np.nan,
                "note": "relative change undefined: no events in the baseline"}
    return out


def _continuous(value: np.ndarray, phase: np.ndarray) -> dict:
    present = ~pd.isna(value)
    b = value[present & (phase == "baseline")]
    i = value[present & (phase == "intervention")]
    out: dict = {"baseline_periods": len(b), "intervention_periods": len(i)}
    for name, v in (("baseline", b), ("intervention", i)):
        if len(v):
            mean, lo, hi = intervals.mean_interval(v)
            out |= {f"{name}_rate": mean, f"{name}_low": lo, f"{name}_high": hi}
    if len(b) >= 2 and len(i) >= 2:
        w = intervals.welch(b, i)
        out |= {"abs_change": w["diff"], "abs_low": w["low"], "abs_high": w["high"],
                "rel_change": i.mean() / b.mean() - 1, "test": "Welch's t-test", "p_value": w["p_value"]}
    return out


def _total(x: np.ndarray):
    """Σx with missing values skipped, exactly as pandas' ``Series.sum`` (NaN as 0, dtype kept)."""
    if x.dtype.kind == "f":
        return np.where(np.isnan(x), 0, x).sum()
    if x.dtype.kind in "iub":
        return x.sum()
    return pd.Series(x, dtype=x.dtype).sum()


def _latest(periods: np.ndarray) -> int:
    """Position of the row ``sort_values("period").iloc[-1]`` would pick (missing periods sort last)."""
    if periods.dtype.kind != "M":
        return int(pd.Series(periods, dtype=periods.dtype).sort_values().index[-1])
    missing = np.isnat(periods)
    if missing.any():
        return int(np.flatnonzero(missing)[-1])
    return int(periods.argsort(kind="quicksort")[-1])


def _columns(values: pd.DataFrame, config: ProjectConfig) -> dict[str, np.ndarray]:
    """The columns a summary reads, as numpy arrays, and each row's phase (read once per table:
    pandas' per-call overhead dominates on the tables of one site)."""
    cols = {c: values[c].to_numpy() for c in ("measure_id", "period", "numerator", "denominator", "value")
            if c in values.columns}
    cols["phase"] = phase_of(config, values["period"])
    return cols


def _summarise(cols: dict[str, np.ndarray], measure: Measure) -> dict:
    """:func:`summarise_measure` on the arrays of :func:`_columns`."""
    rows = np.flatnonzero(cols["measure_id"] == measure.id)
    row: dict = {"measure_id": measure.id, "title": measure.title, "type": measure.type,
                 "unit": measure.unit, "label": measure.label, "note": ""}
    if measure.reference is not None:
        row |= {"reference": measure.reference.value, "reference_label": measure.reference.label}
    if not len(rows):
        return row | {"note": "no data"}
    phase, period = cols["phase"][rows], cols["period"][rows]
    if measure.unit == "continuous":
        value = cols["value"][rows]
        row |= _continuous(value, phase)
        present = np.flatnonzero(~pd.isna(value))
    else:
        num, den = cols["numerator"][rows], cols["denominator"][rows]
        has_num = ~pd.isna(num)  # a period counts towards a phase when it has a numerator
        present = np.flatnonzero(has_num)
        phases = {}
        for name in ("baseline", "intervention"):
            p = has_num & (phase == name)
            phases[name] = {"num": _total(num[p]), "den": _total(den[p]), "k": int(p.sum())}
            row |= {f"{name}_numerator": phases[name]["num"], f"{name}_denominator":
                    phases[name]["den"] if measure.unit != "count" else np.nan,
                    f"{name}_periods": phases[name]["k"]}
            if phases[name]["k"]:
                rate, lo, hi = _phase_rate(measure, phases[name]["num"], phases[name]["den"], phases[name]["k"])
                row |= {f"{name}_rate": rate, f"{name}_low": lo, f"{name}_high": hi}
        b, i = phases["baseline"], phases["intervention"]
        if b["k"] and i["k"]:
            changes = (_proportion_changes if measure.unit == "percent" else _rate_changes)(measure, b, i)
            row |= changes
    last = rows[present[_latest(period[present])]]  # the last period with data
    t = cols["period"][last]
    row["latest_period"] = pd.Timestamp(t) if cols["period"].dtype.kind == "M" else t
    if measure.unit == "continuous":
        row["latest_rate"] = cols["value"][last]
    else:
        latest = _phase_rate(measure, cols["numerator"][last], cols["denominator"][last], 1)
        row |= {"latest_rate": latest[0], "latest_low": latest[1], "latest_high": latest[2]}
    if measure.reference is not None:
        row["latest_vs_reference"] = row["latest_rate"] / measure.reference.value
    return row


def summarise_measure(values: pd.DataFrame, config: ProjectConfig, measure: Measure) -> dict:
    """Summary row for one measure from its rows (one site, or network totals)."""
    return _summarise(_columns(values, config), measure)


def compare_periods(values: pd.DataFrame, config: ProjectConfig) -> pd.DataFrame:
    """One summary row per measure of the project (see module docstring for the methods)."""
    cols = _columns(values, config)
    rows = [_summarise(cols, m) for m in config.measures]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
