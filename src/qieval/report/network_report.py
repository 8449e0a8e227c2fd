"""The network-level report: every site of a project pooled.

Four practices with staggered starts can separate what one practice cannot, so attribution here
uses all sites (site and calendar-month fixed effects). The report also compares sites on each
measure (funnel plots) and shows the icon matrix boards read (site × measure: MDC variation and
assurance, latest value, target).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import pandas as pd

from ..config import Measure, project_path
from ..disclosure import policy_for, suppress_series
from ..io.load import load_project
from ..measures.series import measure_series, pooled_coverage, pooled_values
from ..measures.summary import compare_periods
from ..spc.measure_chart import MeasureSPC, icon_summary, measure_spc, site_comparison
from .. import figures
from . import attribution_section, shared_results
from .base import ProjectReport
from .by_site import BySite
from .icon_matrix import glance_html, matrix_html
from .html import Html, definition_list, heading, para
from ..format import fmt_month, write_atomic
from .plain_summary import measure_value, population_item, population_value, what_this_means
from .provenance import provenance
from .site_report import (ASSURANCE_WORDS, CHART_NAMES, VARIATION_WORDS, with_counts, dispersion_notes,
                          icons_html, measures_table_html, provenance_html)


@dataclass
class NetworkReport(ProjectReport):
    """The network report: pooled series, their summary and charts, each site's charts, coverage.

    Built by :func:`prepare`; the section methods return HTML for the notebook and
    :func:`write_results` writes ``network.json``."""

    pooled: pd.DataFrame
    summary: pd.DataFrame
    spc: dict[str, MeasureSPC]
    site_spc: list[tuple[str, Measure, MeasureSPC]]
    coverage: pd.DataFrame  # pooled_coverage(): which sites each network period rests on
    attributions: dict = field(default_factory=dict)

    def title(self) -> Html:
        """Heading: project, network, sites, periods and data range, and the plain-English summary."""
        c, s = self.config, self.data.sites
        periods = self.data.measure_values["period"]
        items = [
            ("Project", c.title), ("Network", c.network or ", ".join(sorted(set(s["network"])))),
            ("Sites", f"{len(s)} ({', '.join(s['site_name'])})" if len(s) <= LIST_SITES
             else f"{len(s)} (each listed, with a link to its report, in the icon matrix)"),
            *population_item(c, s["list_size"]),
            ("PDSA cycles", f"{len(self.data.pdsa_cycles)} from {fmt_month(self.data.pdsa_cycles['start'].min())} "
                            f"to {fmt_month(self.data.pdsa_cycles['end'].max())}"),
            ("Baseline", f"{fmt_month(c.baseline.start)} to {fmt_month(c.baseline.end)}"),
            ("Intervention", f"{fmt_month(c.intervention.start)} to {fmt_month(c.intervention.end)}"),
            ("Data", f"{fmt_month(periods.min())} to {fmt_month(periods.max())}; {c.data.provenance}"),
        ]
        ranges = self._site_ranges()
        if ranges:
            items.append(("Sites with a shorter or broken series", ranges))
        links = (" · ".join(f'<a href="sites/{escape(x)}.html">{escape(n)}</a>'
                            for x, n in zip(s["site_id"], s["site_name"])) if len(s) <= LIST_SITES
                 else '<a href="#icon-matrix">in the icon matrix</a> (find, filter and sort the sites there)')
        return Html(f"<header><h1>{escape(c.title)}: network report</h1>" + definition_list(items)
                    + f"<p>Site reports: {links}</p></header>" + self.what_this_means())

    def what_this_means(self) -> Html:
        """Plain-English summary for a commissioner: the pooled results, and how many sites show
        improvement or concern on each measure (see plain_summary)."""
        box = what_this_means(self.config, self.summary, self.spc, "all sites pooled", self.policy)
        from .plain_summary import verdict

        lines = []
        n = len(self.config.sites)
        for m in self.config.measures:
            kinds = [verdict(s) for site, mm, s in self.site_spc if mm.id == m.id]
            better, worse = kinds.count("improvement"), kinds.count("concern")
            if better or worse:
                lines.append(f"{m.title}: improving at {better} of {n} sites, getting worse at {worse}.")
        if not lines:
            return box
        extra = "".join(f"<li>{escape(x)}</li>" for x in lines)
        return Html(box.replace("</ul></section>", f"</ul><p>Site by site:</p><ul>{extra}</ul></section>"))

    def aim(self) -> Html:
        """The aim statement (``aim:`` in the params)."""
        a = self.config.aim
        return Html(heading("Aim") + f'<blockquote class="aim">{escape(a.statement)}</blockquote>')

    def _site_ranges(self) -> str:
        """Each site whose data do not cover the whole project range, with its actual range."""
        v = self.data.measure_values
        names = dict(zip(self.data.sites["site_id"], self.data.sites["site_name"]))
        lo, hi = v["period"].min(), v["period"].max()
        out = []
        for site_id, g in v.groupby("site_id", sort=True):
            per_measure = g.groupby("measure_id")["period"].agg(["min", "max", "nunique"])
            full = self.config.frequency == "month" and all(
                r["nunique"] == (r["max"].year - r["min"].year) * 12 + r["max"].month - r["min"].month + 1
                for _, r in per_measure.iterrows())
            if g["period"].min() > lo or g["period"].max() < hi or not full:
                words = f"{names.get(site_id, site_id)}: {fmt_month(g['period'].min())} to {fmt_month(g['period'].max())}"
                out.append(words if full else words + " with months missing")
        return "; ".join(out)

    def _coverage_note(self, m: Measure) -> tuple[str, list]:
        """A sentence on the network periods some sites did not report, and those periods."""
        cov = self.coverage.loc[(self.coverage["measure_id"] == m.id) & (self.coverage["missing_sites"] != "")]
        if cov.empty:
            return "", []
        groups = []
        step = pd.Timedelta(days=7) if self.config.frequency == "week" else None
        for missing, g in cov.groupby("missing_sites", sort=False):
            months = sorted(g["period"])
            runs, start = [], 0  # consecutive periods as "A to B", others one by one
            for k in range(1, len(months) + 1):
                nxt = months[k - 1] + step if step is not None else months[k - 1] + pd.offsets.MonthBegin(1)
                if k == len(months) or months[k] != nxt:
                    a, b = months[start], months[k - 1]
                    runs.append(fmt_month(a) if a == b else f"{fmt_month(a)} to {fmt_month(b)}")
                    start = k
            groups.append(f"{', '.join(runs)} ({len(months)} period(s); missing: {missing})")
        if m.unit == "count":
            return ("Left out of the network chart and table, because a total over fewer sites is not "
                    "comparable: " + "; ".join(groups) + "."), []
        return ("Computed from the sites present and ringed on the chart: " + "; ".join(groups) + "."), \
            list(cov["period"])

    def measures_table(self) -> Html:
        """Baseline vs intervention of every measure, all sites pooled, with coverage notes."""
        table_html = measures_table_html(self.summary, self.config,
                                         "Measures: baseline vs intervention (all sites pooled)", self.policy)
        notes = [f"{m.title}: {n}" for m in self.config.measures for n in [self._coverage_note(m)[0]] if n]
        if notes:
            table_html = Html(table_html + "<ul class='notes'>" + "".join(f"<li>{escape(n)}</li>" for n in notes)
                              + "</ul>")
        return Html(table_html + dispersion_notes(self.spc, self.config))

    def icon_matrix(self) -> Html:
        """Sites at a glance (counts per measure), then the site × measure matrix: MDC variation and
        assurance icons with the latest value and target, sortable and filterable
        (:mod:`qieval.report.icon_matrix`)."""
        tidy = icon_summary(self.site_spc)
        measures = self.config.measures
        names = dict(zip(self.data.sites["site_id"], self.data.sites["site_name"]))
        return Html(heading("Sites at a glance") + glance_html(tidy, measures, len(self.config.sites))
                    + heading("Icon matrix")
                    + matrix_html(tidy, measures, list(self.config.sites), names, self._latest_text, measure_value,
                                  VARIATION_WORDS, ASSURANCE_WORDS, self._withheld))

    def _latest_text(self, site_id: str, m: Measure, value: float, period) -> str:
        """A site's latest value, or the suppression marker when it rests on a small count."""
        return self.policy.marker if self._withheld(site_id, m, period) else measure_value(m, value)

    def _withheld(self, site_id: str, m: Measure, period) -> bool:
        """Whether a site's latest value rests on a count the audience's policy suppresses."""
        if self.policy is not None and self.policy.enabled and m.unit in ("percent", "rate", "count"):
            counts = self.__dict__.get("_counts")
            if counts is None:  # (site, measure, period) → (numerator, denominator), built once
                v = self.data.measure_values
                counts = self.__dict__["_counts"] = dict(zip(
                    zip(v["site_id"], v["measure_id"], v["period"]), zip(v["numerator"], v["denominator"])))
            row = counts.get((site_id, m.id, pd.Timestamp(period)))
            return row is not None and bool(self.policy.is_small(row[0]) or self.policy.is_small(row[1]))
        return False

    def charts(self) -> Html:
        """The pooled SPC chart of every measure, with the notes each chart needs."""
        parts = [heading("Network charts: statistical process control"),
                 para("Network totals per month (numerators and denominators summed over the sites; "
                      "continuous measures averaged). Limits from the baseline. A month some sites did "
                      "not report is named under its chart: computed from the sites present and ringed, "
                      "or, for counts, left out.")]
        cycles = self.chart_cycles()
        if len(cycles) < len(self.data.pdsa_cycles):
            parts.append(para(CYCLES_NOTE.format(n=len(self.config.sites)), "notes"))
        for m in self.config.measures:
            spc = self.spc.get(m.id)
            if spc is None:
                continue
            parts.append(heading(m.title, 3))
            parts.append(icons_html(spc, m))
            result, hidden = self._published(m, spc.result)  # small pooled counts: not drawn
            if hidden:
                parts.append(para(hidden, "notes"))
            r = result.dropna(subset=["y"])
            if r.empty:
                continue
            alt = (f"{CHART_NAMES.get(spc.chart, spc.chart)} chart of {m.title.lower()}, all sites pooled, "
                   f"{fmt_month(r['period'].min())} to "
                   f"{fmt_month(r['period'].max())}; latest {measure_value(m, r['y'].iloc[-1])}. "
                   + " ".join(spc.findings))
            ref = (m.reference.value, m.reference.label) if m.reference else None
            note, partial = self._coverage_note(m)
            if note:
                parts.append(para(note, "notes"))
                alt += " " + note
            if hidden:
                alt += " " + hidden
            parts.append(figures.figure_html(figures.spc_chart(
                result, chart=spc.chart, improvement_direction=m.improvement_direction, cycles=cycles,
                title=m.title, ylabel=m.label, alt=alt, target=m.target, reference=ref,
                baseline_end=pd.Timestamp(self.config.baseline.end), gaps=spc.gaps, partial=partial)))
            parts.append(para(spc.reason[0].upper() + spc.reason[1:] + "."))
            parts.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in spc.findings) + "</ul>")
        return Html("".join(parts))

    def _published(self, m: Measure, result: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        """The pooled chart's points for this audience: those resting on a small pooled count are
        not drawn (a note says so), as in the site report; limits are the engine's, unchanged."""
        if self.policy is None or not self.policy.enabled or m.unit == "continuous":
            return result, ""
        return suppress_series(with_counts(result, measure_series(self.pooled, self.config, m)), self.policy,
                               multiplier=m.multiplier)

    def funnels(self) -> Html:
        """Sites compared on each proportion or rate over the intervention period (funnel plots)."""
        parts = [heading("Sites compared: funnel plots"),
                 para("Each site's value over the intervention period against its denominator; the "
                      "limits narrow as the denominator grows. Points outside the 3σ limits differ from "
                      "the network more than chance would explain. Laney′s p′/u′ limits are used when "
                      "denominators are large.")]
        v = self.data.measure_values
        i0, i1 = pd.Timestamp(self.config.intervention.start), pd.Timestamp(self.config.intervention.end)
        names = dict(zip(self.data.sites["site_id"], self.data.sites["site_name"]))
        for m in self.config.measures:
            if m.unit not in ("percent", "rate"):
                continue
            small = self.policy.is_small if self.policy is not None and self.policy.enabled else None
            r, chart, _ = site_comparison(v, m, i0, i1, names, small)
            if r is None:
                continue
            outside = [str(x) for x in r.loc[r["sigma_signal"].astype(bool), "x"]]
            alt = (f"Funnel plot of {m.title.lower()} by site over the intervention period "
                   f"({fmt_month(i0)} to {fmt_month(i1)}); network value {measure_value(m, r['cl'].iloc[0])}. "
                   + site_values_words(r, lambda y: measure_value(m, y))
                   + (f". Outside the 3σ limits: {', '.join(outside)}." if outside else ". All sites within the limits."))
            parts.append(figures.figure_html(figures.funnel_plot(
                r, title=f"{m.title} ({CHART_NAMES[chart]} limits)",
                ylabel=m.label, alt=alt)))
        return Html("".join(parts))

    def attribution(self) -> Html:
        """Segmented regression of every measure over all sites pooled (see :mod:`qieval.attribution`)."""
        parts = [heading("Attribution: all sites pooled"), attribution_section.intro(),
                 para("Pooling the sites adds site and calendar-month fixed effects, which protect against "
                      "events that hit every practice at once; staggered starts let categories be separated "
                      "that a single practice cannot separate.")]
        cycles = self.data.pdsa_cycles
        for m in self.config.measures:
            result = shared_results.fit_measure(self.data.measure_values, cycles, m, self.output_dir,
                                                attribution_section.settings_for(self.config, m))
            self.attributions[m.id] = result
            parts.append(attribution_section.section(result, m, self.chart_cycles(), "all sites", f"attribution-{m.id}",
                                                     self.policy))
        return Html("".join(parts))

    def chart_cycles(self) -> pd.DataFrame:
        """PDSA cycles drawn on the network charts: every cycle up to :data:`LIST_SITES` sites; beyond,
        the first start of each category at any site (hundreds of staggered lines say nothing)."""
        return network_cycles(self.data.pdsa_cycles, len(self.config.sites))

    def provenance_block(self) -> Html:
        """Input checksums, versions and commit."""
        return provenance_html(self.provenance)

    def results(self) -> dict:
        """Key results as plain JSON-able data (``network.json``, read by later reports)."""
        out = {"project": self.config.id, "sites": list(self.config.sites),
               "list_size": population_value(self.data.sites["list_size"].sum(min_count=1)),
               "pdsa_cycles": int(len(self.data.pdsa_cycles)),
               "summary": json.loads(self.summary.to_json(orient="records", date_format="iso")),
               "spc": {k: {"chart": v.chart, "variation": v.variation, "assurance": v.assurance,
                           "last_point": v.last_point, "reason": v.reason,
                           "findings": v.findings} for k, v in self.spc.items()}}
        out["attribution"] = {
            k: (v if isinstance(v, str) else json.loads(v.effects.to_json(orient="records")))
            for k, v in self.attributions.items()}
        return out


#: Up to this many sites the header names each site and links to its report (beyond, the icon matrix does).
LIST_SITES = 12


CYCLES_NOTE = ("With {n} sites the charts mark only the first start of each PDSA category at any site; each "
               "site's report shows its own cycles.")


def network_cycles(cycles: pd.DataFrame, n_sites: int) -> pd.DataFrame:
    """``cycles`` when ``n_sites`` <= :data:`LIST_SITES`; otherwise one row per category, its earliest
    start (``cycle_id`` = "<category> first")."""
    if n_sites <= LIST_SITES or cycles.empty:
        return cycles
    first = cycles.sort_values("start", kind="stable").groupby("category", sort=False).head(1)
    return first.assign(cycle_id=first["category"].astype(str) + " first").reset_index(drop=True)


def site_values_words(r: pd.DataFrame, fmt) -> str:
    """Each site's value for a funnel plot's alt text (``x: y; …``); with more sites than the plot
    names (:data:`qieval.figures.FUNNEL_LABEL_ALL`) the range and the outliers' values instead
    (the table of every site is the icon matrix)."""
    if len(r) <= figures.FUNNEL_LABEL_ALL:
        return "; ".join(f"{row.x}: {fmt(row.y)}" for row in r.itertuples())
    out = r.loc[r["sigma_signal"].astype(bool)]
    lo, hi = r.loc[r["y"].idxmin()], r.loc[r["y"].idxmax()]
    return (f"{len(r)} sites, from {fmt(lo['y'])} ({lo['x']}) to {fmt(hi['y'])} ({hi['x']})"
            + ("; " + "; ".join(f"{row.x}: {fmt(row.y)}" for row in out.itertuples()) if len(out) else ""))


def prepare(params_path: str | Path, output_dir: str | Path | None = None,
            audience: str = "evaluator", site_detail: bool = True) -> NetworkReport:
    """Load the project and compute the pooled results (attribution runs in its section).
    ``audience`` as in :func:`qieval.report.site_report.prepare`. ``site_detail=False`` skips the
    per-site SPC of the icon matrix (the abstract needs only the pooled results)."""
    data = load_project(params_path)
    by_site = BySite(data) if site_detail else None
    pooled = pooled_values(data.measure_values, data.config)
    coverage = pooled_coverage(data.measure_values, data.config.frequency)
    summary = compare_periods(pooled, data.config)
    spc, site_spc = {}, []
    for m in data.config.measures:
        s = measure_series(pooled, data.config, m)
        if not s.empty:
            spc[m.id] = measure_spc(s, m, data.pdsa_cycles)
        for site_id in data.config.sites if by_site is not None else ():
            ss = measure_series(by_site.values(site_id), data.config, m)
            if not ss.empty:
                site_spc.append((site_id, m, measure_spc(ss, m, by_site.cycles(site_id))))
    return NetworkReport(data, pooled, summary, spc, site_spc, coverage,
                         provenance=provenance(data.files, data.config.params_path, data.config.root),
                         output_dir=project_path(data.config.root, output_dir),
                         audience=audience, policy=policy_for(audience, data.config))


def write_results(report: NetworkReport) -> Path | None:
    """Write ``network.json`` (call after the attribution section has run)."""
    out = report.output_dir
    if out is None or report.audience != "evaluator":
        return None
    return write_atomic(out / "network.json", json.dumps(report.results(), indent=1, sort_keys=True, default=str))
