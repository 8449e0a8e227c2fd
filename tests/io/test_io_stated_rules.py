"""Data rules stated in the README's "A project" section: PDSA months, optional list
sizes, non-integer rate denominators, a misnamed workbook sheet."""

from __future__ import annotations

import pandas as pd
from io_helpers import MV, PARAMS, PDSA, SITES, Project

from qieval.io.load import load_data
from qieval.config import load_config
from io_helpers import TODAY


def _load(project: Project, params: str = PARAMS):
    return load_data(load_config(project.path(params)), today=TODAY)


def test_pdsa_start_and_end_accept_months(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06", "2022-04,2022-05")
    assert project.validate() == ([], [])
    c = _load(project).pdsa_cycles
    row = c.loc[(c["site_id"] == "hillside") & (c["cycle_id"] == "PDSA-01")].iloc[0]
    # a month starts on its first day and ends on its last
    assert row["start"] == pd.Timestamp("2022-04-01") and row["end"] == pd.Timestamp("2022-05-31")


def test_pdsa_end_month_is_future_only_when_the_whole_month_is(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06", "2025-05,2025-06")  # today is 2025-06-01
    assert project.validate() == ([], [])
    project.replace(PDSA, "2025-05,2025-06", "2025-05,2025-07")
    k = project.find_line(PDSA, "hillside,PDSA-01")
    assert project.validate()[0] == [f"{PDSA}:{k}:end: 2025-07-01 is in the future (today is 2025-06-01)"]


def test_blank_list_size_is_allowed(project: Project):
    project.set_line(SITES, 3, "riverside,Riverside Medical Centre,South Somerset West PCN,")
    assert project.validate() == ([], [])
    sites = _load(project).sites
    assert str(sites["list_size"].dtype) == "Int64"
    assert sites.set_index("site_id")["list_size"].isna().to_dict() == {
        "hillside": False, "riverside": True, "abbey_view": False, "meadowbank": False}


def test_list_size_column_may_be_left_out(project: Project):
    lines = [",".join(line.split(",")[:3]) for line in project.lines(SITES) if line]
    project.write(SITES, "\n".join(lines) + "\n")
    assert project.validate() == ([], [])
    assert _load(project).sites["list_size"].isna().all()


def test_blank_list_size_is_an_error_where_a_measure_needs_it(project: Project):
    # pccc's referral_rate takes its denominator from the list size (from_records)
    pccc_sites = "data/pccc/sites.csv"
    lines = project.lines(pccc_sites)
    k = next(i for i, line in enumerate(lines, start=1) if line.startswith("central,"))
    project.set_line(pccc_sites, k, ",".join(lines[k - 1].split(",")[:-1]) + ",")
    errors = project.validate("params/pccc.yaml")[0]
    # one problem, on the row to fix (not also an empty referral_rate series for that site)
    assert errors == [
        f"{pccc_sites}:{k}:list_size: list_size (registered patients) is blank, but measure "
        "'referral_rate' takes its denominator from it (from_records: denominator: {list_size: "
        "true}); give the site's population, or define that denominator from the records"]


def test_rate_denominator_may_be_a_non_integer_population(project: Project):
    project.replace(MV, "hillside,2021-01,medicines_per_patient,211,21,",
                    "hillside,2021-01,medicines_per_patient,211,20.75,")
    assert project.validate() == ([], [])
    v = _load(project).measure_values
    got = v.loc[(v["site_id"] == "hillside") & (v["measure_id"] == "medicines_per_patient")
                & (v["period"] == "2021-01-01"), "denominator"]
    assert got.tolist() == [20.75]


def test_percent_denominator_must_be_whole(project: Project):
    project.replace(MV, "hillside,2021-01,conversation_offered,0,21,",
                    "hillside,2021-01,conversation_offered,0,20.5,")
    k = project.find_line(MV, "hillside,2021-01,conversation_offered")
    assert project.validate()[0] == [
        f"{MV}:{k}:denominator: expected a whole number for a percent measure, got 20.5 (only a "
        "rate measure's denominator may have decimal places)"]


def test_misnamed_sheet_names_the_workbook_and_its_sheets_and_other_problems_still_come(project: Project):
    book = project.path("data/deprescribing/book.xlsx")
    with pd.ExcelWriter(book) as writer:
        for rel, sheet in ((SITES, "Sites "), (PDSA, "pdsa_cycles")):
            pd.read_csv(project.path(rel), dtype=str, keep_default_na=False).to_excel(
                writer, sheet_name=sheet, index=False)
            project.path(rel).unlink()
    project.replace(MV, "hillside,2021-01,conversation_offered,0,21,",
                    "hillside,2021-01,conversation_offered,x,21,")
    k = project.find_line(MV, "hillside,2021-01,conversation_offered")
    errors = project.validate()[0]
    assert errors == [
        "data/deprescribing/book.xlsx::: required table 'sites' is missing: expected sites.csv or "
        "sites.xlsx in data/deprescribing, or a sheet named 'sites' in a workbook; workbook "
        "data/deprescribing/book.xlsx has sheets 'Sites ', 'pdsa_cycles'; rename sheet 'Sites ' "
        "to 'sites'?",
        f"{MV}:{k}:numerator: expected a whole number such as 12 (digits only: no decimal places, "
        "thousands separators, units or text), got 'x'",
    ]
