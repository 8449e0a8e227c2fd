"""Words and numbers a reader trips on: formatting rules, the plain-English summary,
the PDSA table, reports without list sizes and funnel-plot labels that fit."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from qieval.config import Measure
from qieval.format import fmt_count, fmt_interval, fmt_num, fmt_value, interval_decimals
from qieval.report import plain_summary as ps

# ---- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("est, lo, hi, decimals, expected", [
    (45.23, 40.1, 50.2, 1, "45.2 (40.1 to 50.2)"),  # wide enough: the measure's decimals stand
    (0.3, 0.27, 0.33, 1, "0.30 (0.27 to 0.33)"),  # was "0.3 (0.3 to 0.3)"
    (0.301, 0.3, 0.302, 1, "0.301 (0.300 to 0.302)"),  # ends differ only in the third place
    (12.0, 11.96, 12.04, 1, "12.00 (11.96 to 12.04)"),  # large value, narrow interval
    (0.0, 0.0, 1.1, 1, "0.0 (0.0 to 1.1)"),  # zero needs no significant figures
    (0.0004, 0.0001, 0.001, 1, "0.00040 (0.00010 to 0.00100)"),  # two significant figures
    (6092.4, 6000.1, 6180.9, 0, "6,092 (6,000 to 6,181)"),
    (1.2, -0.3, 2.7, 0, "1 (0 to 3)"),  # never "-0"
])
def test_interval_never_prints_equal_ends(est, lo, hi, decimals, expected):
    assert fmt_interval(est, lo, hi, decimals) == expected
    ends = re.findall(r"\((.*) to (.*)\)", expected)[0]
    assert ends[0] != ends[1]


def test_interval_decimals_limits():
    assert interval_decimals(1.0, 1.0, 1.0 + 1e-9, 1) == 6  # capped at six places
    assert interval_decimals(0.3, 0.3, 0.3, 1) == 2  # a zero-width interval: only the magnitude rule
    assert fmt_interval(np.nan, np.nan, np.nan, 1) == "– (– to –)"
    assert fmt_interval(-0.71, -1.12, -0.29, 2, "pp") == "-0.71pp (-1.12 to -0.29)"


def test_counts_are_whole_numbers_with_their_noun():
    assert fmt_count(6092.0, "attendances") == "6,092 attendances"
    assert fmt_count(6092.0) == "6,092"
    assert fmt_count(None) == "–" and fmt_count(float("nan")) == "–"
    assert fmt_value(6092.0, "count", 1, None) == "6,092"  # never "6,092.0 count"
    assert fmt_value(6092.0, "count", 1, "attendances") == "6,092 attendances"
    assert fmt_value(4.75, "count", 2, None) == "4.75"  # a mean count keeps its decimals


def test_values_in_text_carry_their_unit():
    assert fmt_value(45.24, "percent", 1, "%") == "45.2%"
    assert fmt_value(0.314, "rate", 1, "per 1,000") == "0.31 per 1,000"
    assert fmt_value(6.07, "continuous", 2, "minutes per patient") == "6.07 minutes per patient"
    assert fmt_value(None, "percent", 1, "%") == "–"
    assert fmt_num(6092.0) == "6,092.0"  # fmt_num itself is unchanged


def _measure(**kw) -> Measure:
    base = dict(id="m", title="M", type="process", numerator="n", improvement_direction="increase")
    return Measure(**(base | kw))


def test_measure_units_in_words():
    count = _measure(unit="count")
    assert ps.value_label(count) is None and ps.measure_decimals(count) == 0
    assert ps.measure_value(count, 6092.0) == "6,092"
    assert ps.measure_value(_measure(unit="count", unit_label="attendances"), 6092) == "6,092 attendances"
    assert ps.measure_decimals(_measure(unit="count", decimals=2)) == 2  # set in the params: kept
    per1 = _measure(unit="rate", denominator="d", per=1)
    assert ps.value_label(per1) is None and ps.measure_value(per1, 0.3) == "0.30"
    assert ps.value_label(_measure(unit="rate", denominator="d", per=1000)) == "per 1,000"
    assert ps.measure_value(_measure(unit="percent", denominator="d"), 36.5) == "36.5%"
    assert ps.target_value(_measure(unit="percent", denominator="d", target=100)) == "100%"


# ---- what this means ----------------------------------------------------------------------------


def _spc(variation: str, assurance: str = "", limits: bool = True) -> SimpleNamespace:
    result = pd.DataFrame({"y": [1.0, 2.0], "lcl": [0.5, 0.5 if limits else np.nan],
                           "ucl": [3.0, 3.0 if limits else np.nan]})
    return SimpleNamespace(variation=variation, assurance=assurance, result=result)


def _summary_row(mid, b, i, latest=None, n=50):
    return {"measure_id": mid, "baseline_rate": b, "intervention_rate": i, "latest_rate": latest,
            "latest_period": pd.Timestamp("2023-03-01"), "baseline_numerator": n,
            "baseline_denominator": 100, "intervention_numerator": n, "intervention_denominator": 100}


def _config(measures):
    return SimpleNamespace(measures=measures)


def test_what_this_means_groups_measures_by_their_chart_verdict():
    a = _measure(id="a", title="Offered", unit="percent", denominator="d", target=100)
    b = _measure(id="b", title="Minutes", unit="continuous", unit_label="minutes", decimals=2,
                 improvement_direction="decrease")
    c = _measure(id="c", title="Referrals", unit="count")
    d = _measure(id="d", title="Survey", unit="percent", denominator="d")
    summary = pd.DataFrame([_summary_row("a", 0.0, 34.8, 36.5), _summary_row("b", 5.93, 7.74),
                            _summary_row("c", 40.0, 41.0), _summary_row("d", 1.0, 1.0)])
    spc = {"a": _spc("improvement_high", "fail"), "b": _spc("concern_high"), "c": _spc("common_cause")}
    got = ps.sentences(_config([a, b, c, d]), summary, spc)
    assert got == [
        "Improving (1 of 4 measures): Offered (from 0.0% at baseline to 34.8% in the intervention period).",
        "Getting worse (1 of 4 measures): Minutes (from 5.93 minutes at baseline to 7.74 minutes in the "
        "intervention period).",
        "No change beyond normal variation (1 of 4 measures): Referrals.",
        "Too few data points to judge yet (SPC needs at least 12) (1 of 4 measures): Survey.",
        "Target for Offered: 100%; consistently missed going by the chart's limits; the latest value, "
        "36.5% in Mar 2023, does not meet it.",
    ]


def test_what_this_means_says_why_there_is_no_assurance_and_hides_small_numbers():
    a = _measure(id="a", title="Offered", unit="percent", denominator="d", target=30)
    summary = pd.DataFrame([_summary_row("a", 0.0, 34.8, 36.5, n=3)])
    policy = SimpleNamespace(enabled=True, is_small=lambda c: 1 <= c <= 7)
    got = ps.sentences(_config([a]), summary, {"a": _spc("improvement_high", "", limits=False)}, policy)
    assert got == [
        "Improving (all measures): Offered.",  # 3 patients: no rates for this audience
        "Target for Offered: 30%; the chart has no control limits to judge whether it will be met "
        "reliably.",
    ]
    got = ps.sentences(_config([a]), summary, {"a": _spc("improvement_high", "", limits=False)})
    assert got[1].endswith("the latest value, 36.5% in Mar 2023, meets it.")
    # under a policy even large pooled counts do not publish the latest value (its own counts unknown)
    big = pd.DataFrame([_summary_row("a", 0.0, 34.8, 36.5, n=300)])
    got = ps.sentences(_config([a]), big, {"a": _spc("improvement_high", "pass")}, policy)
    assert got == ["Improving (all measures): Offered (from 0.0% at baseline to 34.8% in the "
                   "intervention period).",
                   "Target for Offered: 30%; consistently met going by the chart's limits."]


def test_no_denominator_words_for_a_count():
    c = _measure(id="c", title="Referrals", unit="count")
    summary = pd.DataFrame([_summary_row("c", 40.0, 52.0)])
    text = " ".join(ps.sentences(_config([c]), summary, {"c": _spc("improvement_high")}))
    assert "from 40 a month at baseline to 52 a month in the intervention period" in text
    assert "denominator" not in text and "count" not in text.replace("Referrals", "")


# ---- reports --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hillside(tmp_path_factory):
    from qitest_support import demo_copy

    from qieval.report.site_report import prepare

    root = demo_copy(tmp_path_factory.mktemp("demo"))
    return root, prepare(root / "params" / "deprescribing.yaml", "hillside")


def test_pdsa_table_shows_plan_do_study_act(hillside):
    root, report = hillside
    html = str(report.cycles_table())
    assert re.search(r"<th[^>]*>Plan</th><th[^>]*>Do</th><th[^>]*>Study</th><th[^>]*>Act</th>", html), html[:600]
    cycles = pd.read_csv(root / "data" / "deprescribing" / "pdsa_cycles.csv", dtype=str).fillna("")
    first = cycles.loc[cycles["cycle_id"] == "PDSA-01"].iloc[0]
    from html import escape

    for field in ("plan", "do", "study", "act"):
        assert escape(first[field]) in html, field


def test_site_report_opens_with_what_this_means_from_its_own_numbers(hillside):
    root, report = hillside
    html = str(report.title())
    assert "<h2 id=\"what-this-means\">What this means</h2>" in html
    # the pooled baseline and intervention percentages, worked out from the CSV here
    v = pd.read_csv(root / "data" / "deprescribing" / "measure_values.csv")
    v = v.loc[(v["site_id"] == "hillside") & (v["measure_id"] == "conversation_offered")]
    base = v.loc[v["period"] <= "2022-03"]
    inter = v.loc[(v["period"] >= "2022-04") & (v["period"] <= "2023-03")]
    b = 100 * base["numerator"].sum() / base["denominator"].sum()
    i = 100 * inter["numerator"].sum() / inter["denominator"].sum()
    assert f"from {b:.1f}% at baseline to {i:.1f}% in the intervention period" in html
    assert "Target for Register patients offered a deprescribing conversation: 100% by Mar 2023" in html


def test_reports_cope_without_a_list_size(tmp_path):
    from qitest_support import demo_copy

    from qieval.report import network_report, site_report

    root = demo_copy(tmp_path)
    sites = root / "data" / "deprescribing" / "sites.csv"
    sites.write_text(re.sub(r"(?m)^(riverside,.*),\d+$", r"\1,", sites.read_text()), encoding="utf-8")
    params = root / "params" / "deprescribing.yaml"
    r = site_report.prepare(params, "riverside")
    assert "Registered patients" not in str(r.title())  # nothing to say for this site
    assert r.results()["list_size"] is None
    n = network_report.prepare(params)
    # 11,842 + 8,903 + 6,747 from the other three practices of the demo
    assert "<dd>27,492 (3 of 4 sites give one)</dd>" in str(n.title())
    from qieval.report import abstract_report

    md = abstract_report.markdown(abstract_report.prepare(params))
    assert "ran in 4 GP practices. Baseline" in md  # no "registered population" of three sites
    assert "27,492" not in md


# ---- funnel labels ------------------------------------------------------------------------------


def test_funnel_labels_fit_inside_the_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qieval.figures import funnel_plot

    names = ["Guy's and St Thomas' NHS Foundation Trust", "King's College Hospital NHS Foundation Trust",
             "Lewisham and Greenwich NHS Trust", "Barts Health NHS Trust", "A"]
    n = np.array([1000.0, 74000.0, 70000.0, 98000.0, 100000.0])  # King's at 74% of the axis
    p = 0.3
    r = pd.DataFrame({"x": names, "n": n, "y": [0.25, 0.31, 0.29, 0.30, 0.302], "cl": p,
                      "ucl": p + 3 * np.sqrt(p * (1 - p) / n), "lcl": p - 3 * np.sqrt(p * (1 - p) / n),
                      "ucl_95": p + 2 * np.sqrt(p * (1 - p) / n), "lcl_95": p - 2 * np.sqrt(p * (1 - p) / n),
                      "sigma_signal": [True, False, False, False, False]})
    fig = funnel_plot(r, title="Funnel", ylabel="proportion", alt="")
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    texts = fig.axes[0].texts
    assert len(texts) == len(names)
    width, height = fig.bbox.width, fig.bbox.height
    for t in texts:
        box = t.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (t.get_text(), box)
    shown = {t.get_text() for t in texts}
    assert "King's College Hospital NHS Foundation Trust" in shown  # fits on its left: not shortened
    assert "A" in shown


def test_count_changes_are_per_period_not_per_unit_of_denominator():
    from qieval.attribution import Attribution
    from qieval.report.attribution_section import fit_measure

    # four sites with staggered starts; the count triples after the change (a clear association)
    rng = np.random.default_rng(17)
    months = pd.date_range("2021-01-01", periods=36, freq="MS")
    starts = {"a": 12, "b": 16, "c": 20, "d": 24}
    rows, cycles = [], []
    for site, k in starts.items():
        for j, month in enumerate(months):
            rows.append({"site_id": site, "period": month, "measure_id": "referrals",
                         "numerator": float(rng.poisson(20 if j < k else 60)), "denominator": np.nan,
                         "value": np.nan})
        cycles.append({"site_id": site, "cycle_id": f"C{site}", "start": months[k], "category": "process"})
    m = _measure(id="referrals", title="Referrals", unit="count")
    result = fit_measure(pd.DataFrame(rows), pd.DataFrame(cycles), m)
    assert isinstance(result, Attribution), result
    sentence = result.effects.set_index("category").loc["process", "sentence"]
    if isinstance(sentence, pd.Series):
        sentence = sentence.iloc[0]
    assert "denominator" not in sentence
    assert re.search(r"is \+\d+\.\d\d per month \(95% CI", sentence), sentence


def test_axis_and_table_labels():
    assert _measure(unit="rate", denominator="d", per=1).label == "rate"  # never "per 1"
    assert _measure(unit="rate", denominator="d", per=1000).label == "per 1,000"
    assert _measure(unit="count").label == "count"  # a column heading, not text after a value
    assert _measure(unit="count", unit_label="attendances").label == "attendances"
