"""Every number the abstract may print, taken from the computed network results, with its
provenance (which measure, which sites, which periods, how it was computed, where it came from).

Nothing is computed here beyond counting rows and formatting: rates, intervals, SPC signals and
attribution estimates are read from :class:`qieval.report.network_report.NetworkReport`
(``summary``, ``spc``, ``attributions``), which in turn come from
:mod:`qieval.measures.summary`, :mod:`qieval.spc` and :mod:`qieval.attribution`.

**Latest** means the last month in which every site reported the measure, pooled across the sites
(Σ numerator / Σ denominator that month; continuous measures: the mean of the sites' values); this
is ``summary.latest_*`` computed from :func:`qieval.measures.series.pooled_values`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from ..config import Measure, ProjectConfig
from ..format import fmt_num

FACT_COLUMNS = ["key", "label", "text", "interval", "value", "low", "high", "measure_id", "sites",
                "periods", "method", "source", "note"]

CHART_NAMES = {"run": "run chart", "p": "p chart", "pp": "Laney p′ chart", "u": "u chart",
               "up": "Laney u′ chart", "c": "c chart", "i": "XmR (I) chart"}
VARIATION_TEXT = {
    "common_cause": "common-cause variation only", "improvement_high": "special-cause improvement",
    "improvement_low": "special-cause improvement", "concern_high": "special-cause concern",
    "concern_low": "special-cause concern", "neutral_high": "special-cause variation",
    "neutral_low": "special-cause variation", "": "too few points for a signal",
}


@dataclass(frozen=True)
class Fact:
    """One figure as the abstract prints it (``text``, and ``interval`` when it has one)."""

    key: str
    label: str
    text: str
    interval: str = ""
    value: float | str | None = None
    low: float | None = None
    high: float | None = None
    measure_id: str = ""
    sites: str = ""
    periods: str = ""
    method: str = ""
    source: str = ""
    note: str = ""

    @property
    def printed(self) -> str:
        """The figure with its interval, as printed: ``31.5% (24.6 to 39.4)``."""
        return f"{self.text} ({self.interval})" if self.interval else self.text


def month(ts) -> str:
    """``March 2023``."""
    return pd.Timestamp(ts).strftime("%B %Y")


def _months(start, end) -> int:
    a, b = pd.Timestamp(start).to_period("M"), pd.Timestamp(end).to_period("M")
    return (b - a).n + 1


def _ok(x) -> bool:
    return x is not None and not (isinstance(x, float) and not math.isfinite(x)) and not pd.isna(x)


def value_text(m: Measure, x: float) -> str:
    """A value in the measure's unit as printed: ``31.5%`` or ``9.58``."""
    return fmt_num(x, m.decimals) + ("%" if m.unit == "percent" else "")


def interval_text(lo: float | None, hi: float | None, decimals: int) -> str:
    return f"{fmt_num(lo, decimals)} to {fmt_num(hi, decimals)}" if _ok(lo) and _ok(hi) else ""


# ---- project ---------------------------------------------------------------------------------------

