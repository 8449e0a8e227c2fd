"""The conference abstract report: ``notebooks/abstract.ipynb`` → ``reports/<project>/abstract.html``
(abstract, figure, number audit, SQUIRE 2.0 checklist, provenance) and ``abstract.md`` (plain text
to paste into a submission portal).

``prepare`` computes the pooled network results (:func:`qieval.report.network_report.prepare`
without the per-site detail, then the attribution fit per measure, read from the network report's
shared results when it already ran on the same inputs: :mod:`qieval.report.shared_results`), turns them into facts, composes the abstract and enforces
the word and title limits (an :class:`~qieval.errors.InputError` says by how much and which section
is longest). The section methods only format.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd

from ..abstract.audit import audit_table, language_flags, number_check
from ..abstract.compose import Abstract, compose, enforce_limits
from ..abstract.facts import Fact, build_facts
from ..abstract.settings import AbstractSettings, load_settings
from ..abstract.squire import squire_checklist
from ..config import Measure, display_path
from ..disclosure import DisclosurePolicy, policy_for
from .. import figures
from . import attribution_section, shared_results
from ..format import write_atomic
from .html import Html, heading, para, table
from ..format import fmt_month
from .network_report import NetworkReport
from .network_report import prepare as prepare_network
from .site_report import provenance_html
from .plain_summary import measure_value


NOTE_WORDS = {"clear": "the interval excludes no change", "no clear change": "the interval includes no change"}


@dataclass
class AbstractReport:
    """The conference abstract: its settings, the facts every number comes from and the composed text.

    Built by :func:`prepare` on top of a :class:`~qieval.report.network_report.NetworkReport`;
    the section methods return HTML for the notebook."""

    network: NetworkReport
    settings: AbstractSettings
    measures: list[Measure]
    facts: dict[str, Fact]
    text: Abstract
    output_dir: Path | None = None

    @property
    def config(self):
        """The project's validated params (those of the network report)."""
        return self.network.config

    @property
    def policy(self) -> DisclosurePolicy:
        """The small-number policy of this copy (disabled for evaluators)."""
        return self.network.policy if self.network.policy is not None else policy_for("evaluator")

    @property
    def headline(self) -> Measure:
        """The headline measure (``abstract.headline_measure``, else the first measure reported)."""
        return self.config.measure(self.settings.headline_measure or self.measures[0].id)

    # ---- sections -------------------------------------------------------------------------------------
    def title(self) -> Html:
        """The abstract's title and its word and title counts against the limits."""
        s, a = self.settings, self.text
        unit = s.title_limit_unit
        rule = "headings counted" if s.count_headings else "headings not counted"
        return Html(
            f"<header><h1>{escape(a.title)}</h1>"
            + para(f"Conference abstract for {self.config.title} ({self.config.id}): {a.words} of "
                   f"{s.word_limit} words ({rule}); title {a.title_length} of {s.title_limit} {unit}. Every "
                   "number is computed from the project's data; the number audit below says where each "
                   "one comes from.")
            + "</header>")

    def abstract(self) -> Html:
        """The abstract as it will be submitted (headings and paragraphs), then its word counts."""
        out = ['<section class="abstract" aria-label="Abstract">', heading("Abstract")]
        for s in self.text.sections:
            out.append(heading(s.heading, 3) + para(s.text))
        if self.text.keywords:
            out.append(para("Keywords: " + ", ".join(self.text.keywords), "notes"))
        out.append("</section>")
        c = self.text.counts
        rows = [[r.heading, str(r.text_words), str(r.heading_words), str(r.counted)] for r in c.itertuples()]
        rows.append(["Total", str(int(c["text_words"].sum())), str(int(c["heading_words"].sum())),
                     f"{self.text.words} of {self.settings.word_limit}"])
        example = "37,107" if not self.policy.enabled else "1,000"  # the evaluator copy is unchanged
        counts = table(["Section", "Text words", "Heading words", "Counted"], rows,
                       "Word count: whitespace-separated words, as submission portals count "
                       f"(0.2% and {example} are one word each); the title is counted separately.")
        if self.policy.enabled:  # words, not people: exempt from the small-number check
            counts = counts.replace("<td>", '<td data-disclosure="exempt">')
        out.append(counts)
        return Html("".join(out))

    def figure(self) -> Html:
        """The headline measure's network SPC chart (optional: ``abstract.figure``)."""
        m = self.headline
        spc = self.network.spc.get(m.id)
        if not self.settings.figure or spc is None:
            return Html("")
        r = spc.result.dropna(subset=["y"])
        alt = (f"{spc.chart} chart of {m.title.lower()}, all sites pooled, {fmt_month(r['period'].min())} to "
               f"{fmt_month(r['period'].max())}; latest {measure_value(m, r['y'].iloc[-1])}. "
               + " ".join(spc.findings))
        ref = (m.reference.value, m.reference.label) if m.reference else None
        fig = figures.spc_chart(spc.result, chart=spc.chart, improvement_direction=m.improvement_direction,
                                cycles=self.network.chart_cycles(), title=m.title, ylabel=m.label, alt=alt,
                                target=m.target, reference=ref,
                                baseline_end=pd.Timestamp(self.config.baseline.end), gaps=spc.gaps)
        return Html(heading("Figure") + figures.figure_html(
            fig, caption=f"{m.title}: all sites pooled by month, with PDSA cycle starts; limits from the baseline."))

    def audit(self) -> Html:
        """Every figure in the abstract: where it came from and how it was computed."""
        t = audit_table(self.text, self.facts)
        rows = [[r.figure, r.section, "; ".join(x for x in (r.what, r.sites, r.periods) if x),
                 r.method + (f" ({NOTE_WORDS.get(r.note, r.note)})" if r.note else ""),
                 r.source] for r in t.itertuples()]
        out = [heading("Number audit"),
               para("Each figure in the abstract, in order, with the measure, sites and periods it describes, how it "
                    "was computed and where in the results it was read. Not part of the word count."),
               table(["Figure", "Section", "What it is (measure; sites; periods)", "How computed", "Read from"], rows,
                     "Number audit: figures in the abstract and their provenance")]
        check = number_check(self.text, self.facts)
        generated = check.loc[check["origin"] == "generated"]
        unmatched = generated.loc[~generated["matched"]]
        author = check.loc[check["origin"] != "generated"]
        out.append(para(f"{len(generated)} numbers in the generated text, {len(generated) - len(unmatched)} traced to "
                        "a figure above." + (" Untraced: " + ", ".join(unmatched["number"]) if len(unmatched) else "")))
        if len(author):
            out.append(para("Numbers in author-written text (not computed; check them by hand): " + "; ".join(
                f"{r.number} in {r.origin}" for r in author.itertuples()) + ".", "warning"))
        for flag in language_flags(self.text):
            out.append(para(flag, "warning"))
        return Html("".join(out))

    def squire(self) -> Html:
        """SQUIRE 2.0 items 1 (title) and 2 (abstract) as a checklist."""
        t = squire_checklist(self.text, self.facts, self.network.data.pdsa_cycles)
        rows = [[r.item, r.requirement, "covered" if r.covered else "not covered", r.where, r.evidence]
                for r in t.itertuples()]
        return Html(heading("SQUIRE 2.0 checklist: title and abstract")
                    + table(["Item", "Requirement", "Status", "Where", "Evidence"], rows,
                            "SQUIRE 2.0 (Ogrinc et al., BMJ Qual Saf 2016) items 1 and 2, with item 2b's "
                            "structured-summary elements"))

    def provenance_block(self) -> Html:
        """Input checksums, versions and commit of the network report the abstract rests on."""
        return provenance_html(self.network.provenance)


