"""Project params (``params/<project>.yaml``): every mistake names the file, YAML line and key path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qieval.config import DEFAULT_CATEGORIES, ProjectConfig, load_config
from qieval.demo.deprescribing import PARAMS as DEMO_PARAMS
from qieval.errors import InputError

NAME = "params/deprescribing.yaml"


@pytest.fixture
def params(tmp_path, monkeypatch):
    """Write params text to ``params/deprescribing.yaml`` (cwd = tmp_path); return its path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params").mkdir()

    def write(text: str | bytes = DEMO_PARAMS) -> Path:
        p = tmp_path / NAME
        p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return p

    return write


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle`` (computed independently of the code)."""
    for k, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            return k
    raise AssertionError(needle)


def errors(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def edit(old: str, new: str) -> str:
    assert old in DEMO_PARAMS, old
    return DEMO_PARAMS.replace(old, new, 1)


def test_demo_params_load(params):
    config = load_config(params())
    assert isinstance(config, ProjectConfig)
    assert config.id == "deprescribing"
    assert config.baseline.start == dt.date(2021, 1, 1) and config.baseline.end == dt.date(2022, 3, 1)
    assert config.sites == ["hillside", "riverside", "abbey_view", "meadowbank"]
    assert config.measure("conversation_offered").multiplier == 100.0
    assert config.measure("medicines_per_patient").label == "medicines per patient"
    assert config.data_dir == Path.cwd().resolve() / "data" / "deprescribing"
    assert config.allow_gaps is False


def test_defaults(params):
    text = edit("categories: [education, staffing, IT, process, other]\n", "").replace(
        "allow_gaps: false\n", "").replace("frequency: month\n", "")
    config = load_config(params(text))
    assert config.categories == DEFAULT_CATEGORIES
    assert config.frequency == "month" and config.allow_gaps is False


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert errors(tmp_path / "params" / "nope.yaml") == ["params/nope.yaml::: params file not found"]


def test_malformed_yaml_gives_the_line(params):
    text = edit("sites: [hillside, riverside, abbey_view, meadowbank]",
                "sites: [hillside, riverside, abbey_view, meadowbank")
    got = errors(params(text))
    assert len(got) == 1
    k = line_of(text, "frequency: month")  # PyYAML notices the unclosed list on the next line
    assert got[0].startswith(f"{NAME}:{k}:: malformed YAML: ")


def test_tab_indentation(params):
    text = edit("  id: deprescribing", "\tid: deprescribing")
    k = line_of(text, "\tid:")
    assert errors(params(text)) == [
        f"{NAME}:{k}:: malformed YAML: found character '\\t' that cannot start any token "
        "(a tab character: indent YAML with spaces, not tabs)"]


def test_duplicate_key(params):
    text = edit("frequency: month", "frequency: month\nfrequency: week")
    first, second = line_of(text, "frequency: month"), line_of(text, "frequency: week")
    assert errors(params(text)) == [
        f"{NAME}:{second}:frequency: setting given twice (first on line {first}); keep one"]


def test_not_utf8(params):
    text = edit("South Somerset West PCN", "Ysgol Pen-y-bont £")
    k = line_of(text, "Ysgol")
    assert errors(params(text.encode("latin-1"))) == [
        f"{NAME}:{k}:: not UTF-8 text: byte 0xa3 (probably '£' in Latin-1/Windows-1252); save the "
        "file as UTF-8"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n"])
def test_not_a_mapping(params, text):
    got = errors(params(text))
    assert got == [f"{NAME}:1:: expected a YAML mapping of project settings (key: value lines, e.g. "
                   "'project:' then '  id: my_project')"]


def test_unknown_top_level_key(params):
    text = edit("allow_gaps: false", "allow_gap: false")
    k = line_of(text, "allow_gap:")
    assert errors(params(text)) == [f"{NAME}:{k}:allow_gap: unknown setting; did you mean 'allow_gaps'?"]


def test_unknown_key_without_a_near_miss(params):
    text = edit("allow_gaps: false", "colour: blue")
    k = line_of(text, "colour:")
    assert errors(params(text)) == [f"{NAME}:{k}:colour: unknown setting (check the spelling)"]


def test_unknown_key_in_project_section(params):
    text = edit("  network: South", "  netwrk: South")
    k = line_of(text, "netwrk")
    assert errors(params(text)) == [f"{NAME}:{k}:project.netwrk: unknown setting; did you mean 'network'?"]


def test_unknown_key_in_periods_section(params):
    text = edit("  intervention: {start", "  intervention_period: {start")
    got = errors(params(text))
    assert f"{NAME}:{line_of(text, 'intervention_period')}:periods.intervention_period: unknown " \
           "setting; did you mean 'intervention'?" in got
    assert f"{NAME}:{line_of(text, 'periods:')}:periods.intervention: required setting is missing" in got


def test_unknown_key_in_a_measure(params):
    text = edit("    decimals: 2\n    improvement_direction: increase",
                "    decimal: 2\n    improvement_direction: increase")
    k = line_of(text, "decimal: 2")
    assert errors(params(text)) == [f"{NAME}:{k}:measures.1.decimal: unknown setting; did you mean 'decimals'?"]


def test_internal_fields_are_not_settings(params):
    text = DEMO_PARAMS + "root: /tmp\n"
    k = line_of(text, "root: /tmp")
    assert errors(params(text)) == [f"{NAME}:{k}:root: unknown setting (check the spelling)"]


def test_missing_keys_name_the_path_and_parent_line(params):
    text = edit("  title: Deprescribing in community palliative care\n", "")
    assert errors(params(text)) == [f"{NAME}:{line_of(text, 'project:')}:project.title: required setting is missing"]
    text = edit("  how_much: 100% of register patients\n", "")
    assert errors(params(text)) == [f"{NAME}:{line_of(text, 'aim:')}:aim.how_much: required setting is missing"]


def test_missing_measures(params):
    i = DEMO_PARAMS.index("measures:")
    text = DEMO_PARAMS[:i]
    assert errors(params(text)) == [f"{NAME}:{line_of(text, 'project:')}:measures: required setting is missing"]


@pytest.mark.parametrize("old, new, key, message", [
    ("unit: rate", "unit: ratio", "measures.2.unit",
     "expected one of 'percent', 'rate', 'count' or 'continuous', got 'ratio'"),
    ("type: outcome", "type: result", "measures.2.type",
     "expected one of 'outcome', 'process' or 'balancing', got 'result'"),
    ("improvement_direction: decrease\n  - id: clinician", "improvement_direction: down\n  - id: clinician",
     "measures.2.improvement_direction", "expected one of 'increase', 'decrease' or 'neutral', got 'down'"),
    ("frequency: month", "frequency: monthly", "frequency", "expected one of 'month' or 'week', got 'monthly'"),
    ("allow_gaps: false", "allow_gaps: maybe", "allow_gaps", "expected true or false, got 'maybe'"),
    ("per: 1", "per: abc", "measures.2.per", "expected a whole number, got 'abc'"),
    ("per: 1", "per: 0", "measures.2.per", "expected 1 or more, got 0"),
    ("  id: deprescribing", "  id: depre scribing", "project.id",
     "expected letters, digits, '_' or '-' only (no spaces), got 'depre scribing'"),
    ("sites: [hillside, riverside, abbey_view, meadowbank]", "sites: []", "sites", "expected at least one entry"),
    ("sites: [hillside, riverside, abbey_view, meadowbank]", "sites: hillside", "sites",
     "expected a list, e.g. [a, b] or one '- item' per line, got 'hillside'"),
    ("by_when: 2023-03", "by_when: March 2023", "aim.by_when",
     "expected a month as YYYY-MM or a date as YYYY-MM-DD, got 'March 2023'"),
    ("start: 2021-01", "start: 2021-13", "periods.baseline.start",
     "expected a month as YYYY-MM or a date as YYYY-MM-DD, got '2021-13'"),
])
def test_wrong_values(params, old, new, key, message):
    text = edit(old, new)
    k = line_of(text, new.split("\n")[0])
    assert errors(params(text)) == [f"{NAME}:{k}:{key}: {message}"]


def test_period_end_before_start(params):
    text = edit("baseline: {start: 2021-01, end: 2022-03}", "baseline: {start: 2022-03, end: 2021-01}")
    k = line_of(text, "baseline:")
    assert errors(params(text)) == [f"{NAME}:{k}:periods.baseline: end 2021-01 is before start 2022-03"]


def test_intervention_must_follow_baseline(params):
    text = edit("intervention: {start: 2022-04", "intervention: {start: 2022-02")
    assert errors(params(text)) == [
        f"{NAME}:{line_of(text, 'intervention:')}:periods.intervention: intervention period starts "
        "2022-02, not after the baseline ends 2022-03"]


def test_duplicate_sites_and_measures(params):
    text = edit("sites: [hillside, riverside, abbey_view, meadowbank]",
                "sites: [hillside, riverside, hillside, meadowbank]")
    assert errors(params(text)) == [f"{NAME}:{line_of(text, 'sites:')}:sites: duplicate site ids: hillside"]
    text = edit("  - id: register_prevalence", "  - id: conversation_offered")
    assert errors(params(text)) == [
        f"{NAME}:{line_of(text, 'measures:')}:measures: duplicate measure ids: conversation_offered"]


def test_percent_measure_needs_definitions(params):
    text = edit("    denominator: Patients on the palliative care register at the end of the month\n"
                "    unit: percent\n    improvement_direction: increase\n    target: 100",
                "    unit: percent\n    improvement_direction: increase\n    target: 100")
    got = errors(params(text))
    assert got == [f"{NAME}:{line_of(text, '- id: conversation_offered')}:measures.0: a percent measure "
                   "needs 'numerator' and 'denominator' definitions in words"]


def test_section_that_is_not_a_mapping(params):
    text = edit("aim:\n", "aim: soon\nzaim:\n")
    got = errors(params(text))
    assert f"{NAME}:{line_of(text, 'aim: soon')}:aim: expected a mapping of settings (key: value lines), got 'soon'" in got


def test_every_problem_is_reported_at_once(params):
    text = edit("allow_gaps: false", "allow_gaps: maybe").replace("unit: rate", "unit: ratio")
    assert len(errors(params(text))) == 2


def test_data_dir_relative_to_project_root(params, tmp_path):
    config = load_config(params(edit("  dir: data/deprescribing", "  dir: elsewhere/d")))
    assert config.data_dir == (tmp_path / "elsewhere" / "d").resolve()
    assert config.root == tmp_path.resolve()


def test_key_lines_are_kept_for_later_messages(params):
    config = load_config(params())
    assert config.key_line("sites") == line_of(DEMO_PARAMS, "sites:")
    assert config.key_line("measures", 1, "id") == line_of(DEMO_PARAMS, "- id: register_prevalence")
    assert config.key_line("no", "such") is None


def test_not_utf8_after_a_bom_at_the_start_of_a_line(params):
    text = edit("  network: South Somerset West PCN", "  network: South Somerset West PCN\n# \xa3 note")
    k = line_of(text, "# \xa3 note")
    got = errors(params(b"\xef\xbb\xbf" + text.encode("latin-1")))
    assert got[0].startswith(f"{NAME}:{k}:: not UTF-8 text: byte 0xa3")


def test_utf8_bom_is_fine(params):
    assert load_config(params(b"\xef\xbb\xbf" + DEMO_PARAMS.encode("utf-8"))).id == "deprescribing"