def project_facts(report) -> list[Fact]:
    """Sites, registered population, periods and PDSA cycles."""
    c: ProjectConfig = report.config
    sites, cycles = report.data.sites, report.data.pdsa_cycles
    n = len(sites)
    src_sites, src_cycles = "sites table (data/<project>/sites)", "pdsa_cycles table (data/<project>/pdsa_cycles)"
    out = [
        Fact("sites.n", "Sites (practices) taking part", str(n), value=n,
             sites=", ".join(sites["site_id"]), method="number of rows of the sites table", source=src_sites),
    ]
    if sites["list_size"].notna().all():  # blank for a site without a population (a trust): no total
        out.append(Fact("sites.list_size", "Registered population (sum of list sizes)",
                        f"{int(sites['list_size'].sum()):,}", value=int(sites["list_size"].sum()),
                        sites=f"all {n} sites", method="Σ list_size over the sites table", source=src_sites))
    out += [
        Fact("baseline.months", "Baseline months", str(_months(c.baseline.start, c.baseline.end)),
             value=_months(c.baseline.start, c.baseline.end),
             periods=f"{c.baseline.start:%Y-%m} to {c.baseline.end:%Y-%m}",
             method="calendar months from start to end, inclusive", source="params periods.baseline"),
        Fact("baseline.start", "Baseline start", month(c.baseline.start), value=f"{c.baseline.start:%Y-%m}",
             method="input, not computed", source="params periods.baseline.start"),
        Fact("baseline.end", "Baseline end", month(c.baseline.end), value=f"{c.baseline.end:%Y-%m}",
             method="input, not computed", source="params periods.baseline.end"),
    ]
    if len(cycles):
        first = cycles["start"].min()
        last = cycles["end"].max() if cycles["end"].notna().any() else cycles["start"].max()
        last = max(last, cycles["start"].max())
        k = _months(first, last)
        where = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
        out += [
            Fact("pdsa.n", "PDSA cycles", str(len(cycles)), value=len(cycles),
                 sites=", ".join(sorted(set(cycles["site_id"]))), periods=where,
                 method="number of rows of the PDSA cycles table", source=src_cycles),
            Fact("pdsa.months", "Months over which the PDSA cycles ran", str(k), value=k, periods=where,
                 method="calendar months from the first cycle's start to the last cycle's end, inclusive",
                 source=src_cycles),
            Fact("pdsa.first", "First PDSA cycle started", month(first), value=f"{first:%Y-%m}",
                 method="earliest start", source=src_cycles),
            Fact("pdsa.last", "Last PDSA cycle ended", month(last), value=f"{last:%Y-%m}",
                 method="latest end (or start, if no end is given)", source=src_cycles),
        ]
        counts = cycles["category"].value_counts()
        for cat in [x for x in c.categories if x in counts.index] + sorted(set(counts.index) - set(c.categories)):
            out.append(Fact(f"pdsa.{cat}", f"PDSA cycles tagged {cat}", str(int(counts[cat])), value=int(counts[cat]),
                            periods=where, method=f"rows of the PDSA cycles table with category {cat}",
                            source=src_cycles))
    return out


# ---- measures --------------------------------------------------------------------------------------

_PHASE_METHOD = {
    "percent": "Σ numerator / Σ denominator × 100 over the {what}, all sites pooled; Wilson score 95% interval",
    "rate": "Σ numerator / Σ denominator × {per} over the {what}, all sites pooled; exact Poisson 95% interval",
    "count": "mean count per month over the {what}, all sites summed; exact Poisson 95% interval",
    "continuous": "mean of the monthly values over the {what} (each month: mean of the sites); t 95% interval",
}


_LATEST_METHOD = {
    "percent": "numerator / denominator × 100 in that month, all sites summed; Wilson score 95% interval",
    "rate": "numerator / denominator × {per} in that month, all sites summed; exact Poisson 95% interval",
    "count": "count in that month, all sites summed; exact Poisson 95% interval",
    "continuous": "mean of the sites' values that month (one value: no interval)",
}


