"""Pooled network series never truncate silently (worked by hand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qieval.config import load_config
from qieval.demo.ae import write_example
from qieval.measures.series import pooled_coverage, pooled_values

REF = Path(__file__).resolve().parents[1] / "data" / "reference" / "NHSRdatasets_ae_attendances.csv"


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return load_config(write_example(REF, tmp_path_factory.mktemp("ae"), ["R1F", "RJF"]))


def values() -> pd.DataFrame:
    # sites A and B, 3 months; B did not report March
    p = pd.to_datetime(["2021-01-01", "2021-02-01", "2021-03-01"])
    rows = []
    for site, months, num, den in (("A", p, [80, 90, 70], [100, 100, 100]), ("B", p[:2], [30, 45], [50, 50])):
        for t, x, n in zip(months, num, den):
            rows.append({"site_id": site, "measure_id": "within_4h", "period": t, "numerator": x,
                         "denominator": n, "value": np.nan})
            rows.append({"site_id": site, "measure_id": "attendances", "period": t, "numerator": n,
                         "denominator": np.nan, "value": np.nan})
    return pd.DataFrame(rows)


def test_percent_month_with_a_site_missing_is_computed_from_the_sites_present_and_marked(config):
    out = pooled_values(values(), config)
    pct = out.loc[out["measure_id"] == "within_4h"].set_index("period")
    # Jan: (80 + 30)/(100 + 50) = 110/150; Feb: 135/150; Mar: A alone, 70/100
    assert list(pct["numerator"]) == [110, 135, 70] and list(pct["denominator"]) == [150, 150, 100]
    assert list(pct["partial"]) == [False, False, True]
    assert pct["missing_sites"].iloc[2] == "B"


def test_count_month_with_a_site_missing_is_left_out_and_said(config):
    out = pooled_values(values(), config)
    cnt = out.loc[out["measure_id"] == "attendances"]
    assert list(cnt["numerator"]) == [150, 150]  # a March total of A alone (100) would look like a fall
    cov = pooled_coverage(values())
    march = cov.loc[(cov["measure_id"] == "attendances") & (cov["period"] == "2021-03-01")].iloc[0]
    assert (march["n_sites"], march["n_expected"], march["missing_sites"]) == (1, 2, "B")


def test_middle_month_missing_everywhere_is_in_the_coverage(config):
    v = values()
    v = v.loc[v["period"] != "2021-02-01"]
    cov = pooled_coverage(v)
    feb = cov.loc[(cov["measure_id"] == "within_4h") & (cov["period"] == "2021-02-01")].iloc[0]
    assert feb["n_sites"] == 0 and feb["missing_sites"] == "A, B"
