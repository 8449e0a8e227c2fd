"""The params reference (``docs/params.md``), generated from the pydantic models of the params.

Every key of ``params/<project>.yaml`` with its type, default, an example and the reports that use
it. Everything is read from the schema itself, so a key added to a model appears here on the next
run: the type from the annotation, the default from the field, the description from
``Field(description=...)`` or else the ``#:`` comment above the field, the example from the demo
projects' params (:mod:`qieval.demo`) or else :data:`EXAMPLES`. ``tests/test_params_reference.py``
fails when the committed reference and the schema drift apart. Regenerate with::

    qieval params-reference > docs/params.md      # or: python -m qieval.params_reference
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .config import INTERNAL_FIELDS, SECTION_OF, ProjectConfig

#: Sections of the params validated by their own module's model (``dict[str, Any]`` in
#: :class:`ProjectConfig`): section → ``module:Model``.
EXTENSIONS = {
    "standards": "qieval.io.standards:StandardsSettings",
    "abstract": "qieval.abstract.settings:AbstractSettings",
}

#: Which outputs read each top-level key (keys not listed: "validation").
USED_BY = {
    "project.id": "all (file and folder names)",
    "project.title": "site, network, accreditation, abstract",
    "project.network": "site, network",
    "aim": "site, network, abstract",
    "sites": "all",
    "frequency": "all (periods, charts)",
    "allow_gaps": "validation, charts",
    "periods": "site, network, abstract (baseline vs intervention, SPC limits)",
    "categories": "validation of pdsa_cycles, attribution (site, network)",
    "measures": "site, network, abstract, accreditation",
    "data": "all (data folder, provenance line)",
    "disclosure": "commissioner and public copies (qieval run --audience)",
    "standards": "accreditation",
    "abstract": "abstract",
    "records": "validation (measures derived with from_records)",
    "measure_plan": "site (measure plan)",
    "attribution": "site, network (attribution section)",
    "population_label": "site, network (population line)",
}

#: Examples for keys that no demo project sets (path with ``[]`` for list items).
EXAMPLES = {
    "project.network": "North Somerset PCN",
    "population_label": "registered patients",
    "records.sql": "SELECT practice, month, patient_id FROM prescribing",
    "records.url": "postgresql+psycopg://analyst:${PGPASSWORD}@db/qi",
    "measures[].target": 80,
    "measures[].target_date": "2024-03",
    "measures[].chart": "p",
    "measures[].recalculate_at": "[2023-04]",
    "measures[].from_records.value": "{mean: minutes}",
    "measures[].from_records.numerator.count_distinct": "patient",
    "measures[].from_records.numerator.where": "ome_mg_day > 120",
    "measures[].from_records.numerator.mean": "minutes",
    "measures[].from_records.numerator.median": "hours_to_care_package",
    "measure_plan[].title": "Patient experience interviews",
    "measure_plan[].type": "outcome",
    "measure_plan[].collection": "Semi-structured interviews, quarterly",
    "disclosure.high": 7,
    "disclosure.public": "{high: 9, marker: '<10'}",
    "standards.framework": "palliative_care",
}


#: Descriptions of keys whose models live in other modules and carry none (used only when the
#: schema gives no ``Field(description=...)`` or ``#:`` comment).
DESCRIPTIONS = {
    "disclosure.enabled": "false: publish every number unchanged (not advised for public copies).",
    "disclosure.low": "Smallest count suppressed (other than 0).",
    "disclosure.high": "Largest count suppressed: counts low..high are shown as the marker.",
    "disclosure.rounding_base": "Other counts are rounded to the nearest multiple of this (1: no rounding).",
    "disclosure.suppress_zero": "true: a count of 0 is suppressed too.",
    "disclosure.marker": "What a suppressed count is shown as.",
    "disclosure.secondary": "Suppress a second cell where a total would reveal a suppressed one.",
    "disclosure.percent_decimals": "Decimal places of published percentages (from the rounded counts).",
    "disclosure.commissioner": "Overrides of the keys above for commissioner copies.",
    "disclosure.public": "Overrides of the keys above for public copies.",
    "standards.framework": "Id of the standards framework (params/standards/<id>.yaml).",
    "standards.table": "Table of the standards assessments in the data folder.",
    "abstract.title": "Title of the abstract (default: the project title).",
    "abstract.title_limit": "Most words (or characters) in the title.",
    "abstract.title_limit_unit": "What title_limit counts.",
    "abstract.word_limit": "Most words in the body, counted as submission portals count them.",
    "abstract.count_headings": "true: headings count towards the word limit.",
    "abstract.headings": "Heading text of each section; adjacent sections with the same heading are merged.",
    "abstract.background": "Why the work matters (author-written).",
    "abstract.setting": "Where it happened (author-written; default from the network name).",
    "abstract.methods": "What the team did beyond the data, e.g. process mapping (author-written).",
    "abstract.conclusion": "What it means, limitations, next steps (author-written).",
    "abstract.site_noun": "What the sites are called in the text, e.g. GP practices.",
    "abstract.measure_names": "Short names of measures in the text (measure id → name).",
    "abstract.measures": "Which measures, in order (default: all).",
    "abstract.headline_measure": "The measure of the figure and the target sentence (default: the first).",
    "abstract.keywords": "Keywords listed under the abstract.",
    "abstract.figure": "false: no figure.",
}


@dataclass(frozen=True)
class Key:
    """One row of the reference."""

    path: str  # YAML path, e.g. ``periods.baseline.start``; ``[]`` marks a list item
    type: str
    required: bool
    default: str
    example: str
    used_by: str
    description: str


def _comment_docs(model: type[BaseModel]) -> dict[str, str]:
    """``#:`` comments directly above each field in the model's source (Sphinx style)."""
    out: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            lines = inspect.getsource(cls).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            s = line.strip()
            if s.startswith("#:"):
                pending.append(s[2:].strip())
                continue
            m = re.match(r"^([A-Za-z_]\w*)\s*:", s)
            if m and pending:
                out[m.group(1)] = " ".join(pending)
            if not s.startswith("#"):
                pending = []
    return out


