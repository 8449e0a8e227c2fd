"""Every figure in the abstract equals a value recomputed here from the demo CSVs with the csv
module and plain Python (no qieval, no pandas): pooled baseline Σnumerator/Σdenominator, the
latest month pooled across sites, Wilson intervals, list sizes, cycles and months."""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict

import pytest

Z = 1.959963984540054
BASELINE = ("2021-01", "2022-03")


def _rows(root, name):
    with open(root / "data" / "deprescribing" / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _wilson(x: float, n: float) -> tuple[float, float]:
    p = x / n
    denom = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denom
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denom
    return max(centre - half, 0.0), min(centre + half, 1.0)  # exactly 0 when x = 0 (rounding aside)


@pytest.fixture(scope="module")
def csv_data(demo_root_session):
    values = _rows(demo_root_session, "measure_values")
    sums = defaultdict(lambda: [0.0, 0.0])
    minutes = defaultdict(list)
    for r in values:
        if r["measure_id"] == "clinician_minutes":
            minutes[r["period"]].append(float(r["value"]))
            continue
        phase = "baseline" if BASELINE[0] <= r["period"] <= BASELINE[1] else r["period"]
        for key in (phase, r["period"]) if phase == "baseline" else (phase,):
            sums[(r["measure_id"], key)][0] += float(r["numerator"])
            sums[(r["measure_id"], key)][1] += float(r["denominator"])
    latest = max(r["period"] for r in values)
    return {"sums": sums, "minutes": minutes, "latest": latest, "sites": _rows(demo_root_session, "sites"),
            "cycles": _rows(demo_root_session, "pdsa_cycles")}


def _text(report) -> str:
    return " ".join(s.text for s in report.text.sections)


def test_project_figures(abstract_report, csv_data):
    text = _text(abstract_report)
    total = sum(int(s["list_size"]) for s in csv_data["sites"])
    assert total == 37107
    assert f"ran in {len(csv_data['sites'])} GP practices (registered population {total:,})" in text
    cycles = csv_data["cycles"]
    first = min(c["start"] for c in cycles)[:7]
    last = max(c["end"] for c in cycles)[:7]
    months = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
    assert (len(cycles), months) == (11, 8)
    counts = {cat: sum(c["category"] == cat for c in cycles) for cat in ("education", "staffing", "IT")}
    assert (f"Over {months} months (April to November 2022), {len(cycles)} PDSA cycles (education "
            f"{counts['education']}, staffing {counts['staffing']}, IT {counts['IT']})") in text
    assert "Baseline: 15 months (January 2021 to March 2022)" in text


@pytest.mark.parametrize("measure, decimals", [("conversation_offered", 1), ("register_prevalence", 2)])
def test_percent_measures_baseline_and_latest(abstract_report, csv_data, measure, decimals):
    text = _text(abstract_report)
    for key in ("baseline", csv_data["latest"]):
        x, n = csv_data["sums"][(measure, key)]
        lo, hi = _wilson(x, n)
        figure = f"{100 * x / n:.{decimals}f}% ({100 * lo:.{decimals}f} to {100 * hi:.{decimals}f})"
        assert figure in text, (measure, key, figure)
        fact = abstract_report.facts[f"{measure}.{'baseline' if key == 'baseline' else 'latest'}"]
        assert fact.value == pytest.approx(100 * x / n, rel=1e-12)
        assert (fact.low, fact.high) == pytest.approx((100 * lo, 100 * hi), rel=1e-9)


def test_latest_is_the_last_month_pooled(abstract_report, csv_data):
    assert csv_data["latest"] == "2023-03"
    assert "Baseline vs latest (March 2023)" in _text(abstract_report)
    x, n = csv_data["sums"][("register_prevalence", "2023-03")]
    assert n == 37107  # all four practices' list sizes: every site in the pooled month
    assert f"{round(100 * x / n / 1.0 * 100)}% of the expected prevalence" in _text(abstract_report)


def test_rate_and_continuous_measures(abstract_report, csv_data):
    text = _text(abstract_report)
    x, n = csv_data["sums"][("medicines_per_patient", "baseline")]
    xl, nl = csv_data["sums"][("medicines_per_patient", "2023-03")]
    assert f"medicines per patient (outcome) {x / n:.2f} (" in text
    assert f" vs {xl / nl:.2f} (" in text
    mins = csv_data["minutes"]
    base = [sum(v) / len(v) for p, v in mins.items() if BASELINE[0] <= p <= BASELINE[1]]
    latest = mins[csv_data["latest"]]
    assert f"clinician minutes per patient (balancing) {sum(base) / len(base):.2f} (" in text
    assert f" vs {sum(latest) / len(latest):.2f}." in text


def test_every_generated_number_is_traced(abstract_report):
    from qieval.abstract.audit import number_check

    check = number_check(abstract_report.text, abstract_report.facts)
    generated = check.loc[check["origin"] == "generated"]
    assert len(generated) > 30 and generated["matched"].all(), generated.loc[~generated["matched"]]
    author = check.loc[check["origin"] != "generated"]
    assert set(author["origin"]) <= {"aim.statement"}  # 100% and 2023 in the aim: flagged for checking


def test_audit_has_a_row_per_figure_with_provenance(abstract_report):
    from qieval.abstract.audit import audit_table

    t = audit_table(abstract_report.text, abstract_report.facts)
    assert t["key"].is_unique or t.groupby(["section", "key"]).size().max() == 1
    assert (t["method"].str.len() > 0).all() and (t["source"].str.len() > 0).all()
    row = t.loc[t["key"] == "conversation_offered.latest"].iloc[0]
    assert "2023-03" in row["periods"] and "every site" in row["periods"] and "Wilson" in row["method"]
    printed = set(t["figure"])
    for fig in re.findall(r"\d+\.\d+% \(\d+\.\d+ to \d+\.\d+\)", _text(abstract_report)):
        assert fig in printed
