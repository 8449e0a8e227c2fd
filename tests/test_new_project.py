"""``qieval new``: a project that validates once its tables are filled; never overwrites; safe ids."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from qieval.cli import main
from qieval.config import load_config
from qieval.errors import InputError
from qieval.io.schemas import SCHEMAS
from qieval.new_project import PLACEHOLDER_SITES, TABLE_COLUMNS, new_project


def _header(path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def test_new_writes_commented_params_and_headed_tables(tmp_path, capsys):
    assert main(["new", "clinic_flow", "--root", str(tmp_path)]) == 0
    assert "qieval validate" in capsys.readouterr().out
    params = tmp_path / "params" / "clinic_flow.yaml"
    text = params.read_text(encoding="utf-8")
    config = load_config(params)  # valid as written: placeholders, not blanks
    assert config.id == "clinic_flow" and config.sites == PLACEHOLDER_SITES
    assert config.data_dir == tmp_path / "data" / "clinic_flow"
    # every required key is set and commented; optional ones are there, commented out
    assert "  statement: >-  # The aim in one or two sentences" in text
    assert "\n# frequency: month  # " in text and "\n    # target: 80  # " in text
    assert "\n# disclosure: " in text and "\n# records: " in text
    for name, columns in TABLE_COLUMNS.items():
        path = tmp_path / "data" / "clinic_flow" / f"{name}.csv"
        assert _header(path) == columns
        assert path.read_text(encoding="utf-8").count("\n") == 1  # the header row only
        # the header row has every column the schema knows, required or optional
        assert set(columns) == set(SCHEMAS[name].columns)


def test_validate_on_the_empty_project_says_what_is_missing(tmp_path, capsys):
    new_project("empty", tmp_path)
    code = main(["validate", str(tmp_path / "params" / "empty.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "no data rows" in line]
    assert sorted(line.split(":")[0].rsplit("/", 1)[-1] for line in lines) == [
        "measure_values.csv", "pdsa_cycles.csv", "sites.csv"]
    assert any("add a row for each site" in line for line in lines)


def _fill(tmp_path, project: str) -> None:
    config = load_config(tmp_path / "params" / f"{project}.yaml")
    d = config.data_dir
    with (d / "sites.csv").open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["site_a", "Site A", "Network", "9000"])
        w.writerow(["site_b", "Site B", "Network", ""])  # a blank list size is allowed
    months = pd.period_range(config.baseline.start, config.intervention.end, freq="M")
    with (d / "measure_values.csv").open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        for site in ("site_a", "site_b"):
            for i, m in enumerate(months):
                w.writerow([site, str(m), "measure_1", 10 + i % 7, 40, ""])
    with (d / "pdsa_cycles.csv").open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["ALL", "C1", str(months[12]), "", "education", "Teaching session", "Plan it",
                    "Did it", "", ""])


def test_new_project_validates_once_its_tables_are_filled(tmp_path, capsys):
    assert main(["new", "filled", "--root", str(tmp_path)]) == 0
    _fill(tmp_path, "filled")
    code = main(["validate", str(tmp_path / "params" / "filled.yaml")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "valid" in captured.out


def test_new_never_overwrites(tmp_path, capsys):
    new_project("p1", tmp_path)
    params = tmp_path / "params" / "p1.yaml"
    params.write_text("# my edits\n", encoding="utf-8")
    assert main(["new", "p1", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "p1.yaml" in err and "sites.csv" in err
    assert params.read_text(encoding="utf-8") == "# my edits\n"
    # one existing table is enough to refuse, and then nothing at all is written
    (tmp_path / "data" / "p2").mkdir(parents=True)
    (tmp_path / "data" / "p2" / "sites.csv").write_text("mine\n", encoding="utf-8")
    with pytest.raises(InputError, match="already exists"):
        new_project("p2", tmp_path)
    assert not (tmp_path / "params" / "p2.yaml").exists()
    assert sorted(p.name for p in (tmp_path / "data" / "p2").iterdir()) == ["sites.csv"]
    assert (tmp_path / "data" / "p2" / "sites.csv").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize("bad", ["../evil", "a/b", "..", "", ".hidden", "-x", "a" * 65, "x y",
                                 "a.b", "a\\b", "nul\0"])
def test_new_refuses_unsafe_ids(tmp_path, bad, capsys):
    assert main(["new", "--root", str(tmp_path / "root"), "--", bad]) == 2
    err = capsys.readouterr().err
    assert "unsafe project id" in err and "Traceback" not in err
    assert not (tmp_path / "root").exists()
    assert list(tmp_path.iterdir()) == []


def test_new_is_all_or_nothing_when_a_folder_cannot_be_made(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p3").write_text("a file where the data folder should go\n", encoding="utf-8")
    assert main(["new", "p3", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err
    assert not (tmp_path / "params" / "p3.yaml").exists()  # the params file written first is removed
    assert (tmp_path / "data" / "p3").read_text(encoding="utf-8").startswith("a file")
