"""Problem records print as one ``FILE:ROW:COLUMN: message`` line each."""

from __future__ import annotations

from io_helpers import LINE, PDSA, Project

from qieval.errors import InputError, Problem


def test_problem_format():
    assert str(Problem("a.csv", 17, "numerator", "45 exceeds the denominator 30")) == \
        "a.csv:17:numerator: 45 exceeds the denominator 30"
    assert str(Problem("a.csv", None, None, "the file is empty")) == "a.csv::: the file is empty"
    assert str(Problem("a.csv", 3, "period", "gap", severity="warning")) == "a.csv:3:period: warning: gap"


def test_line_breaks_in_a_cell_stay_on_one_line():
    assert str(Problem("a.csv", 3, "category", "unknown category 'a\nb\r\nc'")) == \
        "a.csv:3:category: unknown category 'a\\nb\\nc'"


def test_input_error_carries_every_problem():
    problems = [Problem("a.csv", 2, "x", "m1"), Problem("a.csv", 3, "y", "m2")]
    err = InputError(problems)
    assert err.problems == problems
    assert str(err) == "a.csv:2:x: m1\na.csv:3:y: m2"
    assert InputError(problems[0]).problems == [problems[0]]


def test_multiline_cell_value_in_a_message(project: Project):
    project.replace(PDSA, "2022-04-04,2022-05-06,education", '2022-04-04,2022-05-06,"educ\nation"')
    errors = project.validate()[0]
    assert len(errors) == 1 and LINE.match(errors[0])
    assert errors[0].startswith(f"{PDSA}:2:category: unknown category 'educ\\nation'")
