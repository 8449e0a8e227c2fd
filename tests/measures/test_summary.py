"""Baseline vs intervention summaries on tiny tables worked out by hand."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from qieval.config import ProjectConfig
from qieval.measures.series import measure_series, pooled_values
from qieval.measures.summary import compare_periods

Z = 1.959963984540054


def _config(**measure) -> ProjectConfig:
    base = {"id": "m", "title": "M", "type": "process", "improvement_direction": "increase"}
    return ProjectConfig.model_validate({
        "id": "t", "title": "T",
        "aim": {"statement": "s", "what": "w", "how_much": "h", "by_when": "2020-12"},
        "sites": ["A", "B"],
        "baseline": {"start": "2020-01", "end": "2020-02"},
        "intervention": {"start": "2020-03", "end": "2020-05"},
        "measures": [base | measure],
    })


def _values(rows):
    return pd.DataFrame(rows, columns=["site_id", "period", "measure_id", "numerator", "denominator", "value"]) \
        .assign(period=lambda d: pd.to_datetime(d["period"]))


def wilson_by_hand(x, n):
    p = x / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


def test_percent_measure_pools_months_and_reports_wilson():
    cfg = _config(unit="percent", numerator="n", denominator="d")
    v = _values([
        ("A", "2020-01-01", "m", 5, 50, None), ("A", "2020-02-01", "m", 7, 50, None),   # 12/100
        ("A", "2020-03-01", "m", 20, 60, None), ("A", "2020-04-01", "m", 15, 60, None),
        ("A", "2020-05-01", "m", 25, 60, None),                                       # 60/180
    ])
    row = compare_periods(v, cfg).iloc[0]
    assert row["baseline_rate"] == pytest.approx(12.0)
    assert row["intervention_rate"] == pytest.approx(100 * 60 / 180)
    lo, hi = wilson_by_hand(12, 100)
    assert row["baseline_low"] == pytest.approx(100 * lo)
    assert row["baseline_high"] == pytest.approx(100 * hi)
    assert row["abs_change"] == pytest.approx(100 * (60 / 180 - 0.12))  # percentage points
    assert row["rel_change"] == pytest.approx((60 / 180) / 0.12 - 1)
    assert row["latest_rate"] == pytest.approx(100 * 25 / 60)
    assert row["latest_period"] == pd.Timestamp("2020-05-01")
    # χ² by hand for [[12, 88], [60, 120]]
    chi2 = 280 * (12 * 120 - 88 * 60) ** 2 / (100 * 180 * 72 * 208)
    from scipy import stats
    assert row["p_value"] == pytest.approx(stats.chi2.sf(chi2, 1))


def test_zero_baseline_has_no_relative_change_and_says_why():
    cfg = _config(unit="percent", numerator="n", denominator="d")
    v = _values([("A", "2020-01-01", "m", 0, 40, None), ("A", "2020-02-01", "m", 0, 40, None),
                 ("A", "2020-03-01", "m", 10, 40, None)])
    row = compare_periods(v, cfg).iloc[0]
    assert row["baseline_rate"] == 0
    assert row["baseline_low"] == 0  # Wilson lower limit at x = 0 is exactly 0
    assert np.isnan(row["rel_change"])
    assert "no events in the baseline" in row["note"]


def test_rate_measure_uses_exposure_and_multiplier():
    cfg = _config(unit="rate", per=1000, numerator="n", denominator="d")
    v = _values([("A", "2020-01-01", "m", 10, 5000, None), ("A", "2020-02-01", "m", 10, 5000, None),
                 ("A", "2020-03-01", "m", 30, 10000, None)])
    row = compare_periods(v, cfg).iloc[0]
    assert row["baseline_rate"] == pytest.approx(20 / 10000 * 1000)  # 2 per 1,000
    assert row["intervention_rate"] == pytest.approx(3.0)
    assert row["rel_change"] == pytest.approx(0.5)
    # exact Poisson limits for 20 events (Garwood): χ²(0.025, 40)/2 and χ²(0.975, 42)/2, per 10,000
    from scipy import stats
    assert row["baseline_low"] == pytest.approx(stats.chi2.ppf(0.025, 40) / 2 / 10)
    assert row["baseline_high"] == pytest.approx(stats.chi2.ppf(0.975, 42) / 2 / 10)


def test_continuous_measure_uses_monthly_means():
    cfg = _config(unit="continuous")
    v = _values([("A", "2020-01-01", "m", None, None, 4.0), ("A", "2020-02-01", "m", None, None, 6.0),
                 ("A", "2020-03-01", "m", None, None, 8.0), ("A", "2020-04-01", "m", None, None, 9.0),
                 ("A", "2020-05-01", "m", None, None, 10.0)])
    row = compare_periods(v, cfg).iloc[0]
    assert row["baseline_rate"] == pytest.approx(5.0)
    assert row["intervention_rate"] == pytest.approx(9.0)
    assert row["abs_change"] == pytest.approx(4.0)
    assert row["test"] == "Welch's t-test"


def test_series_keeps_gaps_as_missing_rows():
    cfg = _config(unit="percent", numerator="n", denominator="d")
    v = _values([("A", "2020-01-01", "m", 1, 10, None), ("A", "2020-04-01", "m", 2, 10, None)])
    s = measure_series(v, cfg, cfg.measures[0])
    assert list(s["period"].dt.month) == [1, 2, 3, 4]
    assert s["value"].isna().tolist() == [False, True, True, False]
    assert s["phase"].tolist() == ["baseline", "baseline", "intervention", "intervention"]


def test_pooled_values_mark_periods_with_sites_missing():
    cfg = _config(unit="percent", numerator="n", denominator="d")
    v = _values([("A", "2020-01-01", "m", 1, 10, None), ("B", "2020-01-01", "m", 3, 20, None),
                 ("A", "2020-02-01", "m", 2, 10, None)])  # B missing in Feb → Feb from A alone, marked
    p = pooled_values(v, cfg)
    assert len(p) == 2 and list(p["partial"]) == [False, True] and p["missing_sites"].iloc[1] == "B"
    assert (p["numerator"].iloc[0], p["denominator"].iloc[0]) == (4, 30)
    assert (p["numerator"].iloc[1], p["denominator"].iloc[1]) == (2, 10)
    counts = pooled_values(v, _config(unit="count", numerator="events", denominator=None))
    assert len(counts) == 1 and counts["numerator"].iloc[0] == 4  # a count total over fewer sites: left out


def test_rate_with_zero_baseline_has_no_relative_change():
    cfg = _config(unit="count", numerator="events", denominator=None)
    v = _values([("A", "2020-01-01", "m", 0, None, None), ("A", "2020-02-01", "m", 0, None, None),
                 ("A", "2020-03-01", "m", 4, None, None)])
    row = compare_periods(v, cfg).iloc[0]
    assert row["baseline_rate"] == 0 and row["intervention_rate"] == 4
    assert np.isnan(row["rel_change"]) and "no events in the baseline" in row["note"]
    # exact conditional test: given 4 events, all in the intervention month with exposure 1 of 3
    # months, P(X = 4 | p = 1/3) = (1/3)^4 and the two-sided p is the sum of outcomes as unlikely
    from scipy import stats
    probs = stats.binom.pmf(range(5), 4, 1 / 3)
    assert row["p_value"] == pytest.approx(probs[probs <= probs[4] * (1 + 1e-7)].sum())