def _fit_attributions(report: NetworkReport, measures: list[Measure]) -> None:
    """Fill ``report.attributions`` as the network report's attribution section does (no HTML)."""
    for m in measures:
        if m.id not in report.attributions:
            report.attributions[m.id] = shared_results.fit_measure(
                report.data.measure_values, report.data.pdsa_cycles, m, report.output_dir,
                attribution_section.settings_for(report.config, m), wait=True)


def prepare(params_path: str | Path, output_dir: str | Path | None = None,
            audience: str = "evaluator") -> AbstractReport:
    """Compute the pooled results, compose the abstract and enforce its limits. ``audience`` as in
    :func:`qieval.report.site_report.prepare`: commissioner/public copies print the figures with the
    small-number policy applied (:func:`qieval.abstract.facts.publish`), and so does ``abstract.md``."""
    network = prepare_network(params_path, output_dir, audience=audience, site_detail=False)
    config = network.config
    settings = load_settings(config)
    ids = settings.measures or [m.id for m in config.measures]
    measures = [config.measure(i) for i in ids]
    _fit_attributions(network, measures)
    facts = build_facts(network, measures, network.policy)
    time_effects = {r.time_effects for r in network.attributions.values()
                    if not isinstance(r, str) and r.time_effects != "none"}
    cycles = network.data.pdsa_cycles
    categories = [c for c in config.categories if c in set(cycles["category"])] + sorted(
        set(cycles["category"]) - set(config.categories))
    text = compose(facts, config, settings, measures, time_effects, categories)
    enforce_limits(text, config)
    return AbstractReport(network, settings, measures, facts, text,
                          network.output_dir)


def markdown(report: AbstractReport) -> str:
    """Plain text to paste into a portal: title, then each heading and its paragraph, keywords."""
    a = report.text
    out = [a.title, ""]
    for s in a.sections:
        out += [s.heading, "", s.text, ""]
    if a.keywords:
        out += ["Keywords: " + ", ".join(a.keywords), ""]
    return "\n".join(out)


def write_markdown(report: AbstractReport) -> Html:
    """Write ``<output_dir>/abstract.md`` atomically; return a note saying where."""
    if report.output_dir is None:
        return Html(para("No output folder given: abstract.md not written."))
    path = Path(report.output_dir) / "abstract.md"
    write_atomic(path, markdown(report))
    return Html(para(f"Plain text for the submission portal: {display_path(path)} "
                     f"({report.text.words} words, title separate)."))
