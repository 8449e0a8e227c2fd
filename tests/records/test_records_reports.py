"""Measure plan page, equity section and weekly attribution on record-derived data."""

from __future__ import annotations

import pytest
from records_helpers import PRESCRIBING, RECORDS_CSV, TODAY, params, write_project

from qieval.attribution import Attribution
from qieval.config import load_config
from qieval.io.load import load_project, load_data
from qieval.report import attribution_section
from qieval.report.equity import breakdown_values, equity_section, group_summary
from qieval.report.measure_plan import measure_plan, plan_table


def test_measure_plan_tabulates_type_and_collection(demo_root_session):
    config = load_config(demo_root_session / "params" / "opioids.yaml")
    plan = plan_table(config)
    assert list(plan["type"]) == sorted(plan["type"], key=["outcome", "process", "balancing"].index)
    hd = plan.loc[plan["title"].str.contains("120 mg")].iloc[0]
    assert hd["collection"] == "Via ePACT2 dataset and local PCNs"
    assert hd["definition"].startswith("distinct patient where ome_mg_day > 120 ÷ distinct patient × 100")
    assert hd["target"] == "6.2% by Dec 2024"
    survey = plan.loc[plan["collection"] == "Patient feedback via patient survey"].iloc[0]
    assert not survey["charted"] and survey["type"] == "outcome"
    html = measure_plan(config)
    assert "Collection method" in html and "(not charted)" in html and "50%" in html


def test_equity_groups_pooled_over_sites(tmp_path):
    data = load_data(load_config(write_project(tmp_path, params(RECORDS_CSV), PRESCRIBING)),
                             today=TODAY)
    m = data.config.measure("high_dose")
    v = breakdown_values(data, m)
    jan = v.loc[v["period"] == "2022-01-01"].set_index("group")
    # IMD 1 in January: a has p1 (150) and p3 (40), b none → 1 of 2; IMD 5: b has p4 (200), p5 → 1 of 2
    assert tuple(jan.loc["1", ["numerator", "denominator"]]) == (1, 2)
    assert tuple(jan.loc["5", ["numerator", "denominator"]]) == (1, 2)
    s = group_summary(v, data, m).set_index("group")
    assert s.loc["1", "baseline_rate"] == pytest.approx(50.0)
    assert s.loc["1", "intervention_rate"] == pytest.approx(50.0)  # a: p1 0/1, b: p6 1/1
    html = equity_section(data)
    assert "by imd_quintile" in html and "1 (most deprived 20%: Core20)" in html
    assert equity_section(data, "a")  # one site's view


def test_equity_skips_projects_without_breakdowns(demo_root_session):
    assert equity_section(load_project(demo_root_session / "params" / "deprescribing.yaml")) == ""


def test_weekly_values_are_attributed_by_month(demo_root_session):
    data = load_project(demo_root_session / "params" / "pccc.yaml")
    m = data.config.measure("admissions_avoided")
    result = attribution_section.fit_measure(data.measure_values, data.pdsa_cycles, m)
    assert isinstance(result, Attribution), result
    eff = result.effects.set_index("category")
    # the generator: clinical leads (staffing) start in the same week at every locality, so with
    # calendar-month effects they cannot be separated from other changes shared by all sites; the
    # prioritisation tool (IT, odds ratio 1.5) is staggered: its interval, from weekly records
    # aggregated to months, holds the generator's effect
    assert not eff.loc["staffing", "separable"]
    assert "shared by all sites" in eff.loc["staffing", "note"]
    assert eff.loc["IT", "separable"]
    assert eff.loc["IT", "ratio_low"] < 1.5 < eff.loc["IT", "ratio_high"]
    months = attribution_section._to_months(data.measure_values.loc[
        data.measure_values["measure_id"] == m.id])
    assert (months["period"].dt.day == 1).all() and not months.duplicated(["site_id", "period"]).any()
