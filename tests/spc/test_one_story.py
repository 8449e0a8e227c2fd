"""One SPC story per measure: over-dispersion worked by hand, the icon and last_point read off the
chart shown (checked by an independent last-point rule check over many seeded series), the chart
setting, and spc.plot drawing results without recomputing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qieval.config import Measure
from qieval.errors import InputError
from qieval.spc import mdc, plot, qic
from qieval.spc.dispersion import dispersion, laney_sigma_z
from qieval.spc.measure_chart import choose_chart, measure_spc

NO_CYCLES = pd.DataFrame(columns=["site_id", "cycle_id", "start", "end", "category"])


def measure(**kw) -> Measure:
    base = {"id": "m", "title": "M", "type": "process", "improvement_direction": "increase",
            "unit": "percent", "numerator": "n", "denominator": "d"}
    return Measure.model_validate(base | kw)


def series(num, den=None, n_base=12, multiplier=100.0) -> pd.DataFrame:
    num = np.asarray(num, float)
    den = np.full(len(num), np.nan) if den is None else np.asarray(den, float)
    value = num if np.isnan(den).all() else num / den * multiplier
    return pd.DataFrame({
        "period": pd.date_range("2021-01-01", periods=len(num), freq="MS"), "numerator": num,
        "denominator": den, "value": value,
        "phase": ["baseline"] * n_base + ["intervention"] * (len(num) - n_base)})


# ---- over-dispersion, by hand ---------------------------------------------------------------------

def test_laney_sigma_z_and_pearson_x2_by_hand():
    # x = 10, 20, 15, 25, 10 of n = 100: p̄ = 80/500 = 0.16, σ = sqrt(0.16·0.84/100) = 0.0366606.
    # |Δp| = 0.10, 0.05, 0.10, 0.15 → mean 0.10 → mean |Δz| = 0.10/σ; σz = 0.10/(σ·1.128) = 0.10/0.0413532 = 2.41819
    # (no moving range reaches 3.267 × the mean, so screening drops none).
    # Σ(p − p̄)² = 0.0036 + 0.0016 + 0.0001 + 0.0081 + 0.0036 = 0.017 → X² = 0.017/σ² = 12.6488 on 4 df.
    d = dispersion([10, 20, 15, 25, 10], [100] * 5, "p")
    assert d.sigma_z == pytest.approx(0.10 / (0.0366606 * 1.128), rel=1e-5)
    assert d.sigma_z == pytest.approx(2.41819, rel=1e-5)
    assert d.chi2 == pytest.approx(0.017 / 0.001344, rel=1e-9) and d.df == 4
    assert d.p_value == pytest.approx(stats.chi2.sf(12.6488, 4), rel=1e-4)  # 0.0131
    assert 0.013 < d.p_value < 0.0132 and d.over


def test_poisson_count_dispersion_by_hand():
    # c = 100, 110, 90, 100: c̄ = 100, σ = 10 → z = 0, 1, −1, 0; X² = 2 on 3 df (p = 0.572);
    # |Δz| = 1, 2, 1 → σz = (4/3)/1.128 = 1.18203 — but X² does not reject, so not over-dispersed.
    d = dispersion([100, 110, 90, 100], None, "c")
    assert d.chi2 == pytest.approx(2.0) and d.df == 3
    assert d.sigma_z == pytest.approx((4 / 3) / 1.128)
    assert d.p_value == pytest.approx(0.5724067, rel=1e-6)
    assert not d.over


def test_moving_range_screening_drops_one_outlier():
    # z = 0, 0.1, 0, 0.1, 5: MR = 0.1, 0.1, 0.1, 4.9 (mean 1.3; 4.9 ≥ 3.267·1.3 = 4.247) → screened mean 0.1
    assert laney_sigma_z(np.array([0, 0.1, 0, 0.1, 5.0])) == pytest.approx(0.1 / 1.128)
    assert laney_sigma_z(np.array([0, 0.1, 0, 0.1, 5.0]), screen=False) == pytest.approx(1.3 / 1.128)


def test_p_prime_chart_uses_the_same_sigma_z():
    """The shown p′ chart widens the p chart's sigma by exactly the reported σz."""
    rng = np.random.default_rng(7)
    den = rng.integers(4000, 6000, 24).astype(float)
    num = np.round(den * rng.normal(0.8, 0.03, 24))
    r = measure_spc(series(num, den), measure(), NO_CYCLES)
    assert r.chart == "pp" and r.dispersion.over
    p = num[:12].sum() / den[:12].sum()
    sd = np.sqrt(p * (1 - p) / den)
    assert np.allclose(r.result["ucl"], 100 * np.minimum(p + 3 * sd * r.dispersion.sigma_z, 1))
    assert "over-dispersed" in r.reason and "σz" in r.reason


