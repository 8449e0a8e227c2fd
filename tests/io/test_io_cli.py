"""``qieval validate`` as a user runs it: exit status, stderr lines, warnings, no tracebacks."""

from __future__ import annotations

from io_helpers import LINE, MV, PARAMS, Project, problem_lines, run_validate


def test_valid_project_exits_0(project: Project):
    result = run_validate(project.root)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == f"{PARAMS}: valid"


def test_bad_data_exits_2_with_one_line_per_problem(project: Project):
    k = project.find_line(MV, "hillside,2021-04,conversation_offered")
    project.set_line(MV, k, "hillside,2021-04,conversation_offered,45,30,")
    j = project.find_line(MV, "riverside,2021-04,register_prevalence")
    den = project.lines(MV)[j - 1].split(",")[4]
    project.set_line(MV, j, f"riverside,2021-04,register_prevalence,3.5,{den},")
    result = run_validate(project.root)
    assert result.returncode == 2
    lines = problem_lines(result.stderr)
    assert lines == [
        f"{MV}:{k}:numerator: 45 exceeds the denominator 30",
        f"{MV}:{j}:numerator: expected a whole number such as 12 (digits only: no decimal places, "
        "thousands separators, units or text), got '3.5'",
    ]
    assert result.stderr.splitlines()[-1] == f"2 problem(s) found in {PARAMS}"


def test_allowed_gap_is_a_warning_and_exits_0(project: Project):
    project.replace(PARAMS, "allow_gaps: false", "allow_gaps: true")
    lines = project.lines(MV)
    k = project.find_line(MV, "abbey_view,2022-09,clinician_minutes")
    del lines[k - 1]
    project.write(MV, "\n".join(lines))
    nxt = project.find_line(MV, "abbey_view,2022-10,clinician_minutes")
    result = run_validate(project.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{PARAMS}: valid (1 warning(s))"
    assert result.stderr.splitlines() == [
        f"{MV}:{nxt}:period: warning: gap in the clinician_minutes series of site abbey_view: "
        "1 month(s) missing (2022-09) before this row (allowed by allow_gaps: true; charts show "
        "the break)"]
    assert LINE.match(result.stderr.splitlines()[0])
