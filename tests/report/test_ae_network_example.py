"""The real-data test at network scale: the network report of every NHS England trust with a type 1 A&E department
(140 trusts, 10 of them with months missing), rendered by ``qieval run`` through the real notebook
(papermill + nbconvert) and checked against counts and totals recomputed here from the source CSV."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from qieval.demo.ae import write_example

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "tests" / "data" / "reference" / "NHSRdatasets_ae_attendances.csv"


def type1() -> dict[str, dict[str, tuple[int, int]]]:
    """org → YYYY-MM → (attendances, breaches), type 1 rows only (csv module, not the converter)."""
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    with open(REF, newline="") as f:
        for r in csv.DictReader(f):
            if r["type"] == "1":
                out[r["org_code"]][r["period"][:7]] = (int(r["attendances"]), int(r["breaches"]))
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("ae_all")
    params = write_example(REF, root, trusts=None)
    first = sorted(type1())[0]
    proc = subprocess.run([sys.executable, "-m", "qieval.cli", "run", str(params.relative_to(root)), "--quiet",
                           "--sites", first, "--workers", "1"], cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root


def test_every_trust_in_the_matrix_and_the_short_series_named(rendered):
    src = type1()
    assert len(src) == 140
    html = (rendered / "reports" / "ae_4h" / "network.html").read_text(encoding="utf-8")
    body = html[html.index('id="icon-matrix"'):]
    body = body[:body.index("</table>")]
    rows = re.findall(r'<th scope="row"><a href="sites/([A-Z0-9]+)\.html">', body)
    assert sorted(rows) == sorted(src)  # every trust, each linked to its report
    short = sorted(o for o, months in src.items() if len(months) < 36)
    assert len(short) == 10
    h1 = html.index("<h1>")
    header = html[h1:html.index("</header>", h1)]  # the report's own header (not the page banner)
    for o in short:  # each trust with months missing is named in the header
        assert f"Trust {o}:" in header, o
    # the summary comes before the matrix and accounts for every trust on every measure
    glance = html[html.index('id="sites-at-a-glance"'):]
    glance = glance[:glance.index("</table>")]
    assert html.index('id="sites-at-a-glance"') < html.index('id="icon-matrix"')
    for row in re.findall(r'<tr><th scope="row">[^<]+</th>((?:<td>\d+</td>){5})', glance):
        assert sum(int(x) for x in re.findall(r"<td>(\d+)</td>", row)) == 140
    assert 'role="img" aria-label="Variation: ' in body and "<script>" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing loaded from the network


def test_pooled_four_hour_performance_by_hand(rendered):
    """The network's pooled % within 4 hours over the intervention period, Σ(att − breaches)/Σ att over
    every trust's type 1 rows from April 2017 to March 2019, recomputed from the CSV."""
    src = type1()
    att = sum(a for months in src.values() for m, (a, b) in months.items() if "2017-04" <= m <= "2019-03")
    seen = sum(a - b for months in src.values() for m, (a, b) in months.items() if "2017-04" <= m <= "2019-03")
    results = json.loads((rendered / "reports" / "ae_4h" / "network.json").read_text(encoding="utf-8"))
    row = next(r for r in results["summary"] if r["measure_id"] == "within_4h")
    assert row["intervention_numerator"] == seen and row["intervention_denominator"] == att
    assert row["intervention_rate"] == pytest.approx(100 * seen / att, abs=1e-9)
    assert len(results["sites"]) == 140
