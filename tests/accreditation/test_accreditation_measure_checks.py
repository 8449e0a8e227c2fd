"""Linked measures against the data: the window before the assessment month, pooling, ties, no data."""

from __future__ import annotations

import pandas as pd
import pytest

from qieval.accreditation.measure_checks import measure_checks, pooled, round_dates, window
from qieval.config import load_config

from accreditation_helpers import assessments, small_framework


def test_window_is_the_whole_months_before_the_assessment_month():
    assert window(pd.Timestamp("2023-04-12"), 3) == (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-03-01"))
    assert window(pd.Timestamp("2023-04-01"), 3) == (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-03-01"))
    assert window(pd.Timestamp("2023-01-31"), 1) == (pd.Timestamp("2022-12-01"), pd.Timestamp("2022-12-01"))


def test_pooling_weights_months_by_their_denominators():
    rows = pd.DataFrame({"numerator": [10, 30], "denominator": [100, 100], "value": [None, None]})
    assert pooled(rows, "percent", 100.0)[2] == pytest.approx(20.0)  # 40 / 200
    rows = pd.DataFrame({"numerator": [1, 9], "denominator": [10, 90], "value": [None, None]})
    assert pooled(rows, "percent", 100.0)[2] == pytest.approx(10.0)  # not the mean of 10% and 10%
    cont = pd.DataFrame({"numerator": [None, None], "denominator": [None, None], "value": [5.0, 7.0]})
    assert pooled(cont, "continuous", 1.0)[2] == pytest.approx(6.0)


@pytest.fixture(scope="module")
def config(demo_root_session):
    return load_config(demo_root_session / "params" / "deprescribing.yaml")


def _values(rows):
    frame = pd.DataFrame(rows, columns=["site_id", "period", "measure_id", "numerator", "denominator"])
    return frame.assign(period=pd.to_datetime(frame["period"]), value=float("nan"))


VALUES = _values([
    ("hillside", "2022-12-01", "register_prevalence", 50, 10_000),
    ("hillside", "2023-01-01", "register_prevalence", 10, 3_000),
    ("hillside", "2023-02-01", "register_prevalence", 12, 3_000),
    ("hillside", "2023-03-01", "register_prevalence", 18, 4_000),
    ("hillside", "2023-04-01", "register_prevalence", 99, 100),  # the assessment month: not used
])


def test_checks_against_hand_made_data(config):
    a = assessments([
        ("hillside", "S1", "baseline", "2021-01-05", 0, ""),
        ("hillside", "S1", "follow-up 1", "2023-02-01", 2, "ev"),
        ("hillside", "S2", "follow-up 1", "2023-02-03", 2, "ev"),  # the round's latest date counts
        ("hillside", "S1", "follow-up 2", "2023-04-12", 2, "ev"),
    ])
    out = measure_checks(VALUES, config, small_framework(), round_dates(a)).set_index("round")
    # baseline: Oct–Dec 2020, no data → does not meet
    assert out.loc["baseline", "months"] == 0 and pd.isna(out.loc["baseline", "value"])
    assert not out.loc["baseline", "meets"]
    # follow-up 1 assessed 2023-02-03 → Nov 2022–Jan 2023: Dec (50/10,000) and Jan (10/3,000)
    # = 60/13,000 × 100 = 0.4615…%
    assert out.loc["follow-up 1", "months"] == 2
    assert out.loc["follow-up 1", "value"] == pytest.approx(60 / 13_000 * 100)
    assert out.loc["follow-up 1", "meets"]
    # follow-up 2 assessed 2023-04-12 → Jan–Mar 2023: (10+12+18)/(3,000+3,000+4,000) = 40/10,000
    # = 0.4% exactly: a tie with the threshold 0.4, which meets it
    assert out.loc["follow-up 2", "numerator"] == 40 and out.loc["follow-up 2", "denominator"] == 10_000
    assert out.loc["follow-up 2", "window_start"] == pd.Timestamp("2023-01-01")
    assert out.loc["follow-up 2", "meets"]


def test_one_fewer_patient_misses_the_threshold(config):
    values = VALUES.copy()
    values.loc[values["period"] == "2023-03-01", "numerator"] = 17  # 39/10,000 = 0.39%
    a = assessments([("hillside", "S1", "baseline", "2023-04-12", 2, "ev")])
    out = measure_checks(values, config, small_framework(), round_dates(a))
    assert out["value"].iloc[0] == pytest.approx(0.39)
    assert not out["meets"].iloc[0]
