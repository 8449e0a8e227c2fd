"""The per-site report: everything the site notebook shows, one method per section.

``prepare`` loads and validates the project and computes the site's results once;
``write_results`` writes them as ``<output_dir>/<site_id>.json`` for later reports; the section
methods only format them.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from html import escape
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Measure, display_path, project_path
from ..io.load import load_project, site_cycles, site_values
from ..measures.series import measure_series
from ..measures.summary import compare_periods
from ..disclosure import DisclosurePolicy, policy_for, suppress_series
from ..spc.icons import assurance_icon_svg, variation_icon_svg
from ..spc.measure_chart import MeasureSPC, measure_spc
from .. import figures
from . import attribution_section
from .base import ProjectReport
from .html import Html, definition_list, heading, para, table
from ..format import fmt_interval, fmt_month, fmt_p, path_inside, write_atomic
from .plain_summary import measure_decimals, measure_value, population_item, population_value, what_this_means
from .provenance import provenance


CHART_NAMES = {"p": "p", "pp": "Laney p′", "u": "u", "up": "Laney u′", "c": "c", "i": "XmR (I)"}

VARIATION_WORDS = {
    "common_cause": "common-cause variation", "improvement_high": "special cause: improvement (higher)",
    "improvement_low": "special cause: improvement (lower)", "concern_high": "special cause: concern (higher)",
    "concern_low": "special cause: concern (lower)", "neutral_high": "special cause: higher",
    "neutral_low": "special cause: lower",
}
ASSURANCE_WORDS = {"pass": "target consistently met", "fail": "target consistently missed",
                   "inconsistent": "target may or may not be met (hit and miss)"}


def icons_html(spc: MeasureSPC, m: Measure) -> str:
    """MDC variation and assurance icons (inline SVG with titles) and their meaning in words."""
    if not spc.variation:
        return para("No points to show, so no Making Data Count icons.", "notes")
    out = ['<div class="icons">', variation_icon_svg(spc.variation, m.improvement_direction)]
    words = VARIATION_WORDS.get(spc.variation, spc.variation)
    if spc.assurance:
        out.append(assurance_icon_svg(spc.assurance))
        words += "; " + ASSURANCE_WORDS.get(spc.assurance, spc.assurance)
    elif m.target is None:
        words += "; no target set, so no assurance icon"
    out.append(f"<span>Variation: {escape(words)}.</span></div>")
    return "".join(out)


def _small_counts(r, policy: DisclosurePolicy | None) -> bool:
    """Whether a summary row rests on a count the audience's policy suppresses."""
    if policy is None or not policy.enabled:
        return False
    counts = [r.baseline_numerator, r.baseline_denominator, r.intervention_numerator,
              r.intervention_denominator]
    return any(policy.is_small(c) for c in counts if pd.notna(c))


def _rows(frame: pd.DataFrame, fields: tuple[str, ...]) -> list[SimpleNamespace]:
    """The rows of a small table with the values ``itertuples`` gives, reading only the ``fields``
    used (``itertuples`` reads every column and builds a new tuple class per call)."""
    fields = [f for f in fields if f in frame.columns]
    return [SimpleNamespace(**dict(zip(fields, r))) for r in zip(*(frame[f].tolist() for f in fields))]


_COUNTS = ("baseline_numerator", "baseline_denominator", "intervention_numerator", "intervention_denominator")
_TABLE_FIELDS = ("measure_id", "note", *_COUNTS, "baseline_rate", "baseline_low", "baseline_high",
                 "intervention_rate", "intervention_low", "intervention_high", "abs_change", "abs_low",
                 "abs_high", "rel_change", "test", "p_value")
_PREVALENCE_FIELDS = ("measure_id", "reference", *_COUNTS, "baseline_rate", "latest_rate", "latest_period",
                      "reference_label", "latest_vs_reference")