def _plain(text: str) -> str:
    """Docstring/comment text as one markdown line (reST double backticks → single)."""
    return " ".join(text.replace("``", "`").split()).replace("|", "\\|")


def _args(ann: Any) -> tuple:
    return typing.get_args(ann)


def _is_union(ann: Any) -> bool:
    return typing.get_origin(ann) in (typing.Union, types.UnionType)


def _strip_none(ann: Any) -> Any:
    """The annotation without ``None`` (optional) and without ``Annotated`` metadata."""
    if typing.get_origin(ann) is typing.Annotated:
        return _strip_none(_args(ann)[0])
    if _is_union(ann):
        rest = [a for a in _args(ann) if a is not type(None)]
        return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]
    return ann


def _model_of(ann: Any) -> type[BaseModel] | None:
    ann = _strip_none(ann)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _list_model(ann: Any) -> type[BaseModel] | None:
    ann = _strip_none(ann)
    if typing.get_origin(ann) is list:
        return _model_of(_args(ann)[0])
    return None


def type_text(ann: Any) -> str:
    """A field's annotation in words, e.g. ``one of: month, week`` or ``list of text``."""
    ann = _strip_none(ann)
    origin = typing.get_origin(ann)
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in _args(ann))
    if _is_union(ann):
        return " or ".join(type_text(a) for a in _args(ann) if a is not type(None))
    if origin is list:
        inner = _args(ann)[0] if _args(ann) else Any
        if _model_of(inner):
            return "list of mappings"
        return f"list of {type_text(inner)}"
    if origin is dict:
        k, v = _args(ann) or (str, Any)
        if v is Any:
            return "mapping"
        return f"mapping of {type_text(k)} → {type_text(v)}"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "mapping"
    return {str: "text", int: "whole number", float: "number", bool: "true or false",
            dt.date: "month (YYYY-MM)", Any: "any"}.get(ann, getattr(ann, "__name__", str(ann)))


def _yaml_text(value: Any) -> str:
    """A value as one line of YAML flow style (how it would be written in the params)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_defaults=True)
    if isinstance(value, dt.date):
        return f"{value:%Y-%m}"
    if isinstance(value, str) and not value:
        return '""'
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True,
                          sort_keys=False).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _default_text(field) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is None or value is PydanticUndefined:
        return "–"
    if isinstance(value, BaseModel) and not value.model_dump(exclude_defaults=True):
        return "(defaults below)"
    if value in ({}, []):
        return "none"
    return _yaml_text(value)


def _demo_examples() -> dict[str, Any]:
    """The first value each key path takes in the demo projects' params."""
    from .demo import PROJECTS

    out: dict[str, Any] = {}

    def walk(node: Any, path: str) -> None:
        if path and path not in out:
            out[path] = node
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, dict):
                    walk(item, path + "[]")

    for module in PROJECTS.values():
        walk(yaml.safe_load(module.PARAMS), "")
    return out


