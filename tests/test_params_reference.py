"""The params reference (docs/params.md) is generated from the schema and must not drift from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from qieval import params_reference as pr
from qieval.cli import main
from qieval.config import ProjectConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "params.md"


def test_committed_reference_matches_the_schema():
    assert DOC.is_file(), "docs/params.md is missing: run 'qieval params-reference -o docs/params.md'"
    assert DOC.read_text(encoding="utf-8") == pr.render(), (
        "docs/params.md is out of date with the params schema (src/qieval/config.py and the models "
        "it uses): regenerate it with 'qieval params-reference -o docs/params.md' and commit it")


def test_check_option_reports_drift(tmp_path, capsys):
    stale = tmp_path / "params.md"
    stale.write_text(pr.render().replace("`measures[].unit`", "`measures[].units`"), encoding="utf-8")
    assert main(["params-reference", "--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    fresh = tmp_path / "fresh.md"
    assert main(["params-reference", "--output", str(fresh)]) == 0
    assert main(["params-reference", "--check", str(fresh)]) == 0


def _rows() -> dict[str, pr.Key]:
    return {k.path: k for k in pr.reference_keys()}


def test_every_schema_field_is_listed_with_its_yaml_path():
    rows = _rows()
    # the friendly sections of the YAML (project:, periods:) are shown where the analyst writes them
    for path in ("project.id", "project.title", "periods.baseline.start", "periods.intervention.end",
                 "aim.statement", "aim.how_much", "aim.by_when", "measures[].unit", "measures[].per",
                 "data.provenance", "disclosure.high", "abstract.word_limit", "standards.framework",
                 "records.checks[].require", "measures[].from_records.denominator.list_size"):
        assert path in rows, path
    top = {k.split(".")[0].split("[")[0] for k in rows}
    expected = {("project" if n in ("id", "title", "network") else "periods" if n in
                 ("baseline", "intervention") else n)
                for n in ProjectConfig.model_fields if n not in ("params_path", "root")}
    assert top == expected
    assert "params_path" not in top and "root" not in top  # filled in by the loader, not settable


def test_required_defaults_and_types_come_from_the_fields():
    rows = _rows()
    assert rows["aim.statement"].required and rows["aim.statement"].default == "required"
    assert not rows["frequency"].required and rows["frequency"].default == "month"
    assert rows["frequency"].type == "one of: month, week"
    assert rows["measures[].per"].default == "1" and rows["measures[].per"].type == "whole number"
    assert rows["measures[].target"].type == "number" and rows["measures[].target"].default == "–"
    assert rows["aim.by_when"].type == "month (YYYY-MM)"
    assert rows["categories"].default == "[education, staffing, IT, process, other]"
    assert rows["sites"].type == "list of text"
    # examples come from the demo projects' params
    assert rows["measures[].unit"].example == "percent"
    assert rows["periods.baseline.start"].example == "2021-01"
    assert rows["abstract"].used_by == "abstract"


class _Toy(BaseModel):
    """A toy block."""

    #: Described by a comment
    #: over two lines.
    colour: Literal["red", "blue"] = "red"
    size: int = Field(3, description="Described by the field.")
    when: dt.date | None = None
    names: list[str]


def test_a_new_key_is_picked_up_with_its_description():
    out: list[pr.Key] = []
    pr._keys(_Toy, "toy", {}, out)
    got = {k.path: k for k in out}
    assert list(got) == ["toy.colour", "toy.size", "toy.when", "toy.names"]
    assert got["toy.colour"].description == "Described by a comment over two lines."
    assert got["toy.colour"].type == "one of: red, blue" and got["toy.colour"].default == "red"
    assert got["toy.size"].description == "Described by the field." and got["toy.size"].default == "3"
    assert got["toy.when"].type == "month (YYYY-MM)" and got["toy.when"].default == "–"
    assert got["toy.names"].required and got["toy.names"].type == "list of text"


def test_rendered_table_rows_are_well_formed():
    text = pr.render()
    for line in text.splitlines():
        if line.startswith("| `"):
            assert line.count(" | ") == 5, line  # six cells: '|' inside a cell is escaped
    assert "| `aim.statement` | text | **required** |" in text