def measures_table_html(summary: pd.DataFrame, config, title: str = "Measures: baseline vs intervention",
                        policy: DisclosurePolicy | None = None) -> Html:
    """Baseline vs intervention table of every measure (one row per measure of ``summary``).

    For commissioner/public copies (``policy.enabled``) a measure resting on a small count shows the
    suppression marker instead of its rates, changes and test, and the caption states the policy.
    """
    rows, notes = [], []
    for r in _rows(summary, _TABLE_FIELDS):
        m = config.measure(r.measure_id)
        if isinstance(r.note, str) and r.note:
            notes.append(f"{m.title}: {r.note}")
        d = measure_decimals(m)
        unit = "pp" if m.unit == "percent" else ""
        rate = lambda v, lo, hi: fmt_interval(v, lo, hi, d)  # noqa: E731 - never "0.3 (0.3 to 0.3)"
        if _small_counts(r, policy):
            rows.append([m.title, m.type, m.label] + [policy.marker] * 5)
            continue
        rows.append([
            m.title, m.type, m.label,
            rate(r.baseline_rate, r.baseline_low, r.baseline_high),
            rate(r.intervention_rate, r.intervention_low, r.intervention_high),
            fmt_interval(r.abs_change, r.abs_low, r.abs_high, d, unit),
            "–" if pd.isna(r.rel_change) else f"{r.rel_change * 100:+.0f}%",
            f"{r.test}, {fmt_p(r.p_value)}" if isinstance(r.test, str) else "–",
        ])
    header = ["Measure", "Type", "Unit", "Baseline (95% CI)", "Intervention (95% CI)",
              "Absolute change (95% CI)", "Relative change", "Test"]
    caption = ("Baseline vs intervention period. Proportions pooled over months with Wilson 95% "
               "intervals (Newcombe interval for the difference); rates with exact Poisson intervals; "
               "continuous measures as the mean of monthly values (Welch).")
    if policy is not None and policy.enabled:
        caption += " " + policy.footnote()
    out = heading(title) + table(header, rows, caption)
    if notes:
        out += "<ul class='notes'>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"
    return Html(out)


def dispersion_notes(spc: dict[str, MeasureSPC], config) -> str:
    """A note under the baseline-vs-intervention table for each measure whose SPC chart found the
    baseline over-dispersed: the table's binomial/Poisson intervals and test assume independent
    events, so they are too narrow there (the chart's wider limits tell the story)."""
    notes = []
    for m in config.measures:
        s = spc.get(m.id)
        d = getattr(s, "dispersion", None)
        if d is not None and d.over:
            notes.append(f"{m.title}: the month-to-month variation is {d.sigma_z:.1f} times what the {d.model} "
                         "model behind this row's interval and test assumes (Laney's σz; see its chart), so "
                         "they are too narrow here: judge the change on the chart.")
    if not notes:
        return ""
    return "<ul class='notes'>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"


def provenance_html(p: dict) -> Html:
    """Input hashes, versions, commit and time of the run."""
    rows = [[f, h] for f, h in p["inputs"].items()]
    versions = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    return Html(heading("Provenance") + table(["Input file", "SHA-256"], rows, row_header=True)
                + para(f"qieval commit {p['git_commit']}; {versions}.")
                + f'<p class="ran-at">Report generated {p["ran_at"]}.</p>')


