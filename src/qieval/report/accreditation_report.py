"""The accreditation report: one report across every site of a project, read by commissioners.

Order (plain English first): summary sentences and the status table (the same rows as
``accreditation_status.csv``), the site × standard matrix (baseline → latest level, RAG-coloured
and readable without colour), the linked measures checked against the data with their MDC icons,
progression over rounds, the network comparison (funnel plots), the framework itself, provenance.

``prepare`` loads and validates the project, the framework and the assessments, and evaluates the
rules once (:mod:`qieval.accreditation`); the section methods only format the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd

from ..accreditation import status_rules
from ..accreditation.measure_checks import measure_checks, round_dates, window
from ..accreditation.evaluation import (Evaluation, evaluate, fmt_value, shown_value, summary_sentences,
                                      write_status_csv)
from ..config import Measure, project_path
from ..disclosure import DisclosurePolicy, policy_for
from ..io.assessments import load_assessments
from ..io.load import ProjectData, load_project
from ..io.readers import find_table
from ..io.standards import Framework, load_for_project, settings
from ..measures.series import measure_series
from ..spc.icons import assurance_icon_svg, variation_icon_svg
from ..spc.measure_chart import MeasureSPC, measure_spc, site_comparison
from .. import figures
from .base import ProjectReport
from .by_site import BySite
from .network_report import site_values_words
from .html import Html, definition_list, heading, para, table
from ..format import fmt_month
from .provenance import provenance
from .site_report import ASSURANCE_WORDS, CHART_NAMES, VARIATION_WORDS, provenance_html

#: RAG colours (NHS palette, dark text passes WCAG AA on each) and the words that carry the meaning
#: without colour.
RAG = {"green": ("#C8E6C9", "met"), "amber": ("#FFE0B2", "partly"), "red": ("#F8BBD0", "not met")}
MARK = {"green": "✓", "amber": "◐", "red": "✗"}


@dataclass
class AccreditationReport(ProjectReport):
    """The accreditation summary: framework, validated assessments, their evaluation and linked-measure charts.

    Built by :func:`prepare`; the section methods return HTML for the notebook."""

    framework: Framework
    assessments: pd.DataFrame
    evaluation: Evaluation
    spc: dict[tuple[str, str], MeasureSPC]

    @property
    def status(self) -> pd.DataFrame:
        """One row per site: status, history and reasons (``evaluation.status``)."""
        return self.evaluation.status

    def _names(self) -> dict[str, str]:
        names = self.__dict__.get("_names_cache")  # built once: every site link reads it
        if names is None:
            names = self.__dict__["_names_cache"] = dict(zip(self.data.sites["site_id"], self.data.sites["site_name"]))
        return names

    def _site_link(self, site_id: str) -> str:
        return f'<a href="sites/{escape(site_id)}.html">{escape(self._names()[site_id])}</a>'

    # --- sections ---------------------------------------------------------------------------

    def title(self) -> Html:
        """Heading: project, framework, sites, rounds, the accreditation rule and links to each site."""
        c, f = self.config, self.framework
        dates = (self.evaluation.rounds.sort_values("round_no")
                 .groupby("round", sort=False)["assessed_on"].max())
        items = [
            ("Project", c.title), ("Framework", f"{f.title} ({len(f.standards)} standards)"),
            ("Sites", f"{len(c.sites)} ({', '.join(self._names()[s] for s in c.sites)})"),
            ("Rounds", ", ".join(f"{n} ({fmt_month(d)})" for n, d in dates.items())),
            ("Accreditation rule", accreditation_rule_words(f)),
        ]
        links = " · ".join(self._site_link(s) for s in c.sites)
        return Html(f"<header><h1>{escape(c.title)}: accreditation against the standards</h1>"
                    + definition_list(items) + f"<p>Site reports: {links}</p></header>")

    def summary(self) -> Html:
        """Plain-English summary first, then one row per site as in accreditation_status.csv."""
        sentences = summary_sentences(self.status)
        out = [heading("Summary", anchor="summary"),
               '<ul id="accreditation-summary">' + "".join(f"<li>{escape(s)}</li>" for s in sentences)
               + "</ul>"]
        rows = []
        for r in self.status.itertuples(index=False):
            rows.append(f'<tr><th scope="row">{self._site_link(r.site_id)}</th><td>{escape(r.status)}</td>'
                        f"<td>{escape(r.history)}</td><td>{escape(r.latest_round)}</td>"
                        f"<td>{r.standards_met} of {r.standards_total}</td>"
                        f"<td>{r.measures_met} of {r.measures_total}</td><td>{escape(r.reasons)}</td></tr>")
        out.append('<table class="qi-table" id="accreditation-status"><caption>Status of each site at its '
                   "latest assessment (as in accreditation_status.csv)</caption><thead><tr>"
                   + "".join(f'<th scope="col">{h}</th>' for h in
                             ("Site", "Status", "History", "Latest round", "Standards met",
                              "Linked measures met", "Reasons"))
                   + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
        return Html("".join(out))

    def matrix(self) -> Html:
        """Site × standard: baseline → latest level, RAG-coloured, with the meaning in words."""
        f, rule = self.framework, self.framework.accreditation
        s = self.evaluation.standards
        checks = self.evaluation.checks
        head = "".join(f'<th scope="col" title="{escape(x.title)}">{escape(x.id)}<br>'
                       f'<span class="notes">{escape(x.title)}</span></th>' for x in f.standards)
        out = ['<table class="qi-table" id="accreditation-matrix"><caption>Level of each standard at '
               "baseline → latest round (levels " + escape(", ".join(f"{k} {v}" for k, v in sorted(f.levels.items())))
               + f"). ✓ met (level {rule.min_level}+ with evidence), ◐ partly (level below "
               f"{rule.min_level} but above 0, or no evidence), ✗ not met; ⚠ self-assessed as met but "
               "the linked measure says otherwise.</caption><thead><tr><th scope=\"col\">Site</th>"
               '<th scope="col">Status</th>' + head + "</tr></thead><tbody>"]
        s_by, c_by = _split(s), _split(checks)
        for st in self.status.itertuples(index=False):
            out.append(f'<tr><th scope="row">{self._site_link(st.site_id)}</th><td>{escape(st.status)}</td>')
            site = s_by.get(st.site_id, s.iloc[:0])
            if site.empty:
                out.append("".join("<td>not assessed</td>" for _ in f.standards) + "</tr>")
                continue
            last_round = site["round_no"].max()
            latest = site.loc[site["round_no"] == last_round].set_index("standard_id")
            base = site.loc[site["round_no"] == 0].set_index("standard_id")
            c = c_by.get(st.site_id, checks.iloc[:0])
            c = c.loc[c["round_no"] == last_round]
            failing = set(c.loc[~c["meets"], "standard_id"])
            for x in f.standards:
                out.append(_matrix_cell(latest.loc[x.id], base["level"].get(x.id), x.id in failing))
            out.append("</tr>")
        out.append("</tbody></table>")
        return Html(heading("Standards by site", anchor="matrix") + "".join(out))

    def measures(self) -> Html:
        """Each linked measure: its value in each round's window against the threshold, and the
        MDC icons of the monthly series (assurance judged against the accreditation threshold)."""
        parts = [heading("Linked measures: the evidence checked against the data", anchor="measures"),
                 para(f"Each linked measure is pooled over the {self.framework.accreditation.measure_window_months} "
                      "whole months before the month of the round's assessment (percentages as total "
                      "numerator over total denominator). A value equal to the threshold meets it. The "
                      "Making Data Count icons describe each site's monthly series with limits "
                      "recalculated at the start of the intervention period; the assurance icon compares "
                      "the current limits with the accreditation threshold.")]
        checks = self.evaluation.checks
        names = self._names()
        for standard, link in self.framework.linked():
            m = self.config.measure(link.id)
            sub = checks.loc[(checks["standard_id"] == standard.id) & (checks["round_no"] > 0)]
            rounds = list(dict.fromkeys(sub.sort_values("round_no")["round"]))
            parts.append(heading(f"{standard.id} {standard.title}: {m.title} "
                                 f"{rules_words(link.comparison)} {link.threshold:g}{_unit(m)}", 3))
            if link.rationale:
                parts.append(para(link.rationale, "notes"))
            rows = []
            first = {key: pos[0] for key, pos in sub.groupby(["site_id", "round"], sort=False).indices.items()} \
                if len(sub) else {}
            for site_id in self.config.sites:
                cells = [f'<th scope="row">{self._site_link(site_id)}</th>']
                for rnd in rounds:
                    at = first.get((site_id, rnd))
                    cells.append("<td>–</td>" if at is None else
                                 f"<td>{escape(_check_words(sub.iloc[at], m, self.policy))}</td>")
                cells.append(f"<td>{self._icons(site_id, m)}</td>")
                rows.append("<tr>" + "".join(cells) + "</tr>")
            parts.append(f'<table class="qi-table"><caption>{escape(m.title)} by site and round '
                         f"(window of each round in brackets) and the monthly series' icons</caption>"
                         '<thead><tr><th scope="col">Site</th>'
                         + "".join(f'<th scope="col">{escape(r)}</th>' for r in rounds)
                         + '<th scope="col">Making Data Count</th></tr></thead><tbody>' + "".join(rows)
                         + "</tbody></table>")
            contra = [f"{names[x.site_id]}: {standard.id} self-assessed at level {int(x.level)} (met) in "
                      f"{x.round}, but {shown_value(x, self.policy)}{_unit(m)} in {fmt_month(x.window_start)} to "
                      f"{fmt_month(x.window_end)} does not meet the threshold of "
                      f"{rules_words(link.comparison)} {link.threshold:g}{_unit(m)}"
                      for x in self._contradictions(standard.id)]
            if contra:
                parts.append("<p><strong>Self-assessment contradicted by the data:</strong></p><ul>"
                             + "".join(f"<li>{escape(t)}</li>" for t in contra) + "</ul>")
        return Html("".join(parts))

    def progression(self) -> Html:
        """Standards met per round for every site (table and chart)."""
        r = self.evaluation.rounds
        names = self._names()
        rounds = list(dict.fromkeys(r.sort_values("round_no")["round"]))
        rows = []
        r_by = _split(r)
        for site_id in self.config.sites:
            g = r_by.get(site_id, r.iloc[:0]).set_index("round")
            row = [names[site_id]]
            for rnd in rounds:
                if rnd not in g.index:
                    row.append("not assessed")
                    continue
                x = g.loc[rnd]
                row.append(f"{x['standards_met']} of {x['standards_total']} standards met; "
                           f"{x['measures_met']} of {x['measures_total']} measures met; "
                           + ("accredited" if x["accredited"] else "not accredited"))
            rows.append(row)
        total = len(self.framework.standards)
        if len(self.config.sites) > MAX_SITE_BARS:  # a bar per site is unreadable: sites per count instead
            counts = r.groupby(["round", "standards_met"]).size()
            alt = (f"Bar chart of the number of sites by standards met (of {total}) at each round. "
                   + " ".join(f"{rnd}: " + ", ".join(f"{int(k)} met at {n} site(s)" for (x, k), n in counts.items()
                                                     if x == rnd) + "." for rnd in rounds))
            fig = progression_distribution_chart(r, total, alt)
        else:
            alt = ("Bar chart of the number of standards met (of " f"{total}) at each round, one bar per site. "
                   + " ".join(f"{names[s]}: " + ", ".join(
                       f"{x.round} {x.standards_met}" + (" (accredited)" if x.accredited else "")
                       for x in r_by.get(s, r.iloc[:0]).itertuples()) + "." for s in self.config.sites))
            fig = progression_chart(r, names, total, alt)
        return Html(heading("Progression over rounds", anchor="progression")
                    + table(["Site", *rounds], rows, "Standards and linked measures met at each round")
                    + figures.figure_html(fig))

    def funnels(self) -> Html:
        """Sites compared on each linked measure over the latest window (funnel plots)."""
        months = self.framework.accreditation.measure_window_months
        v = self.data.measure_values
        last = v["period"].max()
        start, end = window(last + pd.offsets.MonthBegin(1), months)
        parts = [heading("Sites compared: funnel plots", anchor="funnels"),
                 para(f"Each site's linked measure pooled over the latest {months} months of data "
                      f"({fmt_month(start)} to {fmt_month(end)}) against its denominator; points outside "
                      "the 3σ limits differ from the network more than chance would explain.")]
        names = self._names()
        for standard, link in self.framework.linked():
            m = self.config.measure(link.id)
            if m.unit not in ("percent", "rate"):
                continue
            small = self.policy.is_small if self.policy is not None and self.policy.enabled else None
            r, chart, left_out = site_comparison(v, m, start, end, names, small)
            if left_out:
                parts.append(para(f"{m.title}: {left_out} site(s) left out of the funnel plot "
                                  "(small numbers).", "notes"))
            if r is None:
                parts.append(para(f"{m.title}: fewer than 3 sites with data; no funnel plot."))
                continue
            outside = [str(x) for x in r.loc[r["sigma_signal"].astype(bool), "x"]]
            alt = (f"Funnel plot of {m.title.lower()} by site, {fmt_month(start)} to {fmt_month(end)}; network "
                   f"value {fmt_value(r['cl'].iloc[0], m.decimals)}{_unit(m)}; accreditation threshold "
                   f"{rules_words(link.comparison)} {link.threshold:g}{_unit(m)}. "
                   + site_values_words(r, lambda y: fmt_value(y, m.decimals))
                   + (f". Outside the 3σ limits: {', '.join(outside)}." if outside
                      else ". All sites within the limits."))
            fig = figures.funnel_plot(r, title=f"{standard.id}: {m.title} ({CHART_NAMES[chart]} limits)",
                                      ylabel=m.label, alt=alt)
            _threshold_line(fig, link.threshold, f"accreditation threshold {rules_words(link.comparison)} "
                                                 f"{link.threshold:g}{_unit(m)}")
            parts.append(figures.figure_html(fig))
        return Html("".join(parts))

    def framework_table(self) -> Html:
        """The standards themselves: what met looks like, the evidence that counts, the measure."""
        rows = []
        for s in self.framework.standards:
            link = ("–" if s.measure is None else
                    f"{self.config.measure(s.measure.id).title} {rules_words(s.measure.comparison)} "
                    f"{s.measure.threshold:g}{_unit(self.config.measure(s.measure.id))}")
            rows.append([f"{s.id} {s.title}", s.met, "; ".join(s.evidence), link])
        levels = "; ".join(f"{k} {v}" for k, v in sorted(self.framework.levels.items()))
        return Html(heading("The standards", anchor="standards")
                    + para(f"{self.framework.title}. Levels: {levels}. {self.framework.source}")
                    + table(["Standard", "What met looks like", "Evidence that counts", "Linked measure"],
                            rows, "The framework of standards (params/standards)"))

    def provenance_block(self) -> Html:
        """Input checksums, versions and commit."""
        return provenance_html(self.provenance)

    # --- helpers ----------------------------------------------------------------------------

    def _contradictions(self, standard_id: str) -> list:
        s, c = self.evaluation.standards, self.evaluation.checks
        rule = self.framework.accreditation
        merged = c.loc[c["standard_id"] == standard_id].merge(
            s[["site_id", "round_no", "standard_id", "level"]], on=["site_id", "round_no", "standard_id"])
        latest = merged.groupby("site_id")["round_no"].transform("max") == merged["round_no"]
        return [x for x in merged.loc[latest].itertuples(index=False)
                if status_rules.contradicted(x.level, x.meets, rule)]

    def _icons(self, site_id: str, m: Measure) -> str:
        spc = self.spc.get((site_id, m.id))
        if spc is None or not spc.variation:
            return "icons need at least 12 months"
        icons = variation_icon_svg(spc.variation, m.improvement_direction)
        words = VARIATION_WORDS.get(spc.variation, spc.variation)
        if spc.assurance:
            icons += assurance_icon_svg(spc.assurance)
            words += "; threshold: " + ASSURANCE_WORDS.get(spc.assurance, spc.assurance).replace("target ", "")
        return f'<div class="icons">{icons}</div><span class="notes">{escape(words)}</span>'


def _split(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each site's rows of ``frame`` (table order), split once instead of filtered per site."""
    if frame.empty:
        return {}
    return {k: frame.take(v) for k, v in frame.groupby("site_id", sort=False).indices.items()}


