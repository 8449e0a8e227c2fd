"""``params: abstract:`` → a validated :class:`AbstractSettings`.

Example (every key but ``background`` and ``conclusion`` is optional)::

    abstract:
      title: "Deprescribing in community palliative care: a quality improvement project"
      title_limit: 25            # words (or characters, with title_limit_unit: characters)
      word_limit: 300            # body words, counted as portals count (qieval.abstract.wordcount)
      count_headings: false      # headings are not counted by default
      headings: {background: Background, aim: Aim, methods: Methods, results: Results,
                 conclusion: Conclusion}   # adjacent sections with the same heading are merged
      background: "Why the work matters (author-written)."
      setting: "Where it happened (author-written; default from the network name)."
      methods: "What the team did beyond the data, e.g. process mapping (author-written)."
      conclusion: "What it means, limitations, next steps (author-written)."
      site_noun: GP practices    # what the sites are called in the text
      measure_names: {register_prevalence: Register size}  # short names in the text
      measures: [conversation_offered, register_prevalence]  # which measures, in order (default all)
      headline_measure: conversation_offered   # the figure and target sentence (default: first)
      keywords: [deprescribing, palliative care]
      figure: true

Problems are raised as :class:`qieval.errors.InputError` with one
``Problem(params file, YAML line, "abstract.<key>", message)`` each.
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import ProjectConfig, load_with_lines, display_path
from ..errors import InputError, Problem

SECTIONS = ("background", "aim", "methods", "results", "conclusion")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Headings(_Model):
    """Heading text of each section, in order; adjacent sections with the same text are merged
    (e.g. ``aim: Aim and methods`` and ``methods: Aim and methods``)."""

    background: str = "Background"
    aim: str = "Aim"
    methods: str = "Methods"
    results: str = "Results"
    conclusion: str = "Conclusion"


class AbstractSettings(_Model):
    """Validated ``abstract:`` block of the params (see the module docstring)."""

    title: str | None = None
    title_limit: int = Field(default=25, ge=1)
    title_limit_unit: Literal["words", "characters"] = "words"
    word_limit: int = Field(default=300, ge=20)
    count_headings: bool = False
    headings: Headings = Headings()
    background: str = Field(min_length=1)
    setting: str | None = None
    methods: str | None = None
    conclusion: str = Field(min_length=1)
    site_noun: str = "sites"
    measure_names: dict[str, str] = Field(default_factory=dict)
    measures: list[str] | None = None
    headline_measure: str | None = None
    keywords: list[str] = Field(default_factory=list)
    figure: bool = True

    @field_validator("background", "setting", "methods", "conclusion", "title", "site_noun")
    @classmethod
    def _squash(cls, v: str | None) -> str | None:
        """Collapse line breaks and runs of spaces (YAML folded text) to single spaces."""
        return None if v is None else " ".join(v.split())


_EXPECTED = {
    "string_type": "expected text",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "list_type": "expected a list, e.g. [a, b]",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "string_too_short": "expected some text",
}


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    for k in range(len(path), 0, -1):
        if path[:k] in lines:
            return lines[path[:k]]
    return None


def _message(err: dict) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "required setting is missing"
    if kind == "extra_forbidden":
        return "unknown setting (check the spelling)"
    if kind == "greater_than_equal":
        return f"expected {ctx.get('ge')} or more, got {err.get('input')!r}"
    if kind == "literal_error":
        return "expected one of " + err["msg"].removeprefix("Input should be ")
    msg = _EXPECTED.get(kind, err["msg"])
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) and kind not in ("string_too_short",):
        msg += f", got {value!r}"
    return msg


def _unknown_key(key: str, known: list[str]) -> str:
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"unknown setting; did you mean '{near[0]}'?" if near else "unknown setting (check the spelling)"


def _measure_problems(s: AbstractSettings, config: ProjectConfig, label: str,
                      lines: dict[tuple, int]) -> list[Problem]:
    ids = [m.id for m in config.measures]
    problems = []

    def unknown(mid: str, path: tuple) -> Problem:
        near = difflib.get_close_matches(mid, ids, n=1, cutoff=0.6)
        hint = f"; did you mean '{near[0]}'?" if near else f" (measures: {', '.join(ids)})"
        return Problem(label, _line(lines, ("abstract",) + path), "abstract." + ".".join(map(str, path)),
                       f"unknown measure {mid!r}{hint}")

    for i, mid in enumerate(s.measures or []):
        if mid not in ids:
            problems.append(unknown(mid, ("measures", i)))
    for mid in s.measure_names:
        if mid not in ids:
            problems.append(unknown(mid, ("measure_names", mid)))
    if s.headline_measure is not None:
        if s.headline_measure not in ids:
            problems.append(unknown(s.headline_measure, ("headline_measure",)))
        elif s.measures is not None and s.headline_measure not in s.measures:
            problems.append(Problem(label, _line(lines, ("abstract", "headline_measure")),
                                    "abstract.headline_measure",
                                    f"{s.headline_measure!r} is not among abstract.measures"))
    if s.measures is not None and not s.measures:
        problems.append(Problem(label, _line(lines, ("abstract", "measures")), "abstract.measures",
                                "expected at least one measure"))
    return problems


def load_settings(config: ProjectConfig) -> AbstractSettings:
    """Validate ``config.abstract`` (the free-form ``abstract:`` block of the params).

    Raises :class:`InputError` with one problem per mistake, each with the YAML line of the key.
    """
    label = display_path(config.params_path)
    try:
        _, lines = load_with_lines(config.params_path.read_text(encoding="utf-8-sig"))
    except Exception:  # noqa: BLE001 - the file was valid when loaded; lines are a courtesy
        lines = {}
    if config.abstract is None:
        raise InputError(Problem(label, None, "abstract",
                                 "no abstract settings: add an 'abstract:' block with at least "
                                 "'background' and 'conclusion' (author-written text)"))
    try:
        settings = AbstractSettings.model_validate(config.abstract)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = _message(err)
            if err["type"] == "extra_forbidden":
                model = Headings if loc[:1] == ("headings",) else AbstractSettings
                msg = _unknown_key(str(loc[-1]), list(model.model_fields))
            problems.append(Problem(label, _line(lines, ("abstract",) + loc),
                                    "abstract." + ".".join(map(str, loc)), msg))
        raise InputError(problems) from None
    problems = _measure_problems(settings, config, label, lines)
    if problems:
        raise InputError(problems)
    return settings


def setting_line(config: ProjectConfig, key: str) -> int | None:
    """YAML line of ``abstract.<key>`` (or of ``abstract:`` when the key is not given)."""
    try:
        _, lines = load_with_lines(config.params_path.read_text(encoding="utf-8-sig"))
    except Exception:  # noqa: BLE001
        return None
    return _line(lines, ("abstract", *key.split(".")))
