"""The real-data example (examples/ae_4h, NHS England A&E, six trusts) rendered end to end with
``qieval run`` (real papermill + nbconvert), its numbers checked against values recomputed here
from the source CSV with the csv module."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qieval.demo.ae import write_example

REPO = Path(__file__).resolve().parents[1]
REF = REPO / "tests" / "data" / "reference" / "NHSRdatasets_ae_attendances.csv"
EXAMPLE = REPO / "examples" / "ae_4h"
TRUSTS = ["RJF", "RWH", "R1F", "RJC", "RQ8", "RXP"]
BASELINE = ("2016-04", "2017-03")
INTERVENTION = ("2017-04", "2019-03")


def source() -> dict[tuple[str, str], tuple[int, int, int]]:
    """(org, YYYY-MM) → (attendances, breaches, admissions) of type 1 rows."""
    with open(REF, newline="") as f:
        return {(r["org_code"], r["period"][:7]): (int(r["attendances"]), int(r["breaches"]), int(r["admissions"]))
                for r in csv.DictReader(f) if r["type"] == "1"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("ae")
    params = write_example(REF, root, TRUSTS)
    proc = subprocess.run([sys.executable, "-m", "qieval.cli", "run", str(params.relative_to(root)), "--quiet"],
                          cwd=root, capture_output=True, text=True, timeout=900)
    return root, proc


def test_example_is_what_the_converter_writes(tmp_path):
    write_example(REF, tmp_path, TRUSTS)
    for rel in ("params/ae_4h.yaml", "data/ae_4h/sites.csv", "data/ae_4h/measure_values.csv",
                "data/ae_4h/pdsa_cycles.csv"):
        assert (tmp_path / rel).read_bytes() == (EXAMPLE / rel).read_bytes(), rel


def test_renders_every_report(rendered):
    root, proc = rendered
    assert proc.returncode == 0, proc.stdout + proc.stderr
    months = ", ".join([f"2018-{m:02d}" for m in range(7, 13)] + ["2019-01", "2019-02", "2019-03"])
    assert f"warning: site RJF, measure within_4h: no data for {months} (9 month(s)" in proc.stderr
    for t in TRUSTS:
        assert (root / f"reports/ae_4h/sites/{t}.html").stat().st_size > 10_000
    assert (root / "reports/ae_4h/network.html").exists()


def _in(month: str, span: tuple[str, str]) -> bool:
    return span[0] <= month <= span[1]


def test_site_numbers_match_the_source(rendered):
    root, _ = rendered
    src = source()
    for t in TRUSTS:
        j = json.loads((root / f"reports/ae_4h/sites/{t}.json").read_text())
        summary = {s["measure_id"]: s for s in j["summary"]}
        for phase, span in (("baseline", BASELINE), ("intervention", INTERVENTION)):
            rows = [v for (o, m), v in src.items() if o == t and _in(m, span)]
            att = sum(a for a, _, _ in rows)
            within = sum(a - b for a, b, _ in rows)
            adm = sum(d for _, _, d in rows)
            assert summary["within_4h"][f"{phase}_rate"] == pytest.approx(100 * within / att, rel=1e-12)
            assert summary["admitted"][f"{phase}_rate"] == pytest.approx(100 * adm / att, rel=1e-12)
            assert summary["attendances"][f"{phase}_rate"] == pytest.approx(att / len(rows), rel=1e-12)


def test_json_last_point_agrees_with_the_icon(rendered):
    root, _ = rendered
    match = {"common_cause": ("common_cause",), "improvement": ("improvement_high", "improvement_low"),
             "concern": ("concern_high", "concern_low"), "neutral": ("neutral_high", "neutral_low")}
    seen = set()
    for t in TRUSTS:
        for mid, s in json.loads((root / f"reports/ae_4h/sites/{t}.json").read_text())["spc"].items():
            assert s["last_point"] in match and s["variation"] in match[s["last_point"]], (t, mid, s)
            seen.add(s["last_point"])
    assert len(seen) >= 2


def _sigma_z(t: str) -> float:
    """Laney's σz of a trust's baseline 4-hour proportions, from the source (Laney 2002)."""
    src = source()
    rows = [src[(t, m)] for m in sorted(m for (o, m) in src if o == t and _in(m, BASELINE))]
    p = [(a - b) / a for a, b, _ in rows]
    pbar = sum(a - b for a, b, _ in rows) / sum(a for a, _, _ in rows)
    z = [(pi - pbar) / math.sqrt(pbar * (1 - pbar) / a) for pi, (a, _, _) in zip(p, rows)]
    mr = [abs(z[i] - z[i - 1]) for i in range(1, len(z))]
    mean = sum(mr) / len(mr)
    kept = [x for x in mr if x < 3.267 * mean]
    return sum(kept) / len(kept) / 1.128


def test_chart_choice_is_said_with_the_figures(rendered):
    root, _ = rendered
    j = json.loads((root / "reports/ae_4h/sites/RJF.json").read_text())["spc"]
    assert j["within_4h"]["chart"] == "pp"
    shown = float(re.search(r"σz = ([\d.]+)", j["within_4h"]["reason"]).group(1))
    assert shown == pytest.approx(round(_sigma_z("RJF"), 2))
    # monthly attendances of ~5,400 are over-dispersed for a c chart: an XmR chart with its MR chart
    assert j["attendances"]["chart"] == "i" and "over-dispersed" in j["attendances"]["reason"]
    html = (root / "reports/ae_4h/sites/RJF.html").read_text()
    assert "XmR (I) chart: the baseline is over-dispersed" in html


def test_headers_state_each_sites_range_and_the_network_never_truncates(rendered):
    root, _ = rendered
    assert "<dt>Data</dt><dd>Apr 2016 to Jun 2018;" in (root / "reports/ae_4h/sites/RJF.html").read_text()
    rwh = (root / "reports/ae_4h/sites/RWH.html").read_text()
    assert "<dd>Apr 2016 to Mar 2019 (missing: Sep 2017);" in rwh
    net = (root / "reports/ae_4h/network.html").read_text()
    assert "Trust RJF: Apr 2016 to Jun 2018" in net
    assert "Jul 2018 to Mar 2019 (9 period(s); missing: RJF)" in net
    # the pooled 4-hour figure covers the whole intervention period from the sites present
    src = source()
    rows = [v for (o, m), v in src.items() if o in TRUSTS and _in(m, INTERVENTION)]
    want = 100 * sum(a - b for a, b, _ in rows) / sum(a for a, _, _ in rows)
    summary = {s["measure_id"]: s for s in json.loads((root / "reports/ae_4h/network.json").read_text())["summary"]}
    assert summary["within_4h"]["intervention_rate"] == pytest.approx(want, rel=1e-9)
    # counts: months with a site missing are left out, not summed over fewer sites
    complete = [m for m in {m for (_, m) in src} if _in(m, INTERVENTION)
                and all((t, m) in src for t in TRUSTS)]
    total = sum(src[(t, m)][0] for t in TRUSTS for m in complete)
    assert summary["attendances"]["intervention_rate"] == pytest.approx(total / len(complete), rel=1e-9)
