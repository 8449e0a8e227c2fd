"""Chart choice, phases and findings for a measure's series (qieval.spc.measure_chart)."""

import numpy as np
import pandas as pd
import pytest

from qieval.config import Measure
from qieval.spc.measure_chart import choose_chart, measure_spc, recalculation_months


def measure(**kw):
    base = {"id": "m", "title": "M", "type": "process", "improvement_direction": "increase",
            "unit": "percent", "numerator": "n", "denominator": "d"}
    return Measure.model_validate(base | kw)


def series(num, den, n_base, start="2021-01-01"):
    k = len(num)
    num = np.asarray(num, float)
    den = np.asarray(den, float)
    return pd.DataFrame({
        "period": pd.date_range(start, periods=k, freq="MS"), "numerator": num, "denominator": den,
        "value": num / den * 100, "phase": ["baseline"] * n_base + ["intervention"] * (k - n_base)})


NO_CYCLES = pd.DataFrame(columns=["site_id", "cycle_id", "start", "end", "category"])


def test_too_few_baseline_points_gives_run_chart():
    s = series([5] * 20, [50] * 20, n_base=11)
    chart, reason = choose_chart(measure(), s)
    assert chart == "run" and "11 baseline points" in reason


def test_p_chart_for_small_denominators_and_p_prime_for_large():
    rng = np.random.default_rng(1)
    assert choose_chart(measure(), series(rng.integers(3, 9, 24), [50] * 24, 12))[0] == "p"
    assert choose_chart(measure(), series(rng.integers(30, 90, 24), [5000] * 24, 12))[0] == "pp"
    assert choose_chart(measure(unit="rate", per=1000), series(rng.integers(3, 9, 24), [50] * 24, 12))[0] == "u"
    assert choose_chart(measure(unit="continuous", numerator=None, denominator=None),
                        series(rng.integers(3, 9, 24), [50] * 24, 12))[0] == "i"
    assert choose_chart(measure(chart="c", unit="count", denominator=None),
                        series(rng.integers(3, 9, 24), [50] * 24, 12))[0] == "c"


def test_zero_baseline_falls_back_to_run_chart():
    s = series([0] * 12 + [5] * 8, [40] * 20, n_base=12)
    chart, reason = choose_chart(measure(), s)
    assert chart == "run" and "no events in the baseline" in reason


def test_p_chart_limits_frozen_on_baseline():
    # baseline 12 months of 10/100 → p̄ = 0.10; limits 10 ± 3·sqrt(0.1·0.9/100)·100 = 10 ± 9
    s = series([10] * 6 + [9, 11] * 3 + [30] * 8, [100] * 20, n_base=12)
    r = measure_spc(s, measure(), NO_CYCLES)
    assert r.chart == "p"
    assert r.result["cl"].iloc[-1] == pytest.approx(10.0)
    assert r.result["ucl"].iloc[-1] == pytest.approx(10 + 300 * np.sqrt(0.09) / 10)
    assert r.result["sigma_signal"].iloc[12:].all()  # 30% is far above 19%
    assert any("above the upper limit (improvement)" in f for f in r.findings)
    assert r.suggestion  # a shift → recalculation suggested, never made
    assert r.result["part"].nunique() == 1


def test_recalculate_at_month_and_first_cycle_of_category():
    cycles = pd.DataFrame({"site_id": ["A", "A"], "cycle_id": ["1", "2"],
                           "start": pd.to_datetime(["2021-09-14", "2021-11-02"]),
                           "end": pd.NaT, "category": ["IT", "education"]})
    m = measure(recalculate_at=[{"first_cycle": "education"}, "2021-04"])
    assert recalculation_months(m, cycles) == [pd.Timestamp("2021-04-01"), pd.Timestamp("2021-11-01")]
    s = series([10] * 6 + [9, 11] * 3 + [30] * 8, [100] * 20, n_base=12)
    r = measure_spc(s, measure(recalculate_at=["2022-01"]), cycles)
    parts = r.result.groupby("part")
    assert list(parts.size()) == [12, 8]
    # phase 2 has its own centre line: 240/800 = 30%
    assert r.result.loc[r.result["part"] == 2, "cl"].iloc[0] == pytest.approx(30.0)
    assert not r.suggestion


def test_gap_is_kept_as_a_break_and_reported():
    s = series([10] * 20, [100] * 20, n_base=12)
    s.loc[15, ["numerator", "denominator", "value"]] = np.nan
    r = measure_spc(s, measure(), NO_CYCLES)
    assert np.isnan(r.result["y"].iloc[15])
    assert r.gaps == [pd.Timestamp("2022-04-01")]
    assert any("missing period" in f and "Apr 2022" in f for f in r.findings)


def test_mdc_icons_for_a_shift_with_a_target():
    s = series([10] * 6 + [9, 11] * 3 + [30] * 8, [100] * 20, n_base=12)
    r = measure_spc(s, measure(target=25), NO_CYCLES)
    assert r.variation == "improvement_high" and r.last_point == "improvement"
    # The icons are read off the chart shown (a p chart; one analysis per measure): limits frozen
    # on the baseline p̄ = 120/1200 = 0.10 → UCL = 100·(0.1 + 3·sqrt(0.1·0.9/100)) = 19 < target 25
    # → the target is consistently missed: 'fail'
    assert r.chart == "p" and r.result["ucl"].iloc[-1] == pytest.approx(19.0)
    assert r.assurance == "fail"


def test_site_comparison_funnel_by_hand():
    from qieval.spc.measure_chart import site_comparison

    v = pd.DataFrame({"site_id": ["a", "b", "c", "d"], "measure_id": "m",
                      "period": pd.Timestamp("2022-01-01"), "numerator": [10, 20, 30, 3],
                      "denominator": [100, 100, 100, 50]})
    names = {"a": "A", "b": "B", "c": "C", "d": "D"}
    r, chart, left_out = site_comparison(v, measure(), pd.Timestamp("2022-01-01"), pd.Timestamp("2022-12-01"),
                                         names, is_small=lambda x: 1 <= x <= 7)
    # site d rests on 3 (a small count) → left out; p̄ = 60/300 = 0.2; for n = 100 the limits are
    # 100·(0.2 ± 3·sqrt(0.2·0.8/100)) = 8 and 32
    assert chart == "p" and left_out == 1
    assert sorted(r["x"].astype(str)) == ["A", "B", "C"]
    assert r["cl"].iloc[0] == pytest.approx(20.0)
    assert r["ucl"].iloc[0] == pytest.approx(32.0) and r["lcl"].iloc[0] == pytest.approx(8.0)
    assert not r["sigma_signal"].any()
