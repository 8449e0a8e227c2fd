"""Record-level measure definitions against counts worked out by hand on a 10-row table
(records_helpers.PRESCRIBING), for every kind of definition, CSV and Parquet alike."""

from __future__ import annotations

import math

import pytest
from records_helpers import (PRESCRIBING, RECORDS_CSV, TODAY, params, values_of,
                             write_project)

from qieval.config import load_config
from qieval.io.load import load_data


def _load(path):
    return load_data(load_config(path), today=TODAY)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return _load(write_project(root, params(RECORDS_CSV), PRESCRIBING))


def _same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, (n, d, v) in want.items():
        gn, gd, gv = got[key]
        for g, w in ((gn, n), (gd, d), (gv, v)):
            assert (math.isnan(g) and w is None) or g == pytest.approx(w), (key, got[key], want[key])


def test_count_distinct_with_where_over_count_distinct(tiny):
    # Jan: a has p1 (150), p2 (130) over 120 of p1-p3; b has p4 (200) of p4-p5.
    # Feb: a has p2 (125) of p1-p2; b has p6 (130) of p4 (two rows, one patient) and p6.
    _same(values_of(tiny, "high_dose"), {
        ("a", "2022-01"): (2, 3, None), ("b", "2022-01"): (1, 2, None),
        ("a", "2022-02"): (1, 2, None), ("b", "2022-02"): (1, 2, None)})


def test_count_of_rows_differs_from_distinct_patients(tiny):
    _same(values_of(tiny, "rows"), {
        ("a", "2022-01"): (3, None, None), ("b", "2022-01"): (2, None, None),
        ("a", "2022-02"): (2, None, None), ("b", "2022-02"): (3, None, None)})


def test_sum_of_a_flag(tiny):
    _same(values_of(tiny, "gaba"), {
        ("a", "2022-01"): (2, None, None), ("b", "2022-01"): (0, None, None),
        ("a", "2022-02"): (1, None, None), ("b", "2022-02"): (1, None, None)})


def test_mean_and_median(tiny):
    _same(values_of(tiny, "mean_ome"), {
        ("a", "2022-01"): (None, None, 320 / 3), ("b", "2022-01"): (None, None, 110.0),
        ("a", "2022-02"): (None, None, 112.5), ("b", "2022-02"): (None, None, 250 / 3)})
    _same(values_of(tiny, "median_ome"), {
        ("a", "2022-01"): (None, None, 130.0), ("b", "2022-01"): (None, None, 110.0),
        ("a", "2022-02"): (None, None, 112.5), ("b", "2022-02"): (None, None, 90.0)})


def test_list_size_denominator(tiny):
    _same(values_of(tiny, "per_1000"), {
        ("a", "2022-01"): (3, 1000, None), ("b", "2022-01"): (2, 2000, None),
        ("a", "2022-02"): (2, 1000, None), ("b", "2022-02"): (2, 2000, None)})


def test_derived_column_in_a_where(tiny):
    # Core20 (IMD 1) and > 6 months: Jan a: p1 (8 months; p3 12 months) → 2; Feb a: p1 → 1; b: none
    _same(values_of(tiny, "core20_long"), {
        ("a", "2022-01"): (2, None, None), ("b", "2022-01"): (0, None, None),
        ("a", "2022-02"): (1, None, None), ("b", "2022-02"): (0, None, None)})


def test_breakdown_by_quintile_with_empty_groups_as_zero(tiny):
    b = tiny.breakdowns
    assert set(b["measure_id"]) == {"high_dose"} and set(b["breakdown"]) == {"imd_quintile"}
    got = {(r.site_id, r.period.strftime("%Y-%m"), r.group): (r.numerator, r.denominator)
           for r in b.itertuples()}
    assert got[("a", "2022-01", "1")] == (1, 2)  # p1 150 of p1, p3
    assert got[("a", "2022-01", "2")] == (1, 1)  # p2
    assert got[("b", "2022-01", "5")] == (1, 2)  # p4 of p4, p5
    assert got[("b", "2022-01", "1")] == (0, 0)  # no IMD-1 patients at b in January
    assert got[("b", "2022-02", "5")] == (0, 1)  # p4 (two rows) at 90 and 30 mg
    assert got[("b", "2022-02", "1")] == (1, 1)  # p6
    assert len(b) == 2 * 2 * 3  # sites × months × groups (1, 2, 5)


def test_parquet_gives_the_same_values_as_csv(tmp_path, tiny):
    typed = PRESCRIBING.assign(month=lambda f: f["month"] + "-01").astype({"month": "datetime64[s]"})
    path = write_project(tmp_path, params(RECORDS_CSV.replace("prescribing.csv", "prescribing.parquet")),
                         typed, "prescribing.parquet")
    pq = _load(path)
    cols = ["site_id", "period", "measure_id", "numerator", "denominator", "value"]
    a = tiny.measure_values[cols].reset_index(drop=True)
    b = pq.measure_values[cols].reset_index(drop=True)
    assert a.astype(str).equals(b.astype(str))
    assert tiny.breakdowns.astype(str).equals(pq.breakdowns.astype(str))
    assert pq.files["records"].name == "prescribing.parquet"


