"""A framework of standards: ``params/standards/<framework>.yaml`` → a typed :class:`Framework`.

What: the standards (id, title, what "met" looks like, a descriptor per level, the evidence that
counts, optionally a linked measure with a threshold) and the accreditation rule, all as data.
Why: commissioners and practices change standards and thresholds; that must not need a code change.
Source: seed 001 (local standards for supportive and palliative care in primary care, assessed at
baseline, uplifted with supporting evidence, then accredited and re-assessed over years).

Every problem is reported as ``FILE:LINE:key.path: message`` like the project params.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..config import ProjectConfig, load_with_lines, display_path, require_unique
from ..errors import InputError, Problem


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkedMeasure(_Model):
    """A project measure that checks a standard against the data, e.g. register size ≥ 0.4%.

    ``comparison`` ``>=`` or ``<=``: a value *equal* to the threshold meets it (the tie counts).
    ``threshold`` is in the measure's unit (percent for percent measures).
    """

    id: str
    #: Short name for sentences, e.g. "register size" (default: the project measure's title).
    name: str = ""
    comparison: Literal[">=", "<="] = ">="
    threshold: float
    rationale: str = ""


class Standard(_Model):
    """One standard of the framework."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    met: str
    levels: dict[int, str]
    evidence: list[str] = Field(min_length=1)
    measure: LinkedMeasure | None = None


class Rule(_Model):
    """The accreditation rule (see :mod:`qieval.accreditation.status_rules` for the semantics).

    - ``min_level``: a standard is *met* at this level or above (with evidence when required);
    - ``evidence_required``: a met standard needs a non-blank evidence reference;
    - ``measures_must_meet``: every linked measure must meet its threshold for accreditation;
    - ``measure_window_months``: linked measures are pooled over this many whole months before the
      month of the round's (latest) assessment date;
    - ``progressing_min_improved``: a site that is not accredited is *progressing* when at least
      this many standards are at a higher level (with evidence) than at its baseline.
    """

    min_level: int = Field(default=2, ge=0)
    evidence_required: bool = True
    measures_must_meet: bool = True
    measure_window_months: int = Field(default=3, ge=1, le=24)
    progressing_min_improved: int = Field(default=1, ge=1)


class Framework(_Model):
    """A validated framework of standards."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    source: str = ""
    levels: dict[int, str] = Field(min_length=2)
    accreditation: Rule = Rule()
    standards: list[Standard] = Field(min_length=1)
    path: Path = Path(".")

    @field_validator("standards")
    @classmethod
    def _unique(cls, standards: list[Standard]) -> list[Standard]:
        require_unique([s.id for s in standards], "standard ids")
        return standards

    @field_validator("accreditation")
    @classmethod
    def _min_level_is_a_level(cls, rule: Rule, info: ValidationInfo) -> Rule:
        levels = sorted(info.data.get("levels") or {})
        if levels and rule.min_level not in levels:
            raise ValueError(f"min_level {rule.min_level} is not one of the levels {levels}")
        return rule

    @model_validator(mode="after")
    def _consistent(self) -> "Framework":
        levels = sorted(self.levels)
        if levels != list(range(levels[0], levels[0] + len(levels))):
            raise ValueError(f"levels must be consecutive whole numbers, got {levels}")
        for s in self.standards:
            if sorted(s.levels) != levels:
                raise ValueError(f"standard {s.id}: describe every level {levels} "
                                 f"(found {sorted(s.levels)})")
        return self

    @property
    def lowest_level(self) -> int:
        return min(self.levels)

    @property
    def highest_level(self) -> int:
        return max(self.levels)

    def standard(self, standard_id: str) -> Standard:
        for s in self.standards:
            if s.id == standard_id:
                return s
        raise KeyError(standard_id)

    def linked(self) -> list[tuple[Standard, LinkedMeasure]]:
        """The standards that carry a linked measure, in framework order."""
        return [(s, s.measure) for s in self.standards if s.measure is not None]


class StandardsSettings(_Model):
    """The ``standards:`` section of a project's params: which framework and which table."""

    framework: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=64)  # a file name: params/standards/<framework>.yaml
    table: str = "standards_assessments"


def settings(config: ProjectConfig) -> StandardsSettings:
    """The project's ``standards:`` settings; :class:`InputError` when absent or malformed."""
    label = display_path(config.params_path)
    if not config.standards:
        raise InputError(Problem(label, None, "standards",
                                 "no 'standards:' section (e.g. standards: {framework: palliative_care})"))
    try:
        return StandardsSettings.model_validate(config.standards)
    except ValidationError as exc:
        raise InputError([Problem(label, None, ".".join(["standards", *map(str, e["loc"])]),
                                  e["msg"].removeprefix("Value error, ")) for e in exc.errors()]) from None


def framework_path(config: ProjectConfig) -> Path:
    """``params/standards/<framework>.yaml`` beside the project's params file."""
    return config.params_path.parent / "standards" / f"{settings(config).framework}.yaml"


def _problems_from(exc: ValidationError, label: str, lines: dict[tuple, int]) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        row = next((lines[loc[:k]] for k in range(len(loc), -1, -1) if loc[:k] in lines), None)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required setting is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown setting (check the spelling)"
        elif "input" in err and isinstance(err["input"], (str, int, float)) and "got" not in msg:
            msg = f"{msg}, got {err['input']!r}"
        out.append(Problem(label, row, ".".join(map(str, loc)) or None, msg))
    return out


def load_framework(path: str | Path) -> Framework:
    """Read and validate a framework YAML file; :class:`InputError` lists every problem."""
    path = Path(path)
    label = display_path(path)
    if not path.is_file():
        raise InputError(Problem(label, None, None, "framework file not found (params/standards/"
                                 "<framework>.yaml, named by 'standards: {framework: ...}' in the params)"))
    try:
        raw, lines = load_with_lines(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, Exception) as exc:  # noqa: BLE001 - duplicate keys, bad YAML, bad bytes
        raise InputError(Problem(label, None, None, f"cannot read the framework YAML: {exc}")) from None
    if not isinstance(raw, dict):
        raise InputError(Problem(label, 1, None, "expected a mapping with 'framework:' and 'standards:'"))
    flat: dict[str, Any] = dict(raw)
    head = flat.pop("framework", None)
    if isinstance(head, dict):
        for k, v in head.items():
            flat.setdefault(k, v)
            lines.setdefault((k,), lines.get(("framework", k), 1))
    try:
        return Framework.model_validate({**flat, "path": path})
    except ValidationError as exc:
        raise InputError(_problems_from(exc, label, lines)) from None


def check_against_project(framework: Framework, config: ProjectConfig) -> list[Problem]:
    """Linked measures must be measures of the project (so the data can check them)."""
    label = display_path(framework.path)
    known = [m.id for m in config.measures]
    lines = load_with_lines(framework.path.read_text(encoding="utf-8-sig"))[1] \
        if framework.path.is_file() else {}
    out = []
    for i, s in enumerate(framework.standards):
        if s.measure is not None and s.measure.id not in known:
            out.append(Problem(label, lines.get(("standards", i, "measure", "id")), f"standards.{i}.measure.id",
                               f"standard {s.id} links measure '{s.measure.id}', which is not a measure "
                               f"of project {config.id} ({', '.join(known)})"))
    return out


def load_for_project(config: ProjectConfig) -> Framework:
    """The project's framework, validated on its own and against the project's measures."""
    framework = load_framework(framework_path(config))
    problems = check_against_project(framework, config)
    if problems:
        raise InputError(problems)
    return framework
