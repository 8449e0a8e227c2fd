"""The network report's site × measure view, readable at hundreds of sites.

* :func:`glance_html`: the summary first — per measure, how many sites show special-cause
  improvement, concern, other special causes, common-cause variation only or too few points, and how
  many consistently meet, sometimes meet or consistently miss the target (MDC assurance).
* :func:`matrix_html`: the icon matrix. Each distinct MDC icon is drawn once (an SVG ``<symbol>``)
  and every cell refers to it with ``<use>``, so 1,000 sites × 4 measures stay a few MB instead of
  tens; each icon carries its meaning as its accessible name, and the words are printed beside it.
  Each site's name links to its report. A small inline script (no external loads) adds a
  find-a-site box, a filter (sites with a concern, improving, missing a target) and sorting by any
  column; with scripting off the controls stay hidden and the table is plain and complete.

Nothing is computed here beyond counting: the rows come from :func:`qieval.spc.measure_chart.icon_summary`.
"""

from __future__ import annotations

import re
from html import escape
from typing import Callable

import numpy as np
import pandas as pd

from ..config import Measure
from ..format import fmt_month
from ..spc.icons import assurance_icon_svg, variation_icon_svg

#: variation → (class used by the summary and the filter, sort rank: concerns first)
CLASSES = {"improvement": ("improving", 3), "concern": ("concern", 0), "neutral": ("special", 1),
           "common": ("common", 2), "": ("few", 4)}
GLANCE_COLUMNS = [("improving", "Improving (special cause)"), ("concern", "Concerning (special cause)"),
                  ("special", "Other special cause"), ("common", "Common-cause variation only"),
                  ("few", "Too few points for a signal"), ("pass", "Target consistently met"),
                  ("inconsistent", "Target met some months (hit and miss)"), ("fail", "Target consistently missed"),
                  ("unjudged", "No assurance icon (run chart or too few points)")]
FILTERS = [("concern", "sites with a concern on any measure"), ("improving", "sites improving on any measure"),
           ("fail", "sites consistently missing a target"), ("few", "sites with too few points on a measure")]


def variation_class(variation: str) -> str:
    """``improvement_high`` → ``improving``; ``common_cause`` → ``common``; ``""`` → ``few``."""
    return CLASSES.get((variation or "").split("_")[0], CLASSES[""])[0]


def _rank(variation: str) -> int:
    return CLASSES.get((variation or "").split("_")[0], CLASSES[""])[1]


def glance_table(tidy: pd.DataFrame, measures: list[Measure], n_sites: int) -> pd.DataFrame:
    """Counts of sites per measure and class (tidy: ``measure_id``, ``title``, one column per
    :data:`GLANCE_COLUMNS` key, ``targets`` = sites with a target)."""
    rows = []
    for m in measures:
        t = tidy.loc[tidy["measure_id"] == m.id] if len(tidy) else tidy
        classes = [variation_class(v) for v in (t["variation"] if len(t) else [])]
        row = {"measure_id": m.id, "title": m.title, "sites": n_sites}
        for key, _ in GLANCE_COLUMNS[:5]:
            row[key] = classes.count(key)
        row["few"] += n_sites - len(t)  # sites without the measure's series
        assurance = list(t["assurance"]) if len(t) else []
        for key in ("pass", "inconsistent", "fail"):
            row[key] = assurance.count(key)
        row["unjudged"] = n_sites - row["pass"] - row["inconsistent"] - row["fail"]
        row["targets"] = m.target is not None
        rows.append(row)
    return pd.DataFrame(rows)