def rules_words(comparison: str) -> str:
    """The comparison of a linked-measure threshold as a sign: ``">="`` → "≥", ``"<="`` → "≤"."""
    return {">=": "≥", "<=": "≤"}[comparison]


def _unit(m: Measure) -> str:
    """The unit after a number in text: "%" joined, others after a space, none for a count
    without a ``unit_label`` (never "12 count")."""
    if getattr(m, "unit", None) == "count" and not getattr(m, "unit_label", None):
        return ""
    return "%" if m.label == "%" else f" {m.label}"


def accreditation_rule_words(f: Framework) -> str:
    """The configured rule in one sentence (from the framework file)."""
    r = f.accreditation
    parts = [f"every standard at level {r.min_level} ({f.levels[r.min_level]}) or above"
             + (" with evidence" if r.evidence_required else "")]
    if r.measures_must_meet and f.linked():
        parts.append("every linked measure meeting its threshold (a tie meets it) over the "
                     f"{r.measure_window_months} months before the assessment")
    return ("Accredited: " + " and ".join(parts) + f". Progressing: not accredited, but at least "
            f"{r.progressing_min_improved} standard(s) above the baseline level with evidence. Otherwise: not yet.")


def _check_words(c: pd.Series, m: Measure, policy: DisclosurePolicy | None = None) -> str:
    period = f"{fmt_month(c['window_start'])}–{fmt_month(c['window_end'])}"
    if pd.isna(c["value"]):
        return f"no data ({period}) ✗"
    mark = "✓ meets" if c["meets"] else "✗ does not meet"
    return f"{shown_value(c, policy)}{_unit(m)} ({period}) {mark}"


