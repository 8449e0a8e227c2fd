"""End to end: the accreditation notebook really runs (papermill) on a copy of the demo and is
rendered (nbconvert); the HTML's plain-English summary, status table and matrix agree with
accreditation_status.csv (read with the csv module), and the demo shows every status."""

from __future__ import annotations

import csv
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "accreditation_summary.ipynb"


class _Report(HTMLParser):
    """Collects the summary items, the rows of the tables with an id, headings, images and links."""

    def __init__(self):
        super().__init__()
        self.summary: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.headings: list[str] = []
        self.imgs: list[dict] = []
        self.links: list[str] = []
        self.th_scopes: list[str | None] = []
        self._in_summary = self._in_li = False
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._h: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "ul" and a.get("id") == "accreditation-summary":
            self._in_summary = True
        elif tag == "li" and self._in_summary:
            self._in_li, self._text = True, []
        elif tag == "table":
            self._table = a.get("id")
            if self._table:
                self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "a":
            self.links.append(a.get("href", ""))
        elif re.fullmatch(r"h[1-6]", tag):
            self._h, self._text = tag, []
        if tag == "th":
            self.th_scopes.append(a.get("scope"))

    def handle_endtag(self, tag):
        if tag == "ul" and self._in_summary:
            self._in_summary = False
        elif tag == "li" and self._in_li:
            self.summary.append("".join(self._text).strip())
            self._in_li = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == self._h:
            self.headings.append("".join(self._text).strip())
            self._h = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_li or self._h:
            self._text.append(data)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    import nbformat
    import papermill

    from qieval.demo import write_demo
    from qieval.farm.exporter import notebook_to_html
    from qieval.format import write_atomic

    root = tmp_path_factory.mktemp("accreditation")
    write_demo(root)
    out = root / "reports" / "deprescribing"
    papermill.execute_notebook(str(NOTEBOOK), str(root / "accreditation.ipynb"), cwd=str(root),
                               kernel_name="python3", progress_bar=False,
                               parameters={"params_path": "params/deprescribing.yaml",
                                           "output_dir": "reports/deprescribing"})
    nb = nbformat.read(root / "accreditation.ipynb", as_version=4)
    write_atomic(out / "accreditation.html", notebook_to_html(nb, "Accreditation"))
    parser = _Report()
    parser.feed((out / "accreditation.html").read_text(encoding="utf-8"))
    with open(out / "accreditation_status.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return root, parser, rows


def test_one_csv_row_per_site_in_the_params_order(rendered):
    root, _, rows = rendered
    assert [r["site_id"] for r in rows] == ["hillside", "riverside", "abbey_view", "meadowbank"]
    assert not [p.name for p in (root / "reports" / "deprescribing").iterdir() if p.name.endswith(".tmp")]


def test_the_demo_shows_every_status(rendered):
    _, _, rows = rendered
    by = {r["site_id"]: r for r in rows}
    assert by["riverside"]["status"] == "accredited" and by["riverside"]["history"] == "sustained"
    assert by["hillside"]["status"] == "progressing" and by["hillside"]["history"] == "never"
    assert by["abbey_view"]["status"] == "progressing" and by["abbey_view"]["history"] == "lapsed"
    assert by["meadowbank"]["status"] == "not yet"
    # Abbey View claims every standard met, but its register misses the threshold
    assert by["abbey_view"]["standards_met"] == "8" and by["abbey_view"]["contradictions"] == "1"
    assert "S1 self-assessed as met" in by["abbey_view"]["reasons"]


def _pooled(root: Path, site: str, measure: str, months: tuple[str, ...]) -> float:
    """Percent pooled over months, recomputed from measure_values.csv alone."""
    num = den = 0
    with open(root / "data" / "deprescribing" / "measure_values.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["site_id"] == site and r["measure_id"] == measure and r["period"] in months:
                num, den = num + int(r["numerator"]), den + int(r["denominator"])
    return 100 * num / den


def test_the_statuses_follow_from_the_data(rendered):
    """The follow-up 2 round (April 2023) is checked on January–March 2023."""
    root, _, rows = rendered
    q1 = ("2023-01", "2023-02", "2023-03")
    by = {r["site_id"]: r for r in rows}
    assert _pooled(root, "riverside", "register_prevalence", q1) >= 0.4
    assert _pooled(root, "riverside", "conversation_offered", q1) >= 30
    assert _pooled(root, "abbey_view", "register_prevalence", q1) < 0.4  # the contradiction
    assert _pooled(root, "abbey_view", "register_prevalence", ("2022-07", "2022-08", "2022-09")) >= 0.4
    assert by["riverside"]["measures_met"] == "2" and by["abbey_view"]["measures_met"] == "1"


def test_summary_sentences_agree_with_the_csv(rendered):
    _, report, rows = rendered
    n = len(rows)
    statuses = Counter(r["status"] for r in rows)
    names = {s: {r["site_name"] for r in rows if r["status"] == s} for s in statuses}
    words = {"accredited": "accredited", "progressing": "progressing towards accreditation",
             "not yet": "not yet progressing (status: not yet)"}
    for status, phrase in words.items():
        (sentence,) = [s for s in report.summary if f"practices {phrase}" in s]
        m = re.match(rf"(\d+) of (\d+) practices {re.escape(phrase)}: (.*)\.$", sentence)
        assert m, sentence
        assert (int(m.group(1)), int(m.group(2))) == (statuses[status], n)
        said = set(re.split(r", | and ", m.group(3)))
        assert said == names[status]
    contradicted = {r["site_name"] for r in rows if int(r["contradictions"]) > 0}
    (sentence,) = [s for s in report.summary if "says otherwise" in s]
    assert sentence.endswith(": " + ", ".join(sorted(contradicted)) + ".")
    lapsed = [r["site_name"] for r in rows if r["history"] == "lapsed"]
    assert any(s.endswith(f"not in the latest: {lapsed[0]}.") for s in report.summary)


def test_status_table_and_matrix_agree_with_the_csv(rendered):
    _, report, rows = rendered
    status_rows = report.tables["accreditation-status"][1:]  # after the header row
    matrix_rows = report.tables["accreditation-matrix"][1:]
    assert [r[0] for r in status_rows] == [r["site_name"] for r in rows]
    for html_row, csv_row in zip(status_rows, rows):
        assert html_row[1:6] == [csv_row["status"], csv_row["history"], csv_row["latest_round"],
                                 f"{csv_row['standards_met']} of {csv_row['standards_total']}",
                                 f"{csv_row['measures_met']} of {csv_row['measures_total']}"]
        assert html_row[6] == csv_row["reasons"]
    assert [(r[0], r[1]) for r in matrix_rows] == [(r["site_name"], r["status"]) for r in rows]
    for html_row, csv_row in zip(matrix_rows, rows):
        met = sum(cell.startswith("✓") for cell in html_row[2:])
        assert met == int(csv_row["standards_met"])  # ✓ cells = standards met in the CSV
        assert len(html_row) == 2 + int(csv_row["standards_total"])
    abbey = matrix_rows[[r["site_id"] for r in rows].index("abbey_view")]
    assert "⚠ data disagree" in abbey[2]  # S1, readable without colour


def test_report_is_accessible_and_links_each_site(rendered):
    _, report, rows = rendered
    assert report.headings[0].endswith("accreditation against the standards")
    for h in ("Summary", "Standards by site", "Linked measures: the evidence checked against the data",
              "Progression over rounds", "Sites compared: funnel plots", "The standards", "Provenance"):
        assert h in report.headings
    assert len(report.imgs) >= 3  # progression chart + a funnel per linked measure
    assert all(len(img.get("alt", "")) > 40 for img in report.imgs)
    assert all(scope in ("col", "row") for scope in report.th_scopes)
    for r in rows:
        assert f"sites/{r['site_id']}.html" in report.links
    assert not [link for link in report.links if link.startswith(("http", "/"))]  # relative only