def glance_html(tidy: pd.DataFrame, measures: list[Measure], n_sites: int) -> str:
    """The summary table (a row per measure) and one sentence on the sites needing a look."""
    g = glance_table(tidy, measures, n_sites)
    head = "".join(f'<th scope="col">{escape(label)}</th>' for _, label in GLANCE_COLUMNS)
    body = []
    for r in g.to_dict("records"):
        # counts of sites, not of people: exempt from the small-number policy (qieval.disclosure.scan_html)
        cells = [f'<td data-disclosure="exempt">{r[k]}</td>' for k, _ in GLANCE_COLUMNS[:5]]
        cells += ([f'<td data-disclosure="exempt">{r[k]}</td>' for k in ("pass", "inconsistent", "fail", "unjudged")]
                  if r["targets"]
                  else ['<td colspan="4">no target set</td>'])
        body.append(f'<tr><th scope="row">{escape(r["title"])}</th>' + "".join(cells) + "</tr>")
    concern = set(tidy.loc[[variation_class(v) == "concern" for v in tidy["variation"]], "site_id"]) if len(tidy) else set()
    improving = set(tidy.loc[[variation_class(v) == "improving" for v in tidy["variation"]], "site_id"]) if len(tidy) else set()
    sentence = (f"Of {n_sites} sites, {len(improving)} show special-cause improvement on at least one measure and "
                f"{len(concern)} a special-cause concern on at least one measure (the filter above the icon "
                "matrix lists them).")
    return ('<table class="qi-table glance" id="sites-at-a-glance"><caption>Sites at a glance: number of sites '
            "in each Making Data Count class for each measure (variation of each site's own chart; assurance "
            f"against the measure's target), of {n_sites} sites</caption><thead><tr>"
            f'<th scope="col">Measure</th>{head}</tr></thead><tbody>' + "".join(body) + "</tbody></table>"
            + f"<p>{escape(sentence)}</p>")


_TITLE = re.compile(r"<title\b.*?</title>|<desc\b.*?</desc>", re.S)


class _Symbols:
    """Each distinct icon drawn once as a ``<symbol>``; cells refer to it with ``<use>``."""

    def __init__(self):
        self.defs: dict[str, str] = {}

    def use(self, svg: str, key: str, label: str) -> str:
        sid = "mdc-sym-" + re.sub(r"[^a-z0-9_-]", "-", key.lower())
        if sid not in self.defs:
            inner = _TITLE.sub("", svg[svg.index(">") + 1: svg.rindex("</svg>")])
            self.defs[sid] = f'<symbol id="{sid}" viewBox="0 0 100 100">{inner}</symbol>'
        return (f'<svg class="mdc-icon" viewBox="0 0 100 100" role="img" aria-label="{escape(label)}">'
                f'<use href="#{sid}"/></svg>')

    def html(self) -> str:
        return ('<svg width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false"><defs>'
                + "".join(self.defs.values()) + "</defs></svg>")


def matrix_html(tidy: pd.DataFrame, measures: list[Measure], site_ids: list[str], names: dict[str, str],
                latest_text: Callable[[str, Measure, float, object], str], value_text: Callable[[Measure, float], str],
                variation_words: dict[str, str], assurance_words: dict[str, str],
                withheld: Callable[[str, Measure, object], bool] | None = None) -> str:
    """The icon matrix table with its (script-only) tools; see the module docstring. ``withheld``
    (site, measure, period) says a latest value is suppressed for the audience: its cell then has no
    sort value either (the number must not sit in the page source)."""
    cells = {}
    if len(tidy):
        for r in tidy.itertuples(index=False):
            cells.setdefault((r.site_id, r.measure_id), r)
    sym = _Symbols()
    head = '<th scope="col">Site</th>' + "".join(f'<th scope="col">{escape(m.title)}</th>' for m in measures)
    body = []
    for site_id in site_ids:
        name = names.get(site_id, site_id)
        flags, tds = set(), []
        for m in measures:
            r = cells.get((site_id, m.id))
            if r is None or not r.variation:
                flags.add("few")
                tds.append(f'<td data-rank="{_rank("")}" data-value="">–<br><span class="notes">too few points '
                           "for icons</span></td>")
                continue
            cls = variation_class(r.variation)
            flags.add(cls)
            words = variation_words.get(r.variation, r.variation)
            icons = sym.use(variation_icon_svg(r.variation, m.improvement_direction),
                            f"v-{r.variation}-{m.improvement_direction}", "Variation: " + words)
            if r.assurance:
                flags.add(r.assurance)
                a_words = assurance_words.get(r.assurance, r.assurance)
                icons += sym.use(assurance_icon_svg(r.assurance), f"a-{r.assurance}", "Assurance: " + a_words)
                words += "; " + a_words
            target = "" if pd.isna(r.target) else f" (target {value_text(m, r.target)})"
            value = r.latest_value
            latest = latest_text(site_id, m, value, r.latest_period)
            hidden = withheld is not None and withheld(site_id, m, r.latest_period)
            sort_value = "" if value is None or not np.isfinite(value) or hidden else f"{value:.10g}"
            tds.append(f'<td data-rank="{_rank(r.variation)}" data-value="{sort_value}"><div class="icons">{icons}'
                       f"</div>{escape(latest)} in {fmt_month(r.latest_period)}{escape(target)}"
                       f'<br><span class="notes">{escape(words)}</span></td>')
        body.append(f'<tr data-name="{escape(name.lower())}" data-flags="{" ".join(sorted(flags))}">'
                    f'<th scope="row"><a href="sites/{escape(site_id)}.html">{escape(name)}</a></th>'
                    + "".join(tds) + "</tr>")
    options = "".join(f'<option value="{k}">{escape(t)}</option>' for k, t in FILTERS)
    tools = ('<div class="matrix-tools" id="icon-matrix-tools" hidden>'
             '<label>Find a site <input type="search" id="icon-matrix-q" autocomplete="off"></label> '
             f'<label>Show <select id="icon-matrix-f"><option value="">all sites</option>{options}</select></label> '
             '<span id="icon-matrix-n" role="status" aria-live="polite"></span>'
             '<br><span class="notes">Select a column heading to sort by it (concerns first, then '
             "by the latest value); select it again to reverse.</span></div>")
    return (MATRIX_STYLE + sym.html() + tools
            + '<table class="qi-table icon-matrix" id="icon-matrix"><caption>Making Data Count summary: variation '
            "and assurance icons for each site and measure, with the latest value (and target) and the icons' "
            "meaning in words; each site's name links to its report</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>" + "".join(body) + "</tbody></table>" + MATRIX_SCRIPT)