def _example(path: str, demos: dict[str, Any]) -> str:
    if path in demos:
        value = demos[path]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return "(see below)"
        if isinstance(value, dict) and len(_yaml_text(value)) > 80:
            return "(see below)"
        text = _yaml_text(value)
        return text if len(text) <= 80 else text[:77].rstrip() + "…"
    if path in EXAMPLES:
        value = EXAMPLES[path]
        return value if isinstance(value, str) else _yaml_text(value)
    return ""


def _used_by(path: str) -> str:
    top = path.split("[")[0]
    parts = top.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in USED_BY:
            return USED_BY[".".join(parts[:k])]
    return "validation"


def _import(spec: str) -> type[BaseModel]:
    import importlib

    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _keys(model: type[BaseModel], prefix: str, demos: dict[str, Any], out: list[Key]) -> None:
    """Append the keys of ``model`` (under ``prefix``) to ``out``, each followed by its own keys."""
    docs = _comment_docs(model)
    for name, field in model.model_fields.items():
        if model is ProjectConfig and name in INTERNAL_FIELDS:
            continue
        section = SECTION_OF.get(name) if model is ProjectConfig else None
        path = ".".join(p for p in (prefix, section, name) if p)
        ann = field.annotation
        sub = _model_of(ann) or _list_model(ann)
        if sub is None and path in EXTENSIONS:
            sub = _import(EXTENSIONS[path])
        own_doc = sub.__dict__.get("__doc__") if sub is not None else None
        description = _plain(field.description or docs.get(name, "") or own_doc
                             or DESCRIPTIONS.get(path, "") or "")
        shown_type = type_text(ann)
        if path in EXTENSIONS:
            shown_type = "mapping"
        out.append(Key(path, shown_type, field.is_required(), _default_text(field),
                       _example(path, demos), _used_by(path), description))
        if sub is not None:
            child = path + ("[]" if _list_model(ann) is not None else "")
            _keys(sub, child, demos, out)


def reference_keys() -> list[Key]:
    """Every key of the params, depth first in schema order."""
    out: list[Key] = []
    _keys(ProjectConfig, "", _demo_examples(), out)
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") if text else ""


def render() -> str:
    """``docs/params.md`` as text."""
    keys = reference_keys()
    lines = [
        "# Params reference",
        "",
        "<!-- Generated from the schema by `qieval params-reference`; do not edit by hand. -->",
        "",
        "Every key of `params/<project>.yaml`. **Required** keys must be present; the others take",
        "the default shown. `[]` marks the items of a list (e.g. `measures[].unit` is the `unit` of",
        "each measure). Months are written `YYYY-MM` (a date `YYYY-MM-DD` is accepted and read as",
        "its month). Start a project with `qieval new <project>`, which writes a commented params",
        "file, and check it with `qieval validate params/<project>.yaml`.",
        "",
        "Regenerate after changing the schema: `qieval params-reference > docs/params.md`.",
        "",
    ]
    groups: dict[str, list[Key]] = {}
    for k in keys:
        top = re.split(r"[.\[]", k.path)[0]
        top = k.path.split(".")[0] if top in ("project", "periods") else top
        groups.setdefault(top, []).append(k)
    for top, rows in groups.items():
        lines += [f"## `{top}`", ""]
        head = next((r for r in rows if r.path == top), None)
        if head is not None and head.description:
            lines += [head.description, ""]
            rows = [Key(**{**r.__dict__, "description": ""}) if r is head else r for r in rows]
        lines += ["| key | type | required / default | example | used by | description |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            default = "**required**" if r.required else _cell(r.default)
            example = f"`{_cell(r.example)}`" if r.example else ""
            lines.append(f"| `{r.path}` | {_cell(r.type)} | {default} | {example} | "
                         f"{_cell(r.used_by)} | {_cell(r.description)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