def measure_facts(report, m: Measure) -> list[Fact]:
    """Baseline, intervention and latest values with intervals; reference and target (params)."""
    c = report.config
    rows = report.summary.loc[report.summary["measure_id"] == m.id]
    if rows.empty or rows.iloc[0]["note"] == "no data":
        return []
    r = rows.iloc[0]
    n = len(report.data.sites)
    pooled = f"all {n} sites pooled"
    out = []
    for phase, period in (("baseline", c.baseline), ("intervention", c.intervention)):
        if not _ok(r[f"{phase}_rate"]):
            continue
        k = int(r[f"{phase}_periods"]) if _ok(r[f"{phase}_periods"]) else 0
        nums = ("" if m.unit == "continuous" else
                f" (Σ numerator {r[f'{phase}_numerator']:,.0f}" +
                ("" if m.unit == "count" else f", Σ denominator {r[f'{phase}_denominator']:,.0f}") + ")")
        out.append(Fact(
            f"{m.id}.{phase}", f"{m.title}: {phase} period", value_text(m, r[f"{phase}_rate"]),
            interval_text(r[f"{phase}_low"], r[f"{phase}_high"], m.decimals), float(r[f"{phase}_rate"]),
            r[f"{phase}_low"], r[f"{phase}_high"], m.id, pooled,
            f"{period.start:%Y-%m} to {period.end:%Y-%m} ({k} months with data)",
            _PHASE_METHOD[m.unit].format(what=f"{phase} months", per=m.per) + nums,
            f"NetworkReport.summary {phase}_rate, {phase}_low, {phase}_high"))
    if _ok(r["latest_rate"]):
        latest = pd.Timestamp(r["latest_period"])
        how = _LATEST_METHOD[m.unit].format(per=m.per)
        out.append(Fact(
            f"{m.id}.latest", f"{m.title}: latest month", value_text(m, r["latest_rate"]),
            interval_text(r["latest_low"], r["latest_high"], m.decimals), float(r["latest_rate"]),
            r["latest_low"], r["latest_high"], m.id, pooled,
            f"{latest:%Y-%m}: the last month in which every site reported", how,
            "NetworkReport.summary latest_rate, latest_low, latest_high"))
        out.append(Fact(f"{m.id}.latest_period", f"{m.title}: latest month", month(latest),
                        value=f"{latest:%Y-%m}", measure_id=m.id, sites=pooled,
                        method="last month in which every site reported (pooled series)",
                        source="NetworkReport.summary latest_period"))
    if m.reference is not None and _ok(r["latest_vs_reference"]):
        unit = "%" if m.unit == "percent" else ""
        out.append(Fact(f"{m.id}.reference", f"{m.title}: {m.reference.label}", f"{m.reference.value:g}{unit}",
                        value=m.reference.value, measure_id=m.id,
                        method="input, not computed", source=f"params measures[{m.id}].reference"))
        out.append(Fact(f"{m.id}.vs_reference", f"{m.title}: latest as a percentage of the reference",
                        f"{r['latest_vs_reference'] * 100:.0f}%", value=float(r["latest_vs_reference"]) * 100,
                        measure_id=m.id, sites=pooled, periods=f"{pd.Timestamp(r['latest_period']):%Y-%m}",
                        method="latest ÷ reference × 100, rounded to a whole percent",
                        source="NetworkReport.summary latest_vs_reference"))
    if m.target is not None:
        unit = "%" if m.unit == "percent" else ""
        when = f" by {m.target_date:%Y-%m}" if m.target_date else ""
        out.append(Fact(f"{m.id}.target", f"{m.title}: target{when}", f"{m.target:g}{unit}", value=m.target,
                        measure_id=m.id, method="input, not computed", source=f"params measures[{m.id}].target"))
    return out


def spc_facts(report, m: Measure) -> list[Fact]:
    """The Making Data Count variation of the pooled series, with the signals behind it."""
    spc = report.spc.get(m.id)
    if spc is None:
        return []
    r = spc.result.dropna(subset=["y"])
    outside = int(r["sigma_signal"].fillna(False).astype(bool).sum()) if spc.chart != "run" else 0
    runs = bool(r["runs_signal"].fillna(False).astype(bool).any())
    note = (f"{outside} point(s) outside the 3-sigma limits; " if spc.chart != "run" else "") + \
        ("Anhøj runs signal (shift)" if runs else "no runs signal")
    return [Fact(f"{m.id}.spc", f"{m.title}: SPC", VARIATION_TEXT.get(spc.variation, spc.variation),
                 value=spc.variation, measure_id=m.id, sites=f"all {len(report.data.sites)} sites pooled",
                 periods=f"{r['period'].min():%Y-%m} to {r['period'].max():%Y-%m}",
                 method=f"{spc.reason[:1].upper()}{spc.reason[1:]}; Making Data Count variation icon of the "
                        "series (limits from the baseline)",
                 source=f"NetworkReport.spc[{m.id!r}].variation", note=note)]


QUOTABLE_METHOD = "calendar-adjusted"  # qieval.attribution.sentences.CALENDAR