MATRIX_STYLE = """<style>
.matrix-tools[hidden] { display: none; }
.matrix-tools { margin: .6rem 0; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; align-items: baseline; }
.matrix-tools input, .matrix-tools select { font: inherit; padding: .15rem .3rem; }
table.icon-matrix td .icons { display: inline-flex; gap: .15rem; margin: 0 .3rem 0 0; vertical-align: middle; }
table.icon-matrix .icons svg.mdc-icon { width: 32px; height: 32px; }
table.icon-matrix td { padding-top: .15rem; padding-bottom: .15rem; }
table.icon-matrix th button.sort { font: inherit; font-weight: bold; background: none; border: 0; padding: 0;
  color: inherit; cursor: pointer; text-align: left; }
table.icon-matrix th button.sort:focus { outline: 3px solid #FFEB3B; }
table.icon-matrix th[aria-sort=ascending] button.sort::after { content: " \\25B2"; }
table.icon-matrix th[aria-sort=descending] button.sort::after { content: " \\25BC"; }
@media print { .matrix-tools { display: none !important; } }
</style>"""

MATRIX_SCRIPT = """<script>
(function () {
  var t = document.getElementById("icon-matrix"), tools = document.getElementById("icon-matrix-tools");
  if (!t || !tools || !t.tBodies.length) return;
  var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  var q = document.getElementById("icon-matrix-q"), f = document.getElementById("icon-matrix-f"),
      n = document.getElementById("icon-matrix-n"), heads = t.tHead.rows[0].cells;
  tools.hidden = false;
  function apply() {
    var s = q.value.trim().toLowerCase(), k = f.value, shown = 0;
    rows.forEach(function (r) {
      var ok = (!s || r.getAttribute("data-name").indexOf(s) >= 0) &&
               (!k || (" " + r.getAttribute("data-flags") + " ").indexOf(" " + k + " ") >= 0);
      r.hidden = !ok; if (ok) shown++;
    });
    n.textContent = shown + " of " + rows.length + " sites shown";
  }
  function key(r, i) {
    if (i === 0) return [0, r.getAttribute("data-name")];
    var c = r.cells[i], v = c.getAttribute("data-value");
    return [+c.getAttribute("data-rank"), v === "" ? Infinity : +v];
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "sort";
    while (th.firstChild) b.appendChild(th.firstChild);
    th.appendChild(b);
    b.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      rows.sort(function (a, b) {
        var x = key(a, i), y = key(b, i), c = (x[0] - y[0]) || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  q.addEventListener("input", apply); f.addEventListener("change", apply);
  apply();
})();
</script>"""
