"""The Model and diagnostics table stays readable with thousands of sites: per-site checks become a
count beyond a dozen sites, and stay one row per site below it."""

import numpy as np
import pandas as pd

from qieval.report.attribution_section import PER_SITE_SHOWN, _diagnostic_rows


def _diag(n_sites: int, p: list[float]) -> pd.DataFrame:
    rows = [("durbin_watson", None, None, 1.9, "within each site")]
    rows += [("ljung_box_p", f"s{i:02d}", None, p[i], "Ljung-Box test at lag 6") for i in range(n_sites)]
    rows += [("vif", None, "education", 1.3, "variance inflation")]
    return pd.DataFrame(rows, columns=["check", "site_id", "category", "value", "note"])


def test_many_sites_give_one_ljung_box_row_with_the_count():
    p = [0.5] * 20
    p[3], p[7], p[11] = 0.04, 0.001, 0.049  # three sites below 0.05, the smallest at s07
    rows = _diagnostic_rows(_diag(20, p))
    checks = [r[0] for r in rows]
    assert checks == ["durbin_watson", "ljung_box_p", "vif"]
    lb = rows[1]
    assert lb[1] == "20 sites" and lb[3] == "0.001"
    assert "p < 0.05 at 3 of 20 sites" in lb[4] and "smallest at s07" in lb[4]


def test_a_dozen_sites_or_fewer_keep_a_row_each():
    rows = _diagnostic_rows(_diag(PER_SITE_SHOWN, list(np.linspace(0.01, 0.9, PER_SITE_SHOWN))))
    assert [r[1] for r in rows if r[0] == "ljung_box_p"] == [f"s{i:02d}" for i in range(PER_SITE_SHOWN)]


def test_sites_left_out_are_counted_with_an_example():
    left = pd.DataFrame([("left_out", f"s{i:02d}", None, np.nan, f"site s{i:02d} had no events") for i in range(30)],
                        columns=["check", "site_id", "category", "value", "note"])
    rows = _diagnostic_rows(left)
    assert len(rows) == 1 and rows[0][1] == "30 sites" and "e.g. site s00 had no events" in rows[0][4]