def _matrix_cell(latest: pd.Series, baseline_level, failing_measure: bool) -> str:
    """One matrix cell: mark, baseline → latest level, and the meaning in words (not colour alone)."""
    level = latest["level"]
    if pd.isna(level):
        colour, words = "red", f"not assessed in {latest['round']}"
        text = "not assessed"
    else:
        colour = "green" if latest["met"] else ("amber" if int(level) > 0 or latest["claimed"] else "red")
        before = "–" if baseline_level is None or pd.isna(baseline_level) else str(int(baseline_level))
        text = f"{before} → {int(level)}"
        words = RAG[colour][1]
        if latest["claimed"] and not latest["met"]:
            words = "claimed, no evidence"
    flag = ""
    if failing_measure and latest["claimed"]:
        flag = ' <strong>⚠ data disagree</strong>'
        words += "; self-assessed as met but the linked measure says otherwise"
    elif failing_measure:
        words += "; linked measure below threshold"
    return (f'<td class="rag" style="background:{RAG[colour][0]};color:#212B32">{MARK[colour]} {escape(text)}{flag}'
            f'<br><span class="notes">{escape(words)}</span></td>')


def progression_chart(rounds: pd.DataFrame, names: dict[str, str], total: int, alt: str):
    """Standards met per round: grouped bars, one bar per site (in the order of ``names``, each with
    its own colour *and* hatching, so colour is not needed), labelled with its count; "A" above a
    bar marks an accredited round. Bars never hide each other, unlike lines of sites with equal counts."""
    import matplotlib.pyplot as plt

    fig, ax = figures.new_figure((7.5, 3.2), bottom_in=1.25)  # room for the legend below the axes
    order = dict(rounds.groupby("round")["round_no"].first().astype(int).items())
    colours = list(figures.CATEGORY_COLOURS.values())
    hatches = ["", "//", "..", "xx", "\\\\", "--"]
    sites = [s for s in names if s in set(rounds["site_id"])]
    width = 0.8 / max(len(sites), 1)
    with plt.rc_context(figures.RC):
        for i, site in enumerate(sites):
            g = rounds.loc[rounds["site_id"] == site]
            x = g["round_no"] - 0.4 + width * (i + 0.5)
            ax.bar(x, g["standards_met"], width=width * 0.95, color=colours[i % len(colours)],
                   hatch=hatches[i % len(hatches)], edgecolor="white", label=names.get(site, site))
            for xi, yi, acc in zip(x, g["standards_met"], g["accredited"]):
                ax.annotate(f"{yi}" + ("\nA" if acc else ""), (xi, yi), xytext=(0, 2),
                            textcoords="offset points", ha="center", fontsize=7,
                            fontweight="bold" if acc else "normal")
        ax.set_xticks(sorted(order.values()), [n for n, _ in sorted(order.items(), key=lambda t: t[1])])
        ax.set_ylim(0, total + 2)
        ax.set_ylabel(f"standards met (of {total})")
        ax.set_title("Standards met at each round (A: accredited in that round)", loc="left")
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4)
    fig.qieval_alt = alt
    return fig


