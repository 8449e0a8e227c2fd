"""Bad definitions and bad records are reported as FILE:ROW:COLUMN lines, all at once."""

from __future__ import annotations

import pytest
from records_helpers import MEASURES, PRESCRIBING, RECORDS_CSV, TODAY, params, write_project

from qieval.cli import main
from qieval.config import load_config
from qieval.errors import InputError
from qieval.io.load import load_data


def _problems(path) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_data(load_config(path), today=TODAY)
    return [str(p) for p in exc.value.problems]


def test_bad_where_names_the_measure_and_its_params_line(tmp_path):
    text = params(RECORDS_CSV, MEASURES.replace('"ome_mg_day > 120"', '"ome_mg_dya > 120"'))
    path = write_project(tmp_path, text, PRESCRIBING)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "ome_mg_dya" in t)
    problems = _problems(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"params/tiny.yaml:{line}:measures.0.from_records.numerator.where: "
                                  "measure 'high_dose'") or \
        f"tiny.yaml:{line}:measures.0.from_records.numerator.where: measure 'high_dose'" in problems[0]
    assert "ome_mg_dya" in problems[0]


def test_bad_breakdown_and_derive_are_reported(tmp_path):
    text = params(RECORDS_CSV, MEASURES.replace("breakdown: imd_quintile", "breakdown: imd_quintle"))
    problems = _problems(write_project(tmp_path, text, PRESCRIBING))
    assert any("measures.0.breakdown: measure 'high_dose': breakdown" in p for p in problems)


def test_definition_must_match_the_unit(tmp_path):
    text = params(RECORDS_CSV, MEASURES.replace("      value: {mean: ome_mg_day}",
                                                "      numerator: {mean: ome_mg_day}"))
    problems = _problems(write_project(tmp_path, text, PRESCRIBING))
    assert any("measures.3: from_records of a continuous measure takes value; missing value; "
               "not numerator" in p for p in problems)


def _bad_records():
    bad = PRESCRIBING.copy().astype({"ome_mg_day": "object"})
    bad.loc[2, "practice"] = "zz"        # spreadsheet row 4
    bad.loc[3, "month"] = "Jan 22"       # row 5
    bad.loc[4, "ome_mg_day"] = -5.0      # row 6
    bad.loc[6, "patient_id"] = None      # row 8
    return bad


def test_bad_csv_records_as_file_row_column(tmp_path):
    problems = _problems(write_project(tmp_path, params(RECORDS_CSV), _bad_records()))
    text = "\n".join(problems)
    assert "data/prescribing.csv:4:practice: unknown site 'zz' (not in sites.csv: a, b)" in text
    assert "data/prescribing.csv:5:month: 'Jan 22' is not a date" in text
    assert "data/prescribing.csv:6:ome_mg_day: daily OME must not be negative (found '-5.0')" in text
    assert "data/prescribing.csv:8:patient_id: patient id is blank" in text
    assert len(problems) == 4


def test_bad_parquet_records_row_is_index_plus_two(tmp_path):
    bad = _bad_records().astype({"ome_mg_day": "float64"})
    path = write_project(tmp_path, params(RECORDS_CSV.replace(".csv", ".parquet")), bad, "prescribing.parquet")
    text = "\n".join(_problems(path))
    assert "data/prescribing.parquet:4:practice: unknown site 'zz'" in text
    assert "data/prescribing.parquet:6:ome_mg_day: daily OME must not be negative" in text


def test_many_bad_rows_are_summarised(tmp_path):
    import pandas as pd

    bad = pd.concat([PRESCRIBING] * 3, ignore_index=True).assign(practice="zz")
    problems = _problems(write_project(tmp_path, params(RECORDS_CSV), bad))
    unknown = [p for p in problems if "unknown site" in p]
    assert len(unknown) == 6  # five rows, then "25 more row(s) like the above"
    assert sum("25 more row(s) like the above" in p for p in unknown) == 1


def test_missing_file_and_missing_column(tmp_path):
    path = write_project(tmp_path, params(RECORDS_CSV), None)
    assert any("records file not found" in p for p in _problems(path))
    path = write_project(tmp_path, params(RECORDS_CSV), PRESCRIBING.drop(columns=["practice"]))
    assert any(":1:practice: column 'practice' (records.columns.site) is not in the records" in p
               for p in _problems(path))


def test_from_records_without_records_section(tmp_path):
    path = write_project(tmp_path, params(""), PRESCRIBING)
    problems = _problems(path)
    assert any("measure 'high_dose' is defined from records but the params have no 'records'" in p
               for p in problems)


def test_records_section_schema(tmp_path):
    text = params(RECORDS_CSV.replace("  file: prescribing.csv\n", ""))
    with pytest.raises(InputError) as exc:
        load_config(write_project(tmp_path, text, PRESCRIBING))
    assert "give either 'file' or 'sql'" in str(exc.value)


def test_cli_validate_exit_2(tmp_path, capsys, monkeypatch):
    path = write_project(tmp_path, params(RECORDS_CSV), _bad_records())
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "params/tiny.yaml"]) == 2
    assert "data/prescribing.csv:4:practice: unknown site 'zz'" in capsys.readouterr().err


def test_a_typo_in_a_numeric_csv_column_names_the_cell(tmp_path):
    bad = PRESCRIBING.astype({"ome_mg_day": "object"})
    bad.loc[3, "ome_mg_day"] = "12O"  # letter O for zero, spreadsheet row 5
    problems = _problems(write_project(tmp_path, params(RECORDS_CSV), bad))
    assert len(problems) == 1 and problems[0].endswith("data/prescribing.csv:5:ome_mg_day: '12O' is not a number")