WEEKLY_MEASURES = """\
measures:
  - id: referrals
    title: Referrals
    type: process
    numerator: referrals
    unit: count
    improvement_direction: neutral
    breakdown: day_type
    from_records:
      numerator: {count: true}
  - id: hours
    title: Median hours
    type: outcome
    unit: continuous
    improvement_direction: decrease
    breakdown: day_type
    from_records:
      value: {median: hours, where: "hours IS NOT NULL"}
"""

WEEKLY_RECORDS = """\
records:
  file: referrals.csv
  columns: {site: locality, period: referred_at}
  derive:
    day_type: "CASE WHEN dayofweek(CAST(referred_at AS TIMESTAMP)) IN (0, 6) THEN 'weekend' ELSE 'weekday' END"
"""


def test_weekly_periods_and_weekday_weekend_breakdown(tmp_path):
    import pandas as pd

    rows = pd.DataFrame({
        "referral_id": ["r1", "r2", "r3", "r4", "r5", "r6"], "locality": ["a"] * 6,
        "referred_at": ["2022-01-03 10:00", "2022-01-08 12:00", "2022-01-09 09:00",
                        "2022-01-10 09:00", "2022-01-12 15:30", "2022-01-16 11:00"],
        "hours": [10.0, 50.0, 70.0, 5.0, None, 30.0]})
    path = write_project(tmp_path, params(WEEKLY_RECORDS, WEEKLY_MEASURES, "week", "allow_gaps: true\n"),
                         rows, "referrals.csv")
    data = _load(path)
    _same(values_of(data, "referrals"), {
        ("a", "2022-01-03"): (3, None, None), ("a", "2022-01-10"): (3, None, None),
        ("b", "2022-01-03"): (0, None, None), ("b", "2022-01-10"): (0, None, None)})
    # site b has no referrals: no median, a break in the chart (a warning with allow_gaps)
    _same(values_of(data, "hours"), {("a", "2022-01-03"): (None, None, 50.0),
                                     ("a", "2022-01-10"): (None, None, 17.5)})
    assert any("'hours' at site 'b'" in p.message for p in data.warnings)
    b = data.breakdowns
    med = {(r.period.strftime("%m-%d"), r.group): r.value for r in b.itertuples()
           if r.measure_id == "hours" and r.site_id == "a"}
    assert med == {("01-03", "weekday"): 10.0, ("01-03", "weekend"): 60.0,
                   ("01-10", "weekday"): 5.0, ("01-10", "weekend"): 30.0}
    cnt = {(r.period.strftime("%m-%d"), r.group): r.numerator for r in b.itertuples()
           if r.measure_id == "referrals" and r.site_id == "a"}
    assert cnt == {("01-03", "weekday"): 1, ("01-03", "weekend"): 2,
                   ("01-10", "weekday"): 2, ("01-10", "weekend"): 1}


def test_the_whole_project_is_one_query():
    from qieval.config import ProjectConfig  # noqa: F401 - compile works on the validated config
    from qieval.records import compile as query_compiler

    import yaml

    raw = yaml.safe_load(params(RECORDS_CSV))
    raw.update(raw.pop("project"))
    raw.update(raw.pop("periods"))
    config = ProjectConfig.model_validate(raw)
    sql = query_compiler.aggregate_query(config)
    assert ";" not in sql and sql.count("UNION ALL") == 1  # totals + one breakdown (imd_quintile)
    # count_distinct with where: one row per (site, period, patient) with a flag, then a count
    assert 'bool_or((ome_mg_day > 120))' in sql and '"patient_id" IS NOT NULL' in sql
    assert "MEDIAN(CAST(" in sql and "AVG(CAST(" in sql and "COALESCE(SUM(" in sql


def test_results_are_cached_until_the_records_change(tmp_path):
    import os

    from qieval.records import engine

    path = write_project(tmp_path, params(RECORDS_CSV), PRESCRIBING)
    first = _load(path)
    records = tmp_path / "data" / "prescribing.csv"
    assert any(k[0] == str(records.resolve()) for k in engine._CACHE)
    again = _load(path)
    assert again.measure_values.equals(first.measure_values)
    changed = PRESCRIBING.assign(ome_mg_day=PRESCRIBING["ome_mg_day"] * 0 + 10.0)
    changed.to_csv(records, index=False)
    os.utime(records, ns=(records.stat().st_atime_ns, records.stat().st_mtime_ns + 10**9))
    hd = values_of(_load(path), "high_dose")
    assert hd[("a", "2022-01")][0] == 0  # nobody above 120 mg now: the cache was not used