def test_counts_in_the_thousands_get_an_xmr_chart_and_small_counts_a_c_chart():
    rng = np.random.default_rng(3)
    big = np.round(rng.normal(5400, 250, 24))  # Poisson σ would be √5400 ≈ 73
    m = measure(unit="count", denominator=None, improvement_direction="neutral")
    chart, reason = choose_chart(m, series(big))
    assert chart == "i" and "over-dispersed" in reason and "c chart" in reason
    r = measure_spc(series(big), m, NO_CYCLES)
    assert {"mr", "mr_cl", "mr_ucl"} <= set(r.result.columns)  # the MR chart drawn under the I chart
    assert np.isnan(r.result["mr"].iloc[0]) and r.result["mr"].iloc[1] == pytest.approx(abs(big[1] - big[0]))
    small = rng.poisson(20, 24)
    assert choose_chart(m, series(small))[0] == "c"


def test_chart_set_in_params_is_flagged_when_over_dispersed():
    rng = np.random.default_rng(3)
    big = np.round(rng.normal(5400, 250, 24))
    m = measure(unit="count", denominator=None, improvement_direction="neutral", chart="c")
    chart, reason = choose_chart(m, series(big))
    assert chart == "c" and "Caution: the baseline is over-dispersed" in reason and "XmR (I) would suit" in reason


@pytest.mark.parametrize("unit,chart,ok", [("percent", "u", False), ("rate", "p", False), ("count", "p", False),
                                           ("continuous", "c", False), ("percent", "pp", True),
                                           ("rate", "up", True), ("count", "i", True)])
def test_chart_setting_must_fit_the_unit(unit, chart, ok):
    kw = {"unit": unit, "chart": chart}
    if unit in ("count", "continuous"):
        kw["denominator"] = None
    if unit == "continuous":
        kw["numerator"] = None
    if ok:
        assert measure(**kw).chart == chart
    else:
        with pytest.raises(ValueError, match=f"chart '{chart}' does not fit a {unit} measure; use one of"):
            measure(**kw)


# ---- the icon is the last point of the chart shown ---------------------------------------------------

def _expected_last(r: pd.DataFrame, direction: str) -> str:
    """An independent reading of the Making Data Count rules for the latest point only (one part,
    no missing values): outside the limits; else the last 7 strictly rising/falling; else the last
    point and one of the two before beyond a 2-sigma limit (inside the limits) with all three on
    one side; else the last 7 on one side of the centre line."""
    y, cl = r["y"].to_numpy(), r["cl"].to_numpy()
    lcl, ucl, l2, u2 = (r[c].to_numpy() for c in ("lcl", "ucl", "lcl_95", "ucl_95"))
    i = len(y) - 1
    side = 0
    if y[i] > ucl[i] or y[i] < lcl[i]:
        side = 1 if y[i] > cl[i] else -1
    elif len(y) >= 7 and (np.all(np.diff(y[-7:]) > 0) or np.all(np.diff(y[-7:]) < 0)):
        side = 1 if y[-1] > y[-2] else -1
    else:
        def near(k):
            return (y[k] > u2[k] or y[k] < l2[k]) and not (y[k] > ucl[k] or y[k] < lcl[k])
        s3 = np.sign(y[-3:] - cl[-3:])
        if near(i) and (near(i - 1) or near(i - 2)) and abs(s3.sum()) == 3:
            side = int(s3[-1])
        else:
            s7 = np.sign(y[-7:] - cl[-7:])
            if abs(s7.sum()) == 7:
                side = int(s7[-1])
    if side == 0:
        return "common_cause"
    if direction == "neutral":
        return "neutral"
    return "improvement" if side == {"increase": 1, "decrease": -1}[direction] else "concern"


ICON_OF = {("improvement", "increase"): "improvement_high", ("improvement", "decrease"): "improvement_low",
           ("concern", "increase"): "concern_low", ("concern", "decrease"): "concern_high"}