#: Above this many sites the progression chart shows how many sites met each number of standards
#: (one bar per round) instead of one bar per site.
MAX_SITE_BARS = 12


def progression_distribution_chart(rounds: pd.DataFrame, total: int, alt: str):
    """Sites by number of standards met: for each count 0..total one bar per round (colour *and*
    hatching per round), labelled with the number of sites."""
    import matplotlib.pyplot as plt

    fig, ax = figures.new_figure((7.5, 3.2), bottom_in=1.0)
    order = rounds.groupby("round")["round_no"].first().astype(int).sort_values()
    colours = list(figures.CATEGORY_COLOURS.values())
    hatches = ["", "//", "..", "xx", "\\\\", "--"]
    width = 0.8 / max(len(order), 1)
    with plt.rc_context(figures.RC):
        for i, (rnd, _) in enumerate(order.items()):
            n = rounds.loc[rounds["round"] == rnd, "standards_met"].astype(int).value_counts()
            x = [k - 0.4 + width * (i + 0.5) for k in range(total + 1)]
            y = [int(n.get(k, 0)) for k in range(total + 1)]
            ax.bar(x, y, width=width * 0.95, color=colours[i % len(colours)], hatch=hatches[i % len(hatches)],
                   edgecolor="white", label=str(rnd))
            for xi, yi in zip(x, y):
                if yi:
                    ax.annotate(str(yi), (xi, yi), xytext=(0, 2), textcoords="offset points", ha="center",
                                fontsize=7)
        ax.set_xticks(range(total + 1))
        ax.set_xlabel(f"standards met (of {total})")
        ax.set_ylabel("sites")
        ax.set_title("Sites by number of standards met, at each round", loc="left")
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=6)
    fig.qieval_alt = alt
    return fig