@dataclass
class SiteReport(ProjectReport):
    """One site's report: its summary, series, PDSA cycles and SPC results, computed once.

    Built by :func:`prepare`; the section methods return HTML for the notebook and
    :func:`write_results` writes ``<site_id>.json``."""

    site_id: str
    summary: pd.DataFrame
    series: dict[str, pd.DataFrame]
    cycles: pd.DataFrame
    spc: dict[str, MeasureSPC]
    attributions: dict = field(default_factory=dict)

    @property
    def site(self) -> pd.Series:
        """The site's row of the sites table."""
        s = self.data.sites
        return s.iloc[np.flatnonzero(s["site_id"].to_numpy() == self.site_id)[0]]

    # ---- sections -------------------------------------------------------------------------
    def title(self) -> Html:
        """Heading: project, site, network, population, periods and data, and the plain-English summary."""
        c, s = self.config, self.site
        items = [
            ("Project", c.title), ("Site", f"{s.site_name} ({s.site_id})"), ("Network", s.network),
            *population_item(c, [s.list_size]),
            ("Baseline", f"{fmt_month(c.baseline.start)} to {fmt_month(c.baseline.end)}"),
            ("Intervention", f"{fmt_month(c.intervention.start)} to {fmt_month(c.intervention.end)}"),
            ("Data", self._data_range() + "; " + (c.data.provenance or "source not stated")),
        ]
        return Html(f"<header><h1>{escape(s.site_name)}: {escape(c.title)}</h1>" + definition_list(items)
                    + "</header>" + self.what_this_means())

    def what_this_means(self) -> Html:
        """Plain-English summary for a commissioner, from the computed results (see plain_summary)."""
        return what_this_means(self.config, self.summary, self.spc, self.site.site_name, self.policy)

    def aim(self) -> Html:
        """The aim statement with what, how much and by when (``aim:`` in the params)."""
        a = self.config.aim
        return Html(heading("Aim") + f'<blockquote class="aim">{escape(a.statement)}</blockquote>' + definition_list(
            [("What", a.what), ("How much", a.how_much), ("By when", fmt_month(pd.Timestamp(a.by_when)))]))

    def measures_table(self) -> Html:
        """Baseline vs intervention of every measure, with the dispersion notes."""
        return Html(measures_table_html(self.summary, self.config, policy=self.policy)
                    + dispersion_notes(self.spc, self.config))

    def prevalence(self) -> Html:
        """Measures with a reference value (e.g. register prevalence vs the expected 1%)."""
        out = []
        for r in _rows(self.summary, _PREVALENCE_FIELDS):
            if pd.isna(r.reference):
                continue
            m = self.config.measure(r.measure_id)
            if _small_counts(r, self.policy):
                out.append(para(f"{m.title}: not shown for this audience ({self.policy.suppressed_words()})."))
                continue
            out.append(para(
                f"{m.title}: {measure_value(m, r.baseline_rate)} at baseline, "
                f"{measure_value(m, r.latest_rate)} in {fmt_month(r.latest_period)} against "
                f"an {r.reference_label} of {measure_value(m, r.reference)}: "
                f"{r.latest_vs_reference * 100:.0f}% of the expected number of patients identified."))
        if not out:
            return Html("")
        return Html(heading("Against the expected prevalence") + "".join(out))

    def charts(self) -> Html:
        """One SPC (or run) chart per measure with its MDC icons and what it shows in words."""
        parts = [heading("Charts: statistical process control")]
        parts.append(para("Limits are calculated from the baseline and extended (frozen). Points are "
                          "special causes by NHS England's Making Data Count rules applied to the chart "
                          "shown (outside the 3-sigma limits, a run of 7 rising or falling, two of three "
                          "beyond 2 sigma, a run of 7 on one side), coloured blue for improvement, orange "
                          "for concern, purple where neither direction is better; a dashed orange centre "
                          "line marks non-random runs (Anhøj rules). The icons describe the same chart: "
                          "the variation icon is the state of its latest point, the assurance icon "
                          "compares the target with its limits."))
        for m in self.config.measures:
            spc = self.spc.get(m.id)
            if spc is None:
                parts.append(para(f"{m.title}: no data for this site."))
                continue
            parts.append(heading(m.title, 3))
            parts.append(icons_html(spc, m))
            shown, note = self._published(m, spc.result)
            latest = spc.result.loc[spc.result["y"].notna(), "period"]
            if len(latest) and not shown.loc[shown["period"] == latest.iloc[-1], "y"].notna().any():
                note = (note + " " if note else "") + (
                    f"The icons describe the latest month ({fmt_month(latest.iloc[-1])}), whose point rests "
                    "on a small count and is not drawn.")
            if note:
                parts.append(para(note, "notes"))
            if shown["y"].notna().any():
                parts.append(figures.figure_html(self._spc_chart(m, spc, shown, note)))
            parts.append(para(spc.reason[0].upper() + spc.reason[1:] + "."))
            parts.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in spc.findings) + "</ul>")
            if spc.suggestion:
                parts.append(para(spc.suggestion, "notes"))
        return Html("".join(parts))

    def attribution(self) -> Html:
        """What each PDSA category is associated with, per measure (segmented regression)."""
        parts = [heading("Attribution: what each kind of change was associated with"), attribution_section.intro()]
        values = site_values(self.data, self.site_id)  # fit_measure does not change it
        for m in self.config.measures:
            settings = attribution_section.settings_for(self.config, m)
            result = attribution_section.fit_measure(values, self.cycles, m, settings)
            self.attributions[m.id] = result
            # one practice cannot separate several categories: claims only where its own series can,
            # otherwise the network's pooled estimate (fitted once per project)
            pooled = attribution_section.pooled_fit(  # fitted once per project, shared via the report folder
                self.data, m, self.output_dir.parent if self.output_dir is not None else None)
            parts.append(attribution_section.site_section(result, pooled, m, self.cycles, self.site.site_name,
                                                          f"attribution-{m.id}", self.policy, settings.min_points))
        return Html("".join(parts))

    def cycles_table(self) -> Html:
        """The site's PDSA cycles (free text only where the copy's policy publishes it)."""
        fields = ("cycle_id", "site_id", "start", "end", "category", "change_idea", "plan", "do", "study", "act")
        # free text in commissioner/public copies: only the fields the params publish (disclosure.pdsa_text)
        shown = {f: self.policy is None or self.policy.publishes_text(f)
                 for f in ("change_idea", "plan", "do", "study", "act")}
        text = lambda c, f: getattr(c, f) if shown[f] else "not published in this copy"  # noqa: E731
        rows = [[c.cycle_id, c.site_id, c.start.strftime("%Y-%m-%d"),
                 "" if pd.isna(c.end) else c.end.strftime("%Y-%m-%d"), c.category, text(c, "change_idea"),
                 text(c, "plan"), text(c, "do"), text(c, "study"), text(c, "act")]
                for c in _rows(self.cycles, fields)]
        note = self.policy.text_note() if self.policy is not None else ""
        return Html(heading("PDSA cycles") + table(
            ["Cycle", "Site", "Start", "End", "Category", "Change idea", "Plan", "Do", "Study", "Act"], rows,
            f"{len(rows)} PDSA cycles at this site (including network-wide cycles)" + (f". {note}" if note else "")))

    def provenance_block(self) -> Html:
        """Input checksums, versions and commit."""
        return provenance_html(self.provenance)

    # ---- helpers ---------------------------------------------------------------------------
    def _data_range(self) -> str:
        """This site's own data range, with the periods missing from any of its series."""
        periods = pd.concat([s["period"] for s in self.series.values() if len(s)]) if self.series else pd.Series([])
        values = pd.concat([s.loc[s["value"].notna(), "period"] for s in self.series.values() if len(s)]) \
            if self.series else pd.Series([])
        if not len(values):
            return "no data for this site"
        text = f"{fmt_month(values.min())} to {fmt_month(values.max())}"
        missing = sorted(set(periods) - set(values))
        gaps = sorted({g for spc in self.spc.values() for g in spc.gaps} | set(missing))
        if gaps:
            text += " (missing: " + ", ".join(fmt_month(g) for g in gaps) + ")"
        return text

    def _published(self, m: Measure, result: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        """The chart's points for this audience: points resting on small counts removed (a note
        says so). Limits are drawn from the engine's result unchanged."""
        merged = with_counts(result, self.series[m.id])
        return suppress_series(merged, self.policy, multiplier=m.multiplier) if self.policy else (merged, "")

    def _spc_chart(self, m: Measure, spc: MeasureSPC, r: pd.DataFrame, note: str = ""):
        shown = r["y"].notna().to_numpy()
        last = np.flatnonzero(shown)[-1]  # the last point shown
        kind = "Run chart" if spc.chart == "run" else f"{CHART_NAMES.get(spc.chart, spc.chart)} chart"
        alt = (f"{kind} of {m.title.lower()} at {self.site.site_name}, {fmt_month(r['period'].min())} to "
               f"{fmt_month(r['period'].max())}. Centre line {measure_value(m, float(r['cl'].iloc[0]))} "
               f"from the baseline; latest value {measure_value(m, r['y'].iloc[last])} in "
               f"{fmt_month(r['period'].iloc[last])}. "
               f"{int(r['sigma_signal'][shown].sum())} point(s) outside the control limits. "
               + " ".join(spc.findings) + f" {len(self.cycles)} PDSA cycles marked. {note}".rstrip())
        ref = (m.reference.value, m.reference.label) if m.reference else None
        return figures.spc_chart(
            r, chart=spc.chart, improvement_direction=m.improvement_direction, cycles=self.cycles,
            title=m.title, ylabel=m.label, alt=alt, target=m.target, reference=ref,
            baseline_end=pd.Timestamp(self.config.baseline.end), gaps=spc.gaps)

    def results(self) -> dict:
        """Key results as plain JSON-able data (read by later reports)."""
        return {
            "project": self.config.id, "site_id": self.site_id, "site_name": self.site.site_name,
            "list_size": population_value(self.site.list_size), "pdsa_cycles": int(len(self.cycles)),
            "summary": _records(self.summary),
            "spc": {k: {"chart": v.chart, "variation": v.variation, "assurance": v.assurance,
                        "last_point": v.last_point, "reason": v.reason,
                        "findings": v.findings, "suggestion": v.suggestion,
                        "sigma_signals": int(v.result["sigma_signal"].sum()),
                        "runs_signal": bool(v.result["runs_signal"].any())}
                    for k, v in self.spc.items()},
        }


def with_counts(result: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """``result.merge(series[["period", "numerator", "denominator"]], on="period", how="left",
    suffixes=("", "_count"))``: the chart's points with their counts. Without a merge when each
    period is once in the series (as in every measure series) and the names do not clash."""
    left, right = result["period"].to_numpy(), series["period"].to_numpy()
    counts = {c: series[c] for c in ("numerator", "denominator")}
    simple = (len(right) and left.dtype == right.dtype and left.dtype.kind == "M"
              and not np.isnat(left).any() and not np.isnat(right).any()
              and len(np.unique(right)) == len(right)
              and all(isinstance(c.dtype, np.dtype) for c in counts.values())
              and not {"numerator", "denominator"} & set(result.columns) and result.columns.is_unique
              and isinstance(result.index, pd.RangeIndex) and result.index.start == 0 and result.index.step == 1
              and result.index.name is None)
    if not simple:
        return result.merge(series[["period", "numerator", "denominator"]], on="period", how="left",
                            suffixes=("", "_count"))
    order = np.argsort(right, kind="stable")
    at = np.minimum(np.searchsorted(right[order], left), len(right) - 1)
    indexer = np.where(right[order][at] == left, order[at], -1)  # the series row of each point, or −1
    return result.assign(**{c: pd.api.extensions.take(v.to_numpy(), indexer, allow_fill=True)
                            for c, v in counts.items()})


def _records(summary: pd.DataFrame) -> list[dict]:
    """``summary.replace({np.nan: None}).to_dict(orient="records")`` with ``latest_period`` as
    "YYYY-MM": plain Python values, None where missing."""
    values = summary.to_numpy(dtype=object)
    values[pd.isna(values)] = None
    columns = list(summary.columns)
    if "latest_period" in columns:
        j = columns.index("latest_period")
        values[:, j] = [None if t is None else f"{t:%Y-%m}" for t in values[:, j]]
    return [dict(zip(columns, r)) for r in values.tolist()]


def prepare(params_path: str | Path, site_id: str, output_dir: str | Path | None = None,
            audience: str = "evaluator") -> SiteReport:
    """Load the project and compute one site's results (written by :func:`write_results`).

    ``audience``: ``evaluator`` (restricted, full numbers) or ``commissioner`` / ``public`` (the
    params' small-number policy applied to tables, charts and text; see :mod:`qieval.disclosure`).
    ``output_dir`` (relative: from the project root) is where :func:`write_results` writes.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from qieval.demo import write_demo
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = write_demo(root)
    >>> report = prepare(root / "params" / "deprescribing.yaml", "hillside")
    >>> report.site.site_name
    'Hillside Surgery'
    >>> report.summary["measure_id"].tolist()
    ['conversation_offered', 'register_prevalence', 'medicines_per_patient', 'clinician_minutes']
    >>> import shutil; shutil.rmtree(root)
    """
    data = load_project(params_path)
    output_dir = project_path(data.config.root, output_dir)  # relative: from the project root
    if not (data.sites["site_id"].to_numpy() == site_id).any():
        raise ValueError(f"site {site_id!r} is not in {display_path(data.files['sites'])}")
    values = site_values(data, site_id)
    summary = compare_periods(values, data.config)
    series = {m.id: measure_series(values, data.config, m) for m in data.config.measures}
    cycles = site_cycles(data, site_id)
    spc = {m.id: measure_spc(series[m.id], m, cycles) for m in data.config.measures
           if not series[m.id].empty}
    report = SiteReport(data, site_id, summary, series, cycles, spc,
                        provenance=provenance(data.files, data.config.params_path, data.config.root),
                        audience=audience, policy=policy_for(audience, data.config), output_dir=output_dir)
    return report


def write_results(report: SiteReport) -> Path | None:
    """Write ``<output_dir>/<site_id>.json``, the key results later reports read.

    Evaluator copies only (a commissioner or public copy writes nothing); nothing without an
    ``output_dir``. Returns the path written, or None."""
    if report.output_dir is None or report.audience != "evaluator":
        return None
    return write_atomic(path_inside(report.output_dir, f"{report.site_id}.json"),
                        json.dumps(report.results(), indent=1, sort_keys=True, default=str))
