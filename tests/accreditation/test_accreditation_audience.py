"""Audiences for the accreditation summary: a linked-measure value resting on a small
numerator or denominator is the marker in commissioner/public copies (tables, reasons, CSV);
statuses do not change; evaluator copies show every value."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from qieval.accreditation.evaluation import evaluate, status_csv_text
from qieval.disclosure import policy_for, scan_for_small_counts
from qieval.report.accreditation_report import _check_words

from accreditation_helpers import assessments, checks

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "accreditation_summary.ipynb"
B, F1 = "baseline", "follow-up 1"
ROWS = [("few", "S1", B, "2021-04-10", 0, ""), ("few", "S2", B, "2021-04-10", 0, ""),
        ("few", "S1", F1, "2023-04-10", 2, "ev"), ("few", "S2", F1, "2023-04-10", 2, "ev"),
        ("many", "S1", B, "2021-04-10", 0, ""), ("many", "S2", B, "2021-04-10", 0, ""),
        ("many", "S1", F1, "2023-04-10", 2, "ev"), ("many", "S2", F1, "2023-04-10", 2, "ev")]


def _checks():
    c = checks([("few", B, 0.2), ("few", F1, 0.35), ("many", B, 0.2), ("many", F1, 0.35)])
    c["numerator"] = [400.0, 5.0, 400.0, 70.0]  # "few": 5 in the latest window
    c["denominator"] = [200000.0, 1430.0, 200000.0, 20000.0]
    return c


def _status(framework, audience):
    ev = evaluate(assessments(ROWS), _checks(), framework, [("few", "Few"), ("many", "Many")],
                  policy=policy_for(audience))
    return ev.status.set_index("site_id")


def test_small_window_value_is_the_marker_for_commissioners(framework):
    com, eva = _status(framework, "commissioner"), _status(framework, "evaluator")
    assert "register size *% in Jan 2023 to Mar 2023, does not meet" in com.at["few", "reasons"]
    assert "0.35%" not in com.at["few", "reasons"]
    assert "register size 0.35% in Jan 2023 to Mar 2023" in eva.at["few", "reasons"]
    assert "register size 0.35% in" in com.at["many", "reasons"]  # 70 / 20,000: not small
    assert list(com["status"]) == list(eva["status"])  # statuses stay
    assert list(com["contradictions"]) == list(eva["contradictions"])
    unsuppressed = evaluate(assessments(ROWS), _checks(), framework, [("few", "Few"), ("many", "Many")])
    assert unsuppressed.status.set_index("site_id").equals(eva)  # evaluator = no policy


def test_check_words(framework):
    from types import SimpleNamespace

    c = _checks().iloc[1]
    m = SimpleNamespace(label="%", decimals=2)
    assert _check_words(c, m, policy_for("commissioner")).startswith("*% (Jan 2023–Mar 2023)")
    assert _check_words(c, m, policy_for("evaluator")).startswith("0.35% (")
    assert _check_words(c, m) == _check_words(c, m, policy_for("evaluator"))


def test_commissioner_notebook_is_clean(demo_root_session, tmp_path):
    import nbformat
    import papermill as pm

    from qieval.farm.exporter import notebook_to_html

    executed = tmp_path / "accreditation_summary.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(executed), cwd=str(demo_root_session), progress_bar=False,
                        kernel_name="python3",
                        parameters={"params_path": str(demo_root_session / "params" / "deprescribing.yaml"),
                                    "output_dir": str(tmp_path / "commissioner"), "audience": "commissioner"})
    html = notebook_to_html(nbformat.read(executed, 4), "accreditation_summary")
    assert '<html data-audience="commissioner"' in html
    assert scan_for_small_counts(html, kind="html") == []
    text = (tmp_path / "commissioner" / "accreditation_status.csv").read_text(encoding="utf-8")
    assert scan_for_small_counts(text, kind="csv") == []
    assert list(csv.reader(io.StringIO(text)))[0][0] == "site_id"
    assert text == status_csv_text(__import__("pandas").read_csv(io.StringIO(text), keep_default_na=False))
