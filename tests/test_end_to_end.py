"""End to end: `qieval run` really executes the site notebook (papermill) and renders HTML
(nbconvert); the HTML shows baseline and intervention rates recomputed here from the CSV alone."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

QIEVAL = [sys.executable, "-m", "qieval.cli"]


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.imgs: list[dict] = []
        self.headings: list[str] = []
        self._h = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))
        if re.fullmatch(r"h[1-6]", tag):
            self._h = tag

    def handle_endtag(self, tag):
        if tag == self._h:
            self._h = None

    def handle_data(self, data):
        self.text.append(data)
        if self._h:
            self.headings.append(data.strip())


def _rates_from_csv(path: Path, site: str, measure: str):
    """Pooled baseline (2021-01..2022-03) and intervention (2022-04..2023-03) percentages."""
    sums = {"b": [0, 0], "i": [0, 0]}
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["site_id"] != site or r["measure_id"] != measure:
                continue
            phase = "b" if r["period"] <= "2022-03" else "i"
            sums[phase][0] += int(r["numerator"])
            sums[phase][1] += int(r["denominator"])
    return {k: 100 * n / d for k, (n, d) in sums.items()}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from qitest_support import demo_copy

    root = demo_copy(tmp_path_factory.mktemp("e2e"))
    proc = subprocess.run([*QIEVAL, "run", "params/deprescribing.yaml", "--sites", "riverside", "--quiet"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    return root, proc


def test_run_succeeds_and_writes_html_and_notebook(rendered):
    root, proc = rendered
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = root / "reports" / "deprescribing" / "sites"
    assert (out / "riverside.html").stat().st_size > 10_000
    assert (out / "riverside.ipynb").is_file()
    assert (out / "riverside.json").is_file()
    assert "reports/deprescribing/sites" in proc.stdout


def test_html_shows_rates_recomputed_from_the_csv(rendered):
    root, _ = rendered
    html = (root / "reports/deprescribing/sites/riverside.html").read_text()
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.text)
    csv_path = root / "data/deprescribing/measure_values.csv"
    conv = _rates_from_csv(csv_path, "riverside", "conversation_offered")  # decimals: 1
    reg = _rates_from_csv(csv_path, "riverside", "register_prevalence")  # decimals: 2
    assert conv["b"] == 0
    for value, decimals in ((conv["b"], 1), (conv["i"], 1), (reg["b"], 2), (reg["i"], 2)):
        assert f"{value:,.{decimals}f} (" in text, f"{value:.{decimals}f} not in the report"
    assert "Riverside Medical Centre" in text
    assert "For 100% of patients on the palliative care registers" in text


def test_html_is_self_contained_and_accessible(rendered):
    root, _ = rendered
    html = (root / "reports/deprescribing/sites/riverside.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "external resource"
    assert "<script src" not in html
    parser = _Text()
    parser.feed(html)
    assert parser.imgs, "no charts"
    for img in parser.imgs:
        assert img["src"].startswith("data:image/svg+xml;base64,")
        assert len(img.get("alt", "")) > 40, "chart without a text alternative"
    assert parser.headings[0].startswith("Riverside Medical Centre")
    for h in ("Aim", "Measures: baseline vs intervention", "Charts: statistical process control",
              "PDSA cycles", "Provenance"):
        assert h in parser.headings
    assert len(html) < 400_000


def test_chart_choice_follows_the_data(rendered):
    """Register prevalence has denominators (list sizes) far above 1,000: the p vs Laney p′ choice
    is made by the over-dispersion test and said with its figures; the process measure has no
    events at baseline → a run chart (a p chart would have zero-width limits)."""
    root, _ = rendered
    sizes = [int(r["list_size"]) for r in csv.DictReader(open(root / "data/deprescribing/sites.csv"))]
    assert min(sizes) > 1000
    text = " ".join(_parsed(root).text)
    assert re.search(r"(P chart for a proportion: no over-dispersion in the baseline|Laney p′ chart: the baseline is "
                     r"over-dispersed) \(Laney's σz = \d\.\d\d and Pearson X² = [\d,.]+ on 14 df", text)
    assert "Run chart: no events in the baseline" in text


def _parsed(root):
    parser = _Text()
    parser.feed((root / "reports/deprescribing/sites/riverside.html").read_text())
    return parser