def _threshold_line(fig, threshold: float, label: str):
    """Add the accreditation threshold to a funnel plot (a dash-dot line, labelled in the legend,
    which the funnel plot shows in HTML: :func:`qieval.figures.html_legend`)."""
    import matplotlib.pyplot as plt

    ax = fig.axes[0]
    with plt.rc_context(figures.RC):
        ax.axhline(threshold, color=figures.NHS_BLUE, lw=1.2, ls="-.", label=label)
    return fig


def _spc(data: ProjectData, framework: Framework) -> dict[tuple[str, str], MeasureSPC]:
    """MDC analysis of each site's linked measures: the target is the accreditation threshold, and
    limits are recalculated at the start of the intervention period, so the assurance icon says
    whether the current process can be relied on to meet the threshold (limits from a baseline
    before any change would say little about that)."""
    start = f"{data.config.intervention.start:%Y-%m}"
    out = {}
    by_site = BySite(data)
    for _, link in framework.linked():
        m = data.config.measure(link.id).model_copy(
            update={"target": link.threshold, "recalculate_at": [start]})
        for site_id in data.config.sites:
            s = measure_series(by_site.values(site_id), data.config, m)
            if not s.empty:
                out[(site_id, m.id)] = measure_spc(s, m, by_site.cycles(site_id))
    return out


