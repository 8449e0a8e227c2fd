"""Validation of a whole project, in-process, on corrupted copies of the demo.

Every rule of the contract has a test here. Expected rows are computed independently of the code
under test: a test edits line k of a CSV and expects row k (header = row 1).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from io_helpers import LINE, MV, PARAMS, PDSA, SITES, TODAY, Project

from qieval.errors import InputError
from qieval.io.load import ProjectData, load_project, load_data, validate_project
from qieval.config import load_config


def only(lines: list[str]) -> str:
    assert len(lines) == 1, lines
    return lines[0]


def row_of(project: Project, prefix: str, rel: str = MV) -> int:
    return project.find_line(rel, prefix)


# --- a valid project ------------------------------------------------------------------------------


def test_demo_is_valid(project: Project):
    assert project.validate() == ([], [])


def test_load_returns_typed_tables(project: Project):
    data = load_project(project.path(PARAMS))
    assert isinstance(data, ProjectData)
    assert data.sites["list_size"].dtype == "int64"
    assert str(data.measure_values["period"].dtype).startswith("datetime64")
    assert data.measure_values["numerator"].dtype == "float64"
    assert set(data.files) == {"sites", "measure_values", "pdsa_cycles"}
    # the row column points back at the spreadsheet row of each value
    first = data.measure_values.sort_values("row").iloc[0]
    line2 = project.lines(MV)[1].split(",")
    assert (first["row"], first["site_id"], first["measure_id"]) == (2, line2[0], line2[2])


def test_load_project_data_raises_input_error(project: Project):
    project.set_line(MV, 3, "hillside,2021-01,conversation_offered,45,30,")
    with pytest.raises(InputError) as info:
        load_data(load_config(project.path(PARAMS)), today=TODAY)
    assert [str(p) for p in info.value.problems] == [f"{MV}:3:numerator: 45 exceeds the denominator 30"]


# --- rules ----------------------------------------------------------------------------------------


def test_numerator_exceeds_denominator(project: Project):
    k = row_of(project, "hillside,2021-02,conversation_offered")
    project.set_line(MV, k, "hillside,2021-02,conversation_offered,45,30,")
    assert project.validate() == ([f"{MV}:{k}:numerator: 45 exceeds the denominator 30"], [])


def test_numerator_may_exceed_denominator_for_rates(project: Project):
    k = row_of(project, "hillside,2021-02,medicines_per_patient")
    project.set_line(MV, k, "hillside,2021-02,medicines_per_patient,450,30,")
    assert project.validate() == ([], [])


@pytest.mark.parametrize("cell, column, message", [
    ("-4", "numerator", "expected a count of 0 or more, got -4"),
    ("3.5", "numerator", "expected a whole number such as 12 (digits only: no decimal places, "
                         "thousands separators, units or text), got '3.5'"),
    ("abc", "numerator", "expected a whole number such as 12 (digits only: no decimal places, "
                         "thousands separators, units or text), got 'abc'"),
    ("1,234", "numerator", "expected a whole number such as 12 (digits only: no decimal places, "
                           "thousands separators, units or text), got '1,234'"),
])
def test_bad_counts(project: Project, cell: str, column: str, message: str):
    k = row_of(project, "riverside,2022-07,register_prevalence")
    den = project.lines(MV)[k - 1].split(",")[4]
    project.set_line(MV, k, f'riverside,2022-07,register_prevalence,"{cell}",{den},')
    assert only(project.validate()[0]) == f"{MV}:{k}:{column}: {message}"


def test_negative_denominator(project: Project):
    k = row_of(project, "abbey_view,2021-03,register_prevalence")
    project.set_line(MV, k, "abbey_view,2021-03,register_prevalence,5,-9,")
    assert project.validate()[0] == [f"{MV}:{k}:denominator: expected a count of 0 or more, got -9"]


def test_non_numeric_continuous_value(project: Project):
    k = row_of(project, "meadowbank,2022-01,clinician_minutes")
    project.set_line(MV, k, "meadowbank,2022-01,clinician_minutes,,,6.1 mins")
    assert only(project.validate()[0]) == (
        f"{MV}:{k}:value: expected a number such as 6.5 (digits and a decimal point only: no "
        "thousands separators, units or text), got '6.1 mins'")


def test_zero_denominator(project: Project):
    k = row_of(project, "hillside,2021-01,conversation_offered")
    project.set_line(MV, k, "hillside,2021-01,conversation_offered,0,0,")
    assert only(project.validate()[0]) == (
        f"{MV}:{k}:denominator: denominator is 0, so the rate is undefined (leave the row out if "
        "nothing was measured)")


def test_blank_value_required_for_unit(project: Project):
    k = row_of(project, "hillside,2021-01,conversation_offered")
    project.set_line(MV, k, "hillside,2021-01,conversation_offered,0,,")
    assert only(project.validate()[0]) == (
        f"{MV}:{k}:denominator: a value is required here for a percent measure")


def test_unknown_site_in_measure_values(project: Project):
    k = row_of(project, "riverside,2021-06,conversation_offered")
    line = project.lines(MV)[k - 1].replace("riverside", "rivreside", 1)
    project.set_line(MV, k, line)
    errors = project.validate()[0]
    assert only(errors).startswith(f"{MV}:{k}:site_id: unknown site 'rivreside' (not in sites.csv: ")


def test_unknown_measure(project: Project):
    k = row_of(project, "riverside,2021-06,conversation_offered")
    line = project.lines(MV)[k - 1].replace("conversation_offered", "conversations", 1)
    project.set_line(MV, k, line)
    assert only(project.validate()[0]).startswith(
        f"{MV}:{k}:measure_id: unknown measure 'conversations' (not in the params measures: ")


def test_unknown_site_in_sites_csv_and_params_site_missing(project: Project):
    project.replace(SITES, "meadowbank,", "meadowbrook,")
    errors = project.validate()[0]
    k = row_of(project, "meadowbrook", SITES)
    assert f"{SITES}:{k}:site_id: unknown site 'meadowbrook' (not in the params site list: " \
           "hillside, riverside, abbey_view, meadowbank)" in errors
    sites_line = project.find_line(PARAMS, "sites:")
    assert f"{PARAMS}:{sites_line}:sites: site 'meadowbank' is listed in the params but not in {SITES}" \
        in errors
    first_mb = row_of(project, "meadowbank,")
    assert any(e.startswith(f"{MV}:{first_mb}:site_id: unknown site 'meadowbank'") for e in errors)


def test_duplicate_rows(project: Project):
    k = row_of(project, "abbey_view,2022-02,register_prevalence")
    line = project.lines(MV)[k - 1]
    n = len(project.lines(MV)) - 1  # the file ends with a newline: the new row is line n + 1
    project.write(MV, project.read(MV) + line + "\n")
    assert project.validate()[0] == [
        f"{MV}:{n + 1}:period: duplicate row for this site, measure and period (site_id abbey_view, "
        f"measure_id register_prevalence, period 2022-02-01); first given on row {k}"]


def test_duplicate_site_ids(project: Project):
    project.write(SITES, project.read(SITES) + "hillside,Hillside Again,PCN,100\n")
    errors = project.validate()[0]
    assert errors == [f"{SITES}:6:site_id: duplicate site_id 'hillside'; each must be unique"]


def test_duplicate_cycle_ids(project: Project):
    project.replace(PDSA, "PDSA-02", "PDSA-01")
    k = row_of(project, "riverside,PDSA-01", PDSA)
    assert project.validate()[0] == [f"{PDSA}:{k}:cycle_id: duplicate cycle_id 'PDSA-01'; each must be unique"]


@pytest.mark.parametrize("cell", ["2021-13", "01/02/2021", "Jan 2021", "2021-1", "2021-02-30", "21-01"])
def test_unparseable_periods(project: Project, cell: str):
    k = row_of(project, "hillside,2021-01,conversation_offered")
    project.set_line(MV, k, f"hillside,{cell},conversation_offered,0,21,")
    assert project.validate()[0] == [
        f"{MV}:{k}:period: expected a month as YYYY-MM (e.g. 2022-01) or a date as YYYY-MM-DD, "
        f"got '{cell}'"]


def test_period_as_a_full_date_is_accepted(project: Project):
    k = row_of(project, "hillside,2021-01,conversation_offered")
    project.set_line(MV, k, project.lines(MV)[k - 1].replace("2021-01", "2021-01-31"))
    assert project.validate() == ([], [])


def test_future_period(project: Project):
    # the last month of a series moved into the future: an error, and no "gap" error as well
    k = row_of(project, "meadowbank,2023-03,conversation_offered")
    project.set_line(MV, k, project.lines(MV)[k - 1].replace("2023-03", "2030-03"))
    assert project.validate(today=dt.date(2025, 6, 1))[0] == [
        f"{MV}:{k}:period: 2030-03-01 is in the future (today is 2025-06-01)"]


def test_future_pdsa_start(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06", "2031-04-04,2031-05-06")
    k = row_of(project, "hillside,PDSA-01", PDSA)
    assert project.validate()[0] == [f"{PDSA}:{k}:end: 2031-05-06 is in the future (today is 2025-06-01)",
                                     f"{PDSA}:{k}:start: 2031-04-04 is in the future (today is 2025-06-01)"]


def test_future_pdsa_end(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06", "2022-04-04,2031-05-06")
    k = row_of(project, "hillside,PDSA-01", PDSA)
    assert project.validate()[0] == [f"{PDSA}:{k}:end: 2031-05-06 is in the future (today is 2025-06-01)"]


def test_pdsa_without_an_end_is_ongoing(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06", "2022-04-04,")
    assert project.validate() == ([], [])


def test_pdsa_bad_date(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06", "04/04/2022,2022-05-06")
    k = row_of(project, "hillside,PDSA-01", PDSA)
    assert project.validate()[0] == [
        f"{PDSA}:{k}:start: expected a month as YYYY-MM (e.g. 2022-01) or a date as YYYY-MM-DD, "
        "got '04/04/2022'"]


def test_pdsa_ends_before_start(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06", "2022-04-04,2022-03-06")
    k = row_of(project, "hillside,PDSA-01", PDSA)
    assert project.validate()[0] == [f"{PDSA}:{k}:end: cycle ends 2022-03-06 before it starts 2022-04-04"]


def test_pdsa_unknown_category(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06,education", "2022-04-04,2022-05-06,teaching")
    k = row_of(project, "hillside,PDSA-01", PDSA)
    assert project.validate()[0] == [
        f"{PDSA}:{k}:category: unknown category 'teaching' (not in the params categories: "
        "education, staffing, IT, process, other)"]


def test_pdsa_unknown_site(project: Project):
    project.replace(PDSA, "hillside,PDSA-01", "hilside,PDSA-01")
    k = row_of(project, "hilside,PDSA-01", PDSA)
    assert only(project.validate()[0]).startswith(f"{PDSA}:{k}:site_id: unknown site 'hilside'")


@pytest.mark.parametrize("cell, message", [
    ("0", "list size must be a positive whole number, got 0"),
    ("-5", "list size must be a positive whole number, got -5"),
    ("3.5", "expected a whole number such as 12 (digits only: no decimal places, thousands "
            "separators, units or text), got '3.5'"),
    ('"11,842"', "expected a whole number such as 12 (digits only: no decimal places, thousands "
                 "separators, units or text), got '11,842'"),
])
def test_list_size_not_positive_integer(project: Project, cell: str, message: str):
    project.set_line(SITES, 3, f"riverside,Riverside Medical Centre,South Somerset West PCN,{cell}")
    assert project.validate()[0] == [f"{SITES}:3:list_size: {message}"]


def test_swapped_numerator_and_denominator_headers(project: Project):
    project.replace(MV, "numerator,denominator", "denominator,numerator")
    rows = [line.split(",") for line in project.lines(MV)[1:] if line]
    percent = [r for r in rows if r[2] in ("conversation_offered", "register_prevalence")]
    errors = project.validate()[0]
    assert errors[0] == (
        f"{MV}:1:numerator: the numerator exceeds the denominator of a percent measure on "
        f"{len(percent)} of {len(percent)} rows: are the 'numerator' and 'denominator' headers swapped?")
    k = project.find_line(MV, "hillside,2021-01,register_prevalence")
    num, den = project.lines(MV)[k - 1].split(",")[4], project.lines(MV)[k - 1].split(",")[3]
    assert f"{MV}:{k}:numerator: {num} exceeds the denominator {den}" in errors


def test_swapped_period_and_site_headers(project: Project):
    project.replace(MV, "site_id,period", "period,site_id")
    errors = project.validate()[0]
    n = len([line for line in project.lines(MV) if line]) - 1
    assert errors[0] == (f"{MV}:1:period: the period column holds site ids and site_id holds dates on "
                         f"{n} of {n} rows: are the 'period' and 'site_id' headers swapped?")
    assert errors[1] == (f"{MV}:2:period: expected a month as YYYY-MM (e.g. 2022-01) or a date as "
                         "YYYY-MM-DD, got 'hillside'")
    assert len(errors) == n + 1


# --- gaps -------------------------------------------------------------------------------------------


def _drop_line(project: Project, prefix: str) -> int:
    """Delete the line starting with prefix; return the row the next line then has."""
    lines = project.lines(MV)
    k = row_of(project, prefix)
    del lines[k - 1]
    project.write(MV, "\n".join(lines))
    return k


def test_gap_is_an_error_by_default(project: Project):
    _drop_line(project, "hillside,2021-05,conversation_offered")
    k = row_of(project, "hillside,2021-06,conversation_offered")
    assert project.validate() == ([
        f"{MV}:{k}:period: gap in the conversation_offered series of site hillside: 1 month(s) "
        "missing (2021-05) before this row (add the missing rows, or set allow_gaps: true in "
        "the params to chart the break)"], [])


def test_gap_is_a_warning_when_allowed(project: Project):
    project.replace(PARAMS, "allow_gaps: false", "allow_gaps: true")
    _drop_line(project, "hillside,2021-05,conversation_offered")
    _drop_line(project, "hillside,2021-06,conversation_offered")
    k = row_of(project, "hillside,2021-07,conversation_offered")
    errors, warnings = project.validate()
    assert errors == []
    assert warnings == [
        f"{MV}:{k}:period: warning: gap in the conversation_offered series of site hillside: "
        "2 month(s) missing (2021-05 to 2021-06) before this row (allowed by allow_gaps: true; charts show "
        "the break)"]
    data = load_project(project.path(PARAMS))
    assert [str(w) for w in data.warnings] == warnings


def test_bad_cell_does_not_also_open_a_gap(project: Project):
    k = row_of(project, "hillside,2021-05,conversation_offered")
    line = project.lines(MV)[k - 1].split(",")
    project.set_line(MV, k, ",".join(line[:3] + ["2.5"] + line[4:]))
    errors = project.validate()[0]
    assert len(errors) == 1 and f"{MV}:{k}:numerator:" in errors[0]


# --- files and tables -------------------------------------------------------------------------------


def test_missing_required_column(project: Project):
    project.replace(MV, "numerator,denominator", "numerator,denom")
    assert project.validate()[0] == [f"{MV}:1:denominator: required column is missing (the header row has: site_id, period, measure_id, numerator, denom, value)"]


def test_missing_required_file(project: Project):
    project.path(SITES).unlink()
    assert project.validate()[0] == [
        f"{SITES}::: required file is missing (expected sites.csv or sites.xlsx in data/deprescribing)"]


def test_empty_table(project: Project):
    project.write(PDSA, project.lines(PDSA)[0] + "\n")
    assert project.validate()[0] == [f"{PDSA}::: the table has a header row but no data rows: add a "
                                     "row for each PDSA cycle (site_id ALL for a network-wide one)"]


def test_empty_file(project: Project):
    project.write(SITES, b"")
    assert project.validate()[0] == [
        f"{SITES}::: the file is empty (0 bytes); expected a header row and data rows"]


def test_several_problems_are_all_reported_in_file_and_row_order(project: Project):
    later = row_of(project, "hillside,2021-03,register_prevalence")
    earlier = row_of(project, "hillside,2021-01,conversation_offered")
    project.set_line(MV, later, "hillside,2021-03,register_prevalence,-1,11842,")
    project.set_line(MV, earlier, "hillside,2021-01,conversation_offered,45,21,")
    project.set_line(SITES, 2, "hillside,Hillside Surgery,South Somerset West PCN,0")
    errors = project.validate()[0]
    assert earlier < later
    assert [e.split(": ")[0] for e in errors] == [
        f"{MV}:{earlier}:numerator", f"{MV}:{later}:numerator", f"{SITES}:2:list_size"]
    assert all(LINE.match(e) for e in errors)


# --- untidy but valid -----------------------------------------------------------------------------


def test_bom_crlf_and_spaces_are_tolerated(project: Project):
    for rel in (MV, SITES, PDSA):
        text = project.read(rel)
        if rel == MV:
            text = text.replace(",", " , ")
        project.write(rel, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert project.validate() == ([], [])
    data = load_project(project.path(PARAMS))
    assert set(data.measure_values["site_id"]) == {"hillside", "riverside", "abbey_view", "meadowbank"}
    assert set(data.measure_values["measure_id"]) == {
        "conversation_offered", "register_prevalence", "medicines_per_patient", "clinician_minutes"}


def test_row_numbers_survive_bom_crlf_and_blank_lines(project: Project):
    lines = project.lines(MV)
    k = row_of(project, "riverside,2021-03,conversation_offered")
    lines[k - 1] = "riverside,2021-03,conversation_offered,99,10,"
    lines.insert(4, "")  # a blank line is a (blank) spreadsheet row: later rows move down by one
    project.write(MV, b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    assert project.validate()[0] == [f"{MV}:{k + 1}:numerator: 99 exceeds the denominator 10"]


def test_quoted_line_breaks_are_one_spreadsheet_row(project: Project):
    # a PDSA 'plan' cell over three lines is one spreadsheet row: the rows below keep their numbers
    project.replace(PDSA, "Run a lunchtime session; predict",
                    '"Run a lunchtime session;\nthen\npredict')
    project.replace(PDSA, "month after,", 'month after",')
    project.replace(PDSA, "2022-05-03,2022-06-03,education", "2022-05-03,2022-06-03,teaching")
    assert project.validate()[0] == [
        f"{PDSA}:3:category: unknown category 'teaching' (not in the params categories: "
        "education, staffing, IT, process, other)"]
    assert project.lines(PDSA)[2].startswith("then")  # line 3 is not row 3


def test_xlsx_tables_are_accepted(project: Project):
    n_values = len([line for line in project.lines(MV) if line]) - 1
    for rel in (MV, SITES):
        frame = pd.read_csv(project.path(rel), dtype=str, keep_default_na=False)
        for col in ("numerator", "denominator", "value", "list_size"):
            if col in frame:
                frame[col] = pd.to_numeric(frame[col].replace("", None))
        # measure_values as pandas writes it by default: with an unnamed index column A
        frame.to_excel(project.path(rel).with_suffix(".xlsx"), index=(rel == MV))
        project.path(rel).unlink()
    assert project.validate() == ([], [])
    data = load_project(project.path(PARAMS))
    assert len(data.measure_values) == n_values
    assert data.files["measure_values"].suffix == ".xlsx"


def test_xlsx_problems_use_excel_row_numbers(project: Project):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for line in project.lines(SITES):
        if line:
            cells = line.split(",")
            ws.append([int(c) if c.isdigit() else c for c in cells])
    ws.insert_rows(3)  # a blank row 3: riverside moves to row 4
    ws["D4"] = 3.5
    wb.save(project.path(SITES).with_suffix(".xlsx"))
    project.path(SITES).unlink()
    assert project.validate()[0] == [
        "data/deprescribing/sites.xlsx:4:list_size: expected a whole number such as 12 (digits only: "
        "no decimal places, thousands separators, units or text), got '3.5'"]


def test_tables_as_sheets_of_one_workbook(project: Project):
    with pd.ExcelWriter(project.path("data/deprescribing/book.xlsx")) as writer:
        for rel, sheet in ((SITES, "sites"), (PDSA, "pdsa_cycles")):
            pd.read_csv(project.path(rel), dtype=str, keep_default_na=False).to_excel(
                writer, sheet_name=sheet, index=False)
            project.path(rel).unlink()
    assert project.validate() == ([], [])
    project_data = load_project(project.path(PARAMS))
    assert project_data.files["sites"].name == "book.xlsx"


def test_validate_project_reports_params_problems(project: Project):
    project.replace(PARAMS, "allow_gaps: false", "allow_gaps: maybe")
    errors, warnings = validate_project(project.path(PARAMS))
    assert [str(e) for e in errors] == [f"{PARAMS}:18:allow_gaps: expected true or false, got 'maybe'"]
