"""Project params: ``params/<project>.yaml`` → a typed, validated :class:`ProjectConfig`.

The schema is declarative (pydantic models); every problem is reported as
``params/<project>.yaml:LINE:key.path: message`` with the YAML line of the offending key, so an
analyst can fix the file without reading a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InputError, Problem

DEFAULT_CATEGORIES = ["education", "staffing", "IT", "process", "other"]


def display_path(path: Path | str) -> str:
    """Path as a user should see it: relative to the working directory when below it."""
    p = Path(path)
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd())
    except ValueError:  # different drive (Windows)
        return str(p)
    return str(p) if rel.startswith("..") else rel


def _month(value: Any) -> dt.date:
    """Parse ``YYYY-MM`` or an ISO date (YAML may already have made it a date) to a month start."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value).strip()
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date().replace(day=1)
        except ValueError:
            pass
    raise ValueError(f"expected a month as YYYY-MM or a date as YYYY-MM-DD, got {text!r}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    """An inclusive range of months (start and end are month starts)."""

    start: dt.date
    end: dt.date

    _parse = field_validator("start", "end", mode="before")(lambda v: _month(v))

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end < self.start:
            raise ValueError(f"end {self.end:%Y-%m} is before start {self.start:%Y-%m}")
        return self


class Aim(_Model):
    """The aim statement of the Model for Improvement: what, how much, by when."""

    statement: str
    what: str
    how_much: str
    by_when: dt.date

    _parse = field_validator("by_when", mode="before")(lambda v: _month(v))


class Reference(_Model):
    """A fixed comparison line, e.g. the expected register prevalence of 1% (GSF estimate)."""

    value: float
    label: str


class Measure(_Model):
    """One measure of the IHI Model for Improvement.

    ``unit``: ``percent`` (numerator/denominator × 100), ``rate`` (numerator/denominator × ``per``),
    ``count`` (numerator only, denominator blank) or ``continuous`` (the ``value`` column).
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    type: Literal["outcome", "process", "balancing"]
    numerator: str | None = None
    denominator: str | None = None
    unit: Literal["percent", "rate", "count", "continuous"]
    per: int = Field(default=1, ge=1)
    unit_label: str | None = None
    improvement_direction: Literal["increase", "decrease", "neutral"]
    target: float | None = None
    target_date: dt.date | None = None
    reference: Reference | None = None
    decimals: int = Field(default=1, ge=0, le=6)

    _parse = field_validator("target_date", mode="before")(
        lambda v: None if v is None else _month(v)
    )

    @model_validator(mode="after")
    def _definitions(self) -> "Measure":
        if self.unit in ("percent", "rate") and not (self.numerator and self.denominator):
            raise ValueError(
                f"a {self.unit} measure needs 'numerator' and 'denominator' definitions in words"
            )
        if self.unit == "count" and not self.numerator:
            raise ValueError("a count measure needs a 'numerator' definition in words")
        return self

    @property
    def multiplier(self) -> float:
        """Scale from numerator/denominator to the reported unit (100 for percent)."""
        return 100.0 if self.unit == "percent" else float(self.per)

    @property
    def label(self) -> str:
        """Axis/table label of the unit, e.g. ``%`` or ``per 1,000``."""
        if self.unit_label:
            return self.unit_label
        if self.unit == "percent":
            return "%"
        if self.unit == "rate":
            return f"per {self.per:,}"
        return "count" if self.unit == "count" else ""


class DataSection(_Model):
    dir: str | None = None
    provenance: str = ""


class ProjectConfig(_Model):
    """A validated project: everything the pipeline needs to know from ``params/<project>.yaml``."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    network: str = ""
    aim: Aim
    sites: list[str] = Field(min_length=1)
    frequency: Literal["month", "week"] = "month"
    allow_gaps: bool = False
    baseline: Period
    intervention: Period
    categories: list[str] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    measures: list[Measure] = Field(min_length=1)
    data: DataSection = DataSection()
    # Filled in by load_project (not from YAML):
    params_path: Path = Path(".")
    root: Path = Path(".")

    @model_validator(mode="after")
    def _consistent(self) -> "ProjectConfig":
        if self.intervention.start <= self.baseline.end:
            raise ValueError(
                f"intervention period starts {self.intervention.start:%Y-%m}, "
                f"not after the baseline ends {self.baseline.end:%Y-%m}"
            )
        ids = [m.id for m in self.measures]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate measure ids: {', '.join(dupes)}")
        dup_sites = sorted({s for s in self.sites if self.sites.count(s) > 1})
        if dup_sites:
            raise ValueError(f"duplicate site ids: {', '.join(dup_sites)}")
        return self

    @property
    def data_dir(self) -> Path:
        """``data.dir`` relative to the project root, default ``data/<id>``."""
        return self.root / (self.data.dir or f"data/{self.id}")

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key (for FILE:LINE:key messages)."""


def _load_with_lines(text: str) -> tuple[Any, dict[tuple, int]]:
    lines: dict[tuple, int] = {}
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return None, lines

    def walk(n: yaml.Node, path: tuple) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                lines[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    walk(node, ())
    return yaml.load(text, Loader=yaml.SafeLoader), lines


def _flatten(raw: dict[str, Any]) -> dict[str, Any]:
    """Map the YAML's friendly sections onto the flat model (``project:``, ``periods:``)."""
    out = dict(raw)
    project = out.pop("project", None)
    if isinstance(project, dict):
        for k, v in project.items():
            out.setdefault(k, v)
    periods = out.pop("periods", None)
    if isinstance(periods, dict):
        for k, v in periods.items():
            out.setdefault(k, v)
    return out


_SECTION_OF = {
    "id": "project", "title": "project", "network": "project",
    "baseline": "periods", "intervention": "periods",
}


def load_project(params_path: str | Path) -> ProjectConfig:
    """Read and validate ``params/<project>.yaml``.

    Raises :class:`InputError` with one :class:`Problem` per mistake (file, YAML line, key path).
    The project root is the folder above ``params/`` (so ``data/<id>`` resolves beside it).
    """
    path = Path(params_path)
    label = display_path(path)
    if not path.is_file():
        raise InputError(Problem(label, None, None, "params file not found"))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(Problem(label, None, None, f"not UTF-8 text ({exc.reason})")) from None
    try:
        raw, lines = _load_with_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(Problem(label, row, None, f"malformed YAML: {problem}")) from None
    if not isinstance(raw, dict):
        raise InputError(Problem(label, 1, None, "expected a YAML mapping of project settings"))
    root = path.resolve().parent.parent
    try:
        return ProjectConfig.model_validate(
            {**_flatten(raw), "params_path": path.resolve(), "root": root}
        )
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            yaml_loc = loc
            if loc and loc[0] in _SECTION_OF and (loc[0],) not in lines:
                yaml_loc = (_SECTION_OF[loc[0]],) + loc
            row = None
            for k in range(len(yaml_loc), -1, -1):
                if yaml_loc[:k] in lines:
                    row = lines[yaml_loc[:k]]
                    break
            column = ".".join(str(p) for p in yaml_loc) or None
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = "required setting is missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown setting (check the spelling)"
            elif err["type"] == "literal_error":
                msg = f"{msg}, got {err.get('input')!r}"
            problems.append(Problem(label, row, column, msg))
        raise InputError(problems) from None