def test_icon_agrees_with_the_last_point_of_the_chart_shown_over_seeded_series():
    rng = np.random.default_rng(20240516)
    seen = set()
    for k in range(240):
        unit = ("percent", "rate", "count", "continuous")[k % 4]
        direction = ("increase", "decrease", "neutral")[k // 4 % 3]
        n = int(rng.integers(14, 30))
        shift = rng.choice([0, 0, 1, -1]) * rng.uniform(0.5, 3)
        trend = rng.choice([0, 0, 1]) * rng.uniform(0, 0.3)
        lam = np.clip(20 * (1 + 0.1 * (shift * (np.arange(n) >= 12) + trend * np.maximum(np.arange(n) - 12, 0))),
                      0.5, None)
        kw = {"unit": unit, "improvement_direction": direction, "target": float(rng.uniform(5, 40))}
        if unit in ("count", "continuous"):
            kw["denominator"] = None
        if unit == "continuous":
            kw["numerator"] = None
        m = measure(**kw)
        den = rng.integers(80, 140, n).astype(float) if unit in ("percent", "rate") else None
        num = rng.poisson(lam * (den / 100 if den is not None else 1)).astype(float)
        s = series(num if unit != "continuous" else rng.normal(lam, 2), den,
                   multiplier=100.0 if unit == "percent" else 1.0)
        r = measure_spc(s, m, NO_CYCLES)
        assert r.chart != "run"
        expected = _expected_last(r.result, direction)
        assert r.last_point == expected, (k, r.chart, r.result[["y", "cl", "lcl", "ucl"]].tail(7))
        if expected == "common_cause":
            assert r.variation == "common_cause"
        elif expected == "neutral":
            assert r.variation in ("neutral_high", "neutral_low")
        else:
            assert r.variation == ICON_OF[(expected, direction)]
        # the point drawn last carries the same state as the icon
        assert r.result["point_type"].iloc[-1].replace("special_cause_", "").split("_")[0] == \
            ("common" if expected == "common_cause" else expected)
        # assurance from the shown chart's last limits
        last = r.result.iloc[-1]
        if direction != "neutral":
            higher_better = direction == "increase"
            t = m.target
            want = ("inconsistent" if last["lcl"] <= t <= last["ucl"] else
                    ("fail" if (t > last["ucl"]) == higher_better else "pass"))
            assert r.assurance == want
        seen.add((r.chart, expected))
    # the sample covered every state and several charts
    assert {e for _, e in seen} == {"common_cause", "improvement", "concern", "neutral"}
    assert {c for c, _ in seen} >= {"p", "u", "c", "i"}


def test_special_cause_last_point_is_never_shown_with_a_common_cause_icon():
    # the case: a c chart of counts in the thousands with the last point far outside
    m = measure(unit="count", denominator=None, improvement_direction="neutral", chart="c")
    counts = [5400, 5450, 5380, 5420, 5390, 5410, 5405, 5395, 5430, 5370, 5400, 5415, 5900]
    r = measure_spc(series(counts), m, NO_CYCLES)
    # c̄ = 64,865/12 = 5405.4; UCL = 5405.4 + 3·√5405.4 = 5626.0 < 5900 → special cause, high
    assert r.result["ucl"].iloc[-1] == pytest.approx(64865 / 12 + 3 * np.sqrt(64865 / 12))
    assert r.last_point == "neutral" and r.variation == "neutral_high"


# ---- plot ----------------------------------------------------------------------------------------

def _labels(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_plot_draws_qic_and_mdc_results_with_a_legend_without_recomputing():
    from matplotlib.figure import Figure

    rng = np.random.default_rng(1)
    d = pd.DataFrame({"month": pd.date_range("2020-01-01", periods=24, freq="MS"),
                      "y": rng.poisson(20, 24).astype(float), "n": rng.integers(80, 120, 24)})
    for chart in ("run", "i", "p", "pp", "u", "up", "c"):
        r = qic(d, "month", "y", "n" if chart in ("p", "pp", "u", "up") else None, chart=chart, freeze=12)
        fig = plot(r, title=chart)
        assert isinstance(fig, Figure)
        labels = _labels(fig)
        assert "centre line" in labels or "centre line (runs signal)" in labels
        assert ("control limits (3σ)" in labels) == (chart != "run")
    # plotting reads the columns: a centre line set by hand is what is drawn
    r = qic(d, "month", "y", chart="i")
    fake = r.assign(cl=123.0)
    lines = [ln for ln in plot(fake).axes[0].get_lines() if ln.get_label() in ("centre line", "centre line (runs signal)")]
    assert lines and np.allclose(lines[0].get_ydata(), 123.0)
    # I chart with its MR chart underneath
    fig = plot(r, mr=qic(d, "month", "y", chart="mr"))
    assert len(fig.axes) == 2 and "moving range" in _labels(fig)
    # an mdc() result
    m = mdc(d, "y", "month", improvement_direction="increase", target=25)
    labels = _labels(plot(m))
    assert {"mean", "process limits", "2-sigma limits", "target"} <= set(labels)


def test_plot_rejects_what_is_not_a_result():
    with pytest.raises(InputError, match="lacks the columns cl, lcl, runs_signal"):
        plot(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(InputError, match="DataFrame returned by qic"):
        plot([1, 2, 3])
