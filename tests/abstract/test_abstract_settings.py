"""params ``abstract:`` validation: defaults, and every problem as FILE:LINE:abstract.<key>."""

from __future__ import annotations

import pytest

from qieval.abstract.settings import load_settings
from qieval.config import load_config
from qieval.errors import InputError


def _with_abstract(root, block: str):
    path = root / "params" / "deprescribing.yaml"
    text = path.read_text(encoding="utf-8")
    text = text[: text.index("abstract:\n")] + block
    path.write_text(text, encoding="utf-8")
    return load_config(path), text


def _line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def test_demo_settings(demo_root_session):
    s = load_settings(load_config(demo_root_session / "params" / "deprescribing.yaml"))
    assert s.word_limit == 300 and s.count_headings is False
    assert s.headline_measure == "conversation_offered"
    assert s.background.startswith("Deprescribing") and "\n" not in s.background


def test_defaults(demo_root):
    config, _ = _with_abstract(demo_root, "abstract:\n  background: Why.\n  conclusion: So what.\n")
    s = load_settings(config)
    assert (s.word_limit, s.title_limit, s.count_headings) == (300, 25, False)
    assert [s.headings.background, s.headings.aim, s.headings.methods, s.headings.results,
            s.headings.conclusion] == ["Background", "Aim", "Methods", "Results", "Conclusion"]


def test_missing_block(demo_root):
    config, _ = _with_abstract(demo_root, "")
    with pytest.raises(InputError) as err:
        load_settings(config)
    p = err.value.problems[0]
    assert p.column == "abstract" and "background" in p.message


def test_problems_name_key_and_line(demo_root):
    block = ("abstract:\n  background: Why.\n  word_limt: 250\n  word_limit: many\n"
             "  headline_measure: conversations\n  headings:\n    result: Findings\n")
    config, text = _with_abstract(demo_root, block)
    with pytest.raises(InputError) as err:
        load_settings(config)
    got = {p.column: p for p in err.value.problems}
    assert got["abstract.word_limt"].row == _line_of(text, "  word_limt: 250")
    assert "did you mean 'word_limit'" in got["abstract.word_limt"].message
    assert got["abstract.word_limit"].row == _line_of(text, "  word_limit: many")
    assert "whole number" in got["abstract.word_limit"].message
    assert got["abstract.conclusion"].message == "required setting is missing"
    assert got["abstract.headings.result"].row == _line_of(text, "    result: Findings")
    assert got["abstract.word_limit"].message.endswith("got 'many'")
    assert str(got["abstract.word_limit"]).endswith(
        f"deprescribing.yaml:{_line_of(text, '  word_limit: many')}:abstract.word_limit: expected a whole number, "
        "got 'many'")


def test_unknown_measure(demo_root):
    block = "abstract:\n  background: Why.\n  conclusion: So.\n  headline_measure: conversations\n"
    config, text = _with_abstract(demo_root, block)
    with pytest.raises(InputError) as err:
        load_settings(config)
    p = err.value.problems[0]
    assert p.column == "abstract.headline_measure" and p.row == _line_of(text, "  headline_measure: conversations")
    assert "did you mean 'conversation_offered'" in p.message