def verdict(row: pd.Series, family: str) -> str:
    """``clear`` (interval excludes no change), ``no clear change``, ``not separable``, ``not estimable``
    or ``not quoted`` — the words the abstract may use follow from this only.

    Only estimates that pass every check are quoted: separable, with a computed interval,
    and calendar-adjusted across sites (``method`` starts with "calendar-adjusted"); an
    interrupted-time-series estimate against a trend, or one site's, is ``not quoted``."""
    if not bool(row["separable"]) or not _ok(row["estimate"]):
        note = str(row.get("note", ""))
        return "not estimable" if ("zero baseline" in note or "not estimable" in note.lower()) \
            and "same month" not in note else "not separable"
    if family == "gaussian":
        lo, hi, null = row["estimate_low"], row["estimate_high"], 0.0
    else:
        lo, hi, null = row["ratio_low"], row["ratio_high"], 1.0
    if not (_ok(lo) and _ok(hi)) or not str(row.get("method", "")).startswith(QUOTABLE_METHOD):
        return "not quoted"
    return "no clear change" if lo <= null <= hi else "clear"


def _headline_rows(effects: pd.DataFrame) -> pd.DataFrame:
    """One row per category: not the ``<category>:level/slope/month_<h>`` detail rows."""
    detail = effects["category"].astype(str).str.contains(r":(?:slope|level|month_\d+)$", regex=True)
    return effects.loc[~detail]


def attribution_facts(report, m: Measure) -> list[Fact]:
    """One fact per PDSA category (level rows only) from ``NetworkReport.attributions[m.id]``."""
    res = report.attributions.get(m.id)
    if res is None:
        return []
    if isinstance(res, str):
        return [Fact(f"{m.id}.attribution", f"{m.title}: attribution", "not analysed", value=None,
                     measure_id=m.id, note=res, source=f"NetworkReport.attributions[{m.id!r}]")]
    kind = {"binomial": "odds ratio", "poisson": "rate ratio", "gaussian": "difference"}[res.family]
    impact = {"event_time": "average over the months after each start of the effects by month since the start",
              "ramp": "level and slope change", "step": "level change"}.get(getattr(res, "impact", ""), "")
    method = (f"{res.family} GLM, all sites pooled ({res.n_obs} site-months), time adjustment: "
              f"{res.time_effects}; {impact}; interval: {getattr(res, 'interval', '') or 'quasi-likelihood'}")
    out = []
    eff = _headline_rows(res.effects)
    for _, row in eff.iterrows():
        v = verdict(row, res.family)
        cat = str(row["category"])
        if v in ("clear", "no clear change"):
            est, lo, hi = ((row["estimate"], row["estimate_low"], row["estimate_high"]) if res.family == "gaussian"
                           else (row["ratio"], row["ratio_low"], row["ratio_high"]))
            d = m.decimals if res.family == "gaussian" else 2
            out.append(Fact(f"{m.id}.attribution.{cat}", f"{m.title}: change associated with {cat}",
                            f"{kind} {fmt_num(est, d)}", interval_text(lo, hi, d), float(est), float(lo), float(hi),
                            m.id, "all sites pooled", method=method,
                            source=f"NetworkReport.attributions[{m.id!r}].effects ({cat})", note=v))
        else:
            out.append(Fact(f"{m.id}.attribution.{cat}", f"{m.title}: change associated with {cat}", v,
                            measure_id=m.id, sites="all sites pooled", method=method,
                            source=f"NetworkReport.attributions[{m.id!r}].effects ({cat})",
                            note=f"{v}: {row['note']}"))
    return out


def level_fact(report) -> Fact:
    """The confidence level of every interval (95%: summaries and attribution alike)."""
    levels = {round(r.level * 100) for r in report.attributions.values() if not isinstance(r, str)} or {95}
    pct = levels.pop() if len(levels) == 1 else 95
    return Fact("ci.level", "Confidence level of the intervals", f"{pct}%", value=pct,
                method="summaries use 95% intervals (qieval.measures.intervals, z = 1.96); attribution "
                       "uses Attribution.level", source="qieval.measures.summary; NetworkReport.attributions")


def build_facts(report, measures: list[Measure], policy=None) -> dict[str, Fact]:
    """Every fact for the project and the given measures, by key (``attributions`` must be filled).
    With an enabled small-number ``policy`` (commissioner/public copies) the facts are as published
    (:func:`publish`); without one, or with a disabled one (evaluator), they are exact."""
    facts = project_facts(report) + [level_fact(report)]
    for m in measures:
        facts += measure_facts(report, m) + spc_facts(report, m) + attribution_facts(report, m)
    out = {f.key: f for f in facts}
    if policy is not None and policy.enabled:
        out = publish(out, report, measures, policy)
    return out


