"""standards_assessments and the framework are validated like every input: every problem as a
``FILE:ROW:COLUMN: message`` line (rows as a spreadsheet numbers them, header = row 1)."""

from __future__ import annotations

import datetime as dt

import pytest

from qieval.accreditation import validate_assessments
from qieval.io.assessments import load_assessments
from qieval.config import display_path, load_config
from qieval.errors import InputError

HEADER = "site_id,standard_id,round,assessed_on,level,evidence,assessor"


def _write(root, lines: list[str]) -> str:
    path = root / "data" / "deprescribing" / "standards_assessments.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return display_path(path)


def _problems(root, today=dt.date(2026, 1, 1)) -> list[str]:
    config = load_config(root / "params" / "deprescribing.yaml")
    return [str(p) for p in validate_assessments(config, today=today)]


def test_the_demo_assessments_are_valid(demo_root):
    assert _problems(demo_root) == []
    config = load_config(demo_root / "params" / "deprescribing.yaml")
    frame, _ = load_assessments(config)
    assert len(frame) == 4 * 8 * 3  # practices × standards × rounds


def test_each_problem_is_a_file_row_column_line(demo_root):
    label = _write(demo_root, [
        "hillside,S1,baseline,2021-04-10,1,ev,A",            # row 2: fine
        "hillside,S9,baseline,2021-04-10,1,ev,A",            # row 3: unknown standard
        "hillside,S2,baseline,2021-04-10,4,ev,A",            # row 4: level out of range
        "hillside,S1,follow-up 1,2021-03-01,2,ev,A",         # row 5: follow-up before baseline
        "westside,S1,baseline,2021-04-10,1,ev,A",            # row 6: unknown site
        "riverside,S1,follow-up 1,2022-10-01,2,ev,A",        # row 7: follow-up without baseline
        "hillside,S1,baseline,2021-04-11,1,ev,A",            # row 8: duplicate of row 2
        "hillside,S3,Follow up 2,2023-04-10,2,ev,A",         # row 9: round not recognised
        "hillside,S4,baseline,2021-04-10,two,ev,A",          # row 10: level not a number
        "hillside,S5,baseline,2021-02-30,1,ev,",             # row 11: no such date; no assessor
    ])
    problems = _problems(demo_root)
    expected = [
        f"{label}:3:standard_id: unknown standard 'S9' (not in framework palliative_care: "
        "S1, S2, S3, S4, S5, S6, S7, S8)",
        f"{label}:4:level: level out of range: expected 0 to 3 (0 not in place; 1 developing; "
        "2 established; 3 embedded), got 4",
        f"{label}:5:assessed_on: follow-up 1 assessed on 2021-03-01, not after this site's baseline "
        "assessment on 2021-04-11 (row 8); rounds must be in date order",
        f"{label}:6:site_id: unknown site 'westside' (not in the params site list: hillside, "
        "riverside, abbey_view, meadowbank)",
        f"{label}:7:round: follow-up 1 of site 'riverside' has no baseline assessment (add the "
        "site's baseline rows)",
        f"{label}:8:round: duplicate assessment of this standard in this round (site_id hillside, "
        "standard_id S1, round baseline); first given on row 2",
    ]
    for line in expected:
        assert line in problems
    assert any(p.startswith(f"{label}:9:round: expected a round as 'baseline' or 'follow-up N'") for p in problems)
    assert any(p.startswith(f"{label}:10:level: expected a whole number") for p in problems)
    assert any(p.startswith(f"{label}:11:assessed_on: expected a date as YYYY-MM-DD") for p in problems)
    assert any(p.startswith(f"{label}:11:assessor: a value is required here") for p in problems)
    assert not any(f"{label}:2:" in p for p in problems)


def test_a_follow_up_on_the_baseline_day_is_not_after_it(demo_root):
    label = _write(demo_root, ["hillside,S1,baseline,2021-04-10,1,ev,A",
                               "hillside,S1,follow-up 1,2021-04-10,2,ev,A"])
    assert _problems(demo_root) == [
        f"{label}:3:assessed_on: follow-up 1 assessed on 2021-04-10, not after this site's baseline "
        "assessment on 2021-04-10 (row 2); rounds must be in date order"]


def test_a_missing_column_is_reported_on_the_header_row(demo_root):
    path = demo_root / "data" / "deprescribing" / "standards_assessments.csv"
    path.write_text("site_id,standard_id,round,assessed_on,evidence,assessor\n"
                    "hillside,S1,baseline,2021-04-10,ev,A\n", encoding="utf-8")
    (problem,) = _problems(demo_root)
    assert problem.startswith(f"{display_path(path)}:1:level: required column is missing")


def test_assessments_in_the_future(demo_root):
    label = _write(demo_root, ["hillside,S1,baseline,2021-04-10,1,ev,A"])
    assert _problems(demo_root, today=dt.date(2021, 4, 1)) == [
        f"{label}:2:assessed_on: 2021-04-10 is in the future (today is 2021-04-01)"]


def test_load_assessments_raises_with_every_problem(demo_root):
    _write(demo_root, ["hillside,S9,baseline,2021-04-10,1,ev,A", "hillside,S1,baseline,2021-04-10,9,ev,A"])
    config = load_config(demo_root / "params" / "deprescribing.yaml")
    with pytest.raises(InputError) as err:
        load_assessments(config)
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "standard_id"), (3, "level")]


def test_a_missing_table_is_one_problem(demo_root):
    (demo_root / "data" / "deprescribing" / "standards_assessments.csv").unlink()
    (problem,) = _problems(demo_root)
    assert "standards_assessments.csv::: required file is missing" in problem


def test_a_project_without_standards_has_nothing_to_check(demo_root):
    params = demo_root / "params" / "deprescribing.yaml"
    params.write_text("\n".join(line for line in params.read_text().splitlines()
                                if not line.startswith("standards:")) + "\n")
    assert _problems(demo_root) == []


def test_framework_problems_carry_the_yaml_line(demo_root):
    path = demo_root / "params" / "standards" / "palliative_care.yaml"
    text = path.read_text()
    text = text.replace("  min_level: 2\n", "  min_level: 5\n", 1)
    text = text.replace("      id: conversation_offered\n", "      id: conversations\n", 1)
    path.write_text(text)
    problems = _problems(demo_root)
    line = text.splitlines().index("accreditation:") + 1
    assert problems == [f"{display_path(path)}:{line}:accreditation: min_level 5 is not one of the "
                        "levels [0, 1, 2, 3]"]
    text = text.replace("  min_level: 5\n", "  min_level: 2\n", 1)
    path.write_text(text)
    line = text.splitlines().index("      id: conversations") + 1
    assert _problems(demo_root) == [
        f"{display_path(path)}:{line}:standards.3.measure.id: standard S4 links measure 'conversations', "
        "which is not a measure of project deprescribing (conversation_offered, register_prevalence, "
        "medicines_per_patient, clinician_minutes)"]


def test_an_unknown_framework_setting_is_named_with_its_line(demo_root):
    path = demo_root / "params" / "standards" / "palliative_care.yaml"
    text = path.read_text().replace("  evidence_required: true\n", "  evidence_requird: true\n", 1)
    path.write_text(text)
    line = text.splitlines().index("  evidence_requird: true") + 1
    assert _problems(demo_root) == [
        f"{display_path(path)}:{line}:accreditation.evidence_requird: unknown setting (check the spelling)"]
