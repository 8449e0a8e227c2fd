"""Audiences for the abstract: commissioner/public copies print counts of people and the
percentages resting on them with the small-number policy applied; evaluator copies are exact."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from qieval.abstract.facts import SUPPRESSED_TEXT, Fact, build_facts, publish
from qieval.disclosure import policy_for, scan_for_small_counts

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "abstract.ipynb"
M = SimpleNamespace(id="m", unit="percent", decimals=1)


def _tiny():
    facts = {
        "sites.list_size": Fact("sites.list_size", "Registered population", "5", value=5, method="Σ list_size"),
        "pdsa.n": Fact("pdsa.n", "PDSA cycles", "3", value=3, method="rows"),
        "m.baseline": Fact("m.baseline", "m: baseline", "50.0%", "11.8 to 88.2", 50.0, measure_id="m",
                           method="Σ numerator / Σ denominator × 100 (Σ numerator 3, Σ denominator 6)"),
        "m.intervention": Fact("m.intervention", "m: intervention", "39.2%", "30.3 to 48.9", 39.2, measure_id="m",
                               method="Σ numerator / Σ denominator × 100 (Σ numerator 40, Σ denominator 102)"),
        "m.latest": Fact("m.latest", "m: latest", "4.0%", "1.1 to 13.5", 4.0, measure_id="m", method="that month"),
        "m.vs_reference": Fact("m.vs_reference", "m: vs reference", "40%", value=40.0, measure_id="m",
                               method="latest ÷ reference"),
    }
    summary = pd.DataFrame([{"measure_id": "m", "baseline_numerator": 3.0, "baseline_denominator": 6.0,
                             "intervention_numerator": 40.0, "intervention_denominator": 102.0,
                             "latest_period": pd.Timestamp("2023-03-01")}])
    pooled = pd.DataFrame([{"measure_id": "m", "period": pd.Timestamp("2023-03-01"), "numerator": 2.0,
                            "denominator": 50.0}])
    return facts, SimpleNamespace(summary=summary, pooled=pooled)


def test_small_counts_suppressed_for_commissioners():
    facts, report = _tiny()
    out = publish(facts, report, [M], policy_for("commissioner"))
    assert out["sites.list_size"].text == "fewer than 8"
    assert "published as fewer than 8" in out["sites.list_size"].method
    for k in ("m.baseline", "m.latest", "m.vs_reference"):  # numerator 3 / denominator 6, latest numerator 2
        assert out[k].printed == SUPPRESSED_TEXT, k
    assert "Σ numerator *, Σ denominator *" in out["m.baseline"].method
    # from the rounded counts 40/100, not 40/102 (39.2%)
    assert out["m.intervention"].text == "40.0%"
    assert "Σ numerator 40, Σ denominator 100" in out["m.intervention"].method
    assert out["pdsa.n"] == facts["pdsa.n"]  # PDSA cycles are not people
    assert facts["m.baseline"].text == "50.0%"  # pure


def test_evaluator_facts_unchanged():
    facts, report = _tiny()
    evaluator = policy_for("evaluator")
    assert not evaluator.enabled
    # build_facts only publishes with an enabled policy; publish itself is the identity on shown values
    out = publish(facts, report, [M], policy_for("evaluator"))
    assert out["sites.list_size"].text == "5" and out["m.baseline"].text == "50.0%"


def test_evaluator_abstract_is_exact(abstract_report):
    report = abstract_report
    again = build_facts(report.network, report.measures, policy_for("evaluator"))
    assert {k: (f.printed, f.method) for k, f in again.items()} == {
        k: (f.printed, f.method) for k, f in report.facts.items()}
    assert report.facts["sites.list_size"].text == "37,107"


def test_commissioner_notebook_is_clean(demo_root_session, tmp_path):
    import nbformat
    import papermill as pm

    from qieval.farm.exporter import notebook_to_html

    executed = tmp_path / "abstract.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(executed), cwd=str(demo_root_session), progress_bar=False,
                        kernel_name="python3",
                        parameters={"params_path": str(demo_root_session / "params" / "deprescribing.yaml"),
                                    "output_dir": str(tmp_path), "audience": "commissioner"})
    html = notebook_to_html(nbformat.read(executed, 4), "abstract")
    assert '<html data-audience="commissioner"' in html
    assert scan_for_small_counts(html, kind="html") == []
    md = (tmp_path / "abstract.md").read_text(encoding="utf-8")
    assert "37,105" in md and "37,107" not in md  # the registered population, rounded to 5
    assert "37,107" not in html
    assert "small-number policy applied" in html  # the audit says what was published
