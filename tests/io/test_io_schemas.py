"""Stage 1 of validation: the pandera schemas of :mod:`qieval.io.schemas`, on tiny text frames."""

from __future__ import annotations

import pandas as pd
import pytest

from qieval.io.schemas import MEASURE_VALUES, PDSA_CYCLES, SITES, schema_failures


def frame(rows: list[dict], start: int = 2) -> pd.DataFrame:
    f = pd.DataFrame(rows, dtype="object")
    f.index = range(start, start + len(f))
    return f


def as_tuples(failures: pd.DataFrame) -> list[tuple]:
    return [(None if pd.isna(r.row) else int(r.row), r.column, r.message)
            for r in failures.itertuples(index=False)]


def good_value(**cells) -> dict:
    return {"site_id": "a", "period": "2022-01", "measure_id": "m", "numerator": "1",
            "denominator": "2", "value": "", **cells}


def test_valid_rows_have_no_failures():
    assert schema_failures(MEASURE_VALUES, frame([good_value(), good_value(period="2022-02-28")])).empty


def test_missing_column_has_no_row():
    f = frame([good_value()]).drop(columns="period")
    assert as_tuples(schema_failures(MEASURE_VALUES, f)) == [(None, "period", "required column is missing (the header row has: site_id, measure_id, numerator, denominator, value)")]


@pytest.mark.parametrize("cell", ["1.5", "1,234", "12 pts", "x", "1e3"])
def test_whole_number_check(cell):
    got = as_tuples(schema_failures(MEASURE_VALUES, frame([good_value(numerator=cell)])))
    assert got == [(2, "numerator", "expected a whole number such as 12 (digits only: no decimal places, "
                                    f"thousands separators, units or text), got {cell!r}")]


@pytest.mark.parametrize("cell", ["7", "7.0", "+7", "-7", ""])
def test_whole_number_accepts(cell):
    assert schema_failures(MEASURE_VALUES, frame([good_value(numerator=cell)])).empty


@pytest.mark.parametrize("cell, ok", [("6.5", True), (".5", True), ("1e3", True), ("6,5", False),
                                      ("inf", False), ("nan", False), ("1e400", False)])
def test_number_check(cell, ok):
    got = schema_failures(MEASURE_VALUES, frame([good_value(value=cell)]))
    assert got.empty == ok


@pytest.mark.parametrize("cell", ["2022-13", "2022-02-30", "Jan 2022", "01/02/2022", "2022/01"])
def test_period_check(cell):
    got = as_tuples(schema_failures(MEASURE_VALUES, frame([good_value(period=cell)])))
    assert got == [(2, "period", "expected a month as YYYY-MM (e.g. 2022-01) or a date as YYYY-MM-DD, "
                                 f"got {cell!r}")]


def test_required_cells():
    got = as_tuples(schema_failures(MEASURE_VALUES, frame([good_value(site_id="")], start=7)))
    assert got == [(7, "site_id", "a value is required here (the cell is blank)")]


def test_unique_site_ids_flag_later_rows_only():
    f = frame([{"site_id": s, "site_name": "n", "network": "k", "list_size": "1"} for s in "aba"])
    assert as_tuples(schema_failures(SITES, f)) == [(4, "site_id", "duplicate site_id 'a'; each must be unique")]


def test_pdsa_dates_are_months_or_dates():
    row = {"site_id": "a", "cycle_id": "C1", "start": "2022-01", "end": "2022-02-28", "category": "IT",
           "change_idea": "x"}
    assert schema_failures(PDSA_CYCLES, frame([row])).empty  # YYYY-MM like a period
    row |= {"start": "2022-13", "end": "01/02/2022"}
    message = "expected a month as YYYY-MM (e.g. 2022-01) or a date as YYYY-MM-DD"
    assert as_tuples(schema_failures(PDSA_CYCLES, frame([row]))) == [
        (2, "start", f"{message}, got '2022-13'"), (2, "end", f"{message}, got '01/02/2022'")]