def prepare(params_path: str | Path, output_dir: str | Path | None = None,
            audience: str = "evaluator") -> AccreditationReport:
    """Load and validate everything, check the linked measures and apply the rules (once).
    ``audience`` as in :func:`qieval.report.site_report.prepare`: commissioner/public copies show a
    linked-measure value resting on a small numerator or denominator as the policy's marker (tables,
    reasons and ``accreditation_status.csv``) and leave such sites out of the funnel plots."""
    data = load_project(params_path)
    policy = policy_for(audience, data.config)
    framework = load_for_project(data.config)
    assessments, _ = load_assessments(data.config, framework)
    checks = measure_checks(data.measure_values, data.config, framework, round_dates(assessments))
    names = dict(zip(data.sites["site_id"], data.sites["site_name"]))
    sites = [(s, names[s]) for s in data.config.sites]
    evaluation = evaluate(assessments, checks, framework, sites, policy=policy)
    files = dict(data.files)
    files["framework"] = framework.path
    found = find_table(data.config.data_dir, settings(data.config).table)
    if found:
        files["standards_assessments"] = found[0]
    return AccreditationReport(data, framework, assessments, evaluation, _spc(data, framework),
                               provenance=provenance(files, data.config.params_path, data.config.root),
                               output_dir=project_path(data.config.root, output_dir),
                               audience=audience, policy=policy)


def write_status(report: AccreditationReport) -> Path | None:
    """Write ``<output_dir>/accreditation_status.csv`` atomically (one row per site)."""
    if report.output_dir is None:
        return None
    return write_status_csv(report.status, report.output_dir / "accreditation_status.csv")