SUPPRESSED_TEXT = "not shown (small numbers)"


def _published_method(method: str, text: str) -> str:
    return f"{method}; published as {text} (small-number policy applied)"


def _latest_counts(report, m: Measure, period) -> tuple[float | None, float | None]:
    """Σ numerator and Σ denominator of the pooled series in ``period`` (None when absent)."""
    p = getattr(report, "pooled", None)
    if p is None or not {"measure_id", "period", "numerator"}.issubset(p.columns):
        return None, None
    row = p.loc[(p["measure_id"] == m.id) & (pd.to_datetime(p["period"]) == pd.Timestamp(period))]
    if row.empty:
        return None, None
    den = row["denominator"].iloc[0] if "denominator" in row.columns else None
    return row["numerator"].iloc[0], den


def publish(facts: dict[str, Fact], report, measures: list[Measure], policy) -> dict[str, Fact]:
    """The facts as a commissioner/public copy prints them (pure: ``facts`` is not changed).

    Counts of people (the registered population; numerators and denominators quoted in the
    methods) go through ``policy.show_count``; a percentage or rate resting on a suppressed
    numerator or denominator is not shown (nor its interval, nor the latest-vs-reference figure
    derived from it); other percentages are recomputed from the rounded counts
    (``policy.show_percent``). Counts that are not of people (sites, months, PDSA cycles) and
    model estimates are unchanged. The method says what was published."""
    from dataclasses import replace

    out = dict(facts)
    f = out.get("sites.list_size")
    if f is not None:
        text = policy.show_count(f.value, prose=True)
        out[f.key] = replace(f, text=text, method=_published_method(f.method, text))
    summary = report.summary
    for m in measures:
        if m.unit == "continuous":
            continue
        rows = summary.loc[summary["measure_id"] == m.id]
        if rows.empty:
            continue
        r = rows.iloc[0]
        for phase in ("baseline", "intervention", "latest"):
            f = out.get(f"{m.id}.{phase}")
            if f is None:
                continue
            if phase == "latest":
                num, den = _latest_counts(report, m, r["latest_period"])
            else:
                num, den = r[f"{phase}_numerator"], r[f"{phase}_denominator"]
            method = f.method
            if phase != "latest":
                exact = (f" (Σ numerator {num:,.0f}" + ("" if m.unit == "count" else f", Σ denominator {den:,.0f}")
                         + ")")
                shown = (f" (Σ numerator {policy.show_count(num)}"
                         + ("" if m.unit == "count" else f", Σ denominator {policy.show_count(den)}") + ")")
                method = method.replace(exact, shown)
            small = policy.is_small(num) or (m.unit != "count" and policy.is_small(den))
            if small:
                out[f.key] = replace(f, text=SUPPRESSED_TEXT, interval="",
                                     method=_published_method(method, SUPPRESSED_TEXT))
                if phase == "latest" and f"{m.id}.vs_reference" in out:
                    g = out[f"{m.id}.vs_reference"]
                    out[g.key] = replace(g, text=SUPPRESSED_TEXT,
                                         method=_published_method(g.method, SUPPRESSED_TEXT))
                continue
            text = f.text
            if m.unit == "percent" and num is not None and den is not None:
                keep = policy.model_copy(update={"percent_decimals": max(policy.percent_decimals, m.decimals)})
                text = keep.show_percent(num, den) + "%"
            printed = f"{text} ({f.interval})" if f.interval else text
            out[f.key] = replace(f, text=text, method=_published_method(method, printed))
    return out


def facts_table(facts: dict[str, Fact] | list[Fact]) -> pd.DataFrame:
    """Tidy table of facts (columns :data:`FACT_COLUMNS`)."""
    items = facts.values() if isinstance(facts, dict) else facts
    return pd.DataFrame([asdict(f) for f in items], columns=FACT_COLUMNS)
