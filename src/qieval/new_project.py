"""``qieval new <project>``: a commented params file and empty, correctly headed tables.

Writes ``params/<project>.yaml`` (every required key set to a placeholder with a comment saying what
it is; optional keys commented out with their default or an example) and ``data/<project>/``
``sites.csv``, ``measure_values.csv`` and ``pdsa_cycles.csv`` holding only their header rows.
Comments come from the params reference (:mod:`qieval.params_reference`), so they follow the
schema. Existing files are never overwritten and unsafe project ids are refused (nothing is
written then).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from .config import display_path
from .errors import InputError, Problem
from .format import csv_text, unsafe_name

#: Header row of each table (the columns of :mod:`qieval.io.schemas`, in order).
TABLE_COLUMNS = {
    "sites": ["site_id", "site_name", "network", "list_size"],
    "measure_values": ["site_id", "period", "measure_id", "numerator", "denominator", "value"],
    "pdsa_cycles": ["site_id", "cycle_id", "start", "end", "category", "change_idea", "plan", "do",
                    "study", "act"],
}

#: Placeholder site ids of a new project (replace them, here and in sites.csv).
PLACEHOLDER_SITES = ["site_a", "site_b"]

_ID = re.compile(r"[A-Za-z0-9_\-]+")  # project.id of the params (no '.')


def check_project_id(project_id: str) -> None:
    """Raise :class:`InputError` unless ``project_id`` can name a params file and data folder."""
    why = unsafe_name(project_id)
    if why is None and not _ID.fullmatch(project_id):
        why = "expected letters, digits, '_' or '-' only (a project id has no '.')"
    if why:
        shown = project_id[:40] + ("…" if len(project_id) > 40 else "")
        raise InputError(Problem("qieval new", None, "project", f"unsafe project id {shown!r}: {why}"))


def _notes() -> dict[str, str]:
    """Each key's description in the params reference, shortened to its first sentence."""
    from .params_reference import reference_keys

    out = {}
    for k in reference_keys():
        text = k.description.replace("`", "")
        first = re.split(r"(?<=[a-z0-9)])\.\s+(?=[A-Z(])", text, maxsplit=1)[0].rstrip(".")
        if len(first) > 100:
            first = first[:100].rsplit(" ", 1)[0] + " …"
        out[k.path] = first
    return out


def _months_back(today: dt.date, n: int) -> str:
    y, m = divmod(today.year * 12 + today.month - 1 - n, 12)
    return f"{y:04d}-{m + 1:02d}"


def params_text(project_id: str, today: dt.date | None = None) -> str:
    """The commented params file of a new project (valid YAML that validates as it stands)."""
    from .params_reference import reference_keys

    today = today or dt.date.today()
    notes = _notes()
    n = lambda path: f"  # {notes[path]}" if notes.get(path) else ""  # noqa: E731
    b0, b1, i0, i1 = (_months_back(today, k) for k in (24, 13, 12, 1))
    lines = [
        f"# Params of project {project_id}, written by `qieval new {project_id}`.",
        "# Every key is described in docs/params.md (type, default, example, which report uses it).",
        "# Required keys hold placeholders: replace them. Optional keys are commented out with their",
        "# default or an example: remove the '# ' to set one. Then fill the tables in",
        f"# data/{project_id}/ and check everything with: qieval validate params/{project_id}.yaml",
        "",
        "project:",
        f"  id: {project_id}" + n("project.id"),
        f"  title: Title of the {project_id} project" + n("project.title"),
        "  # network: Name of the network" + n("project.network"),
        "aim:" + n("aim"),
        "  statement: >-" + n("aim.statement"),
        "    For ... to ... from ... to ... by ...",
        "  what: what is to improve" + n("aim.what"),
        "  how_much: how much" + n("aim.how_much"),
        f"  by_when: {i1}" + n("aim.by_when"),
        f"sites: [{', '.join(PLACEHOLDER_SITES)}]" + n("sites"),
        "# frequency: month" + n("frequency"),
        "# allow_gaps: false" + n("allow_gaps"),
        "# population_label: registered patients" + n("population_label"),
        "periods:",
        f"  baseline: {{start: {b0}, end: {b1}}}" + n("periods.baseline"),
        f"  intervention: {{start: {i0}, end: {i1}}}" + n("periods.intervention"),
        "# categories: [education, staffing, IT, process, other]" + n("categories"),
        "data:",
        f"  dir: data/{project_id}" + n("data.dir"),
        '  provenance: ""' + n("data.provenance"),
        "measures:" + n("measures"),
        "  - id: measure_1" + n("measures[].id"),
        "    title: Title of the measure" + n("measures[].title"),
        "    type: process" + n("measures[].type"),
        "    numerator: What is counted" + n("measures[].numerator"),
        "    denominator: Out of what" + n("measures[].denominator"),
        "    unit: percent" + n("measures[].unit"),
        "    # per: 1000" + n("measures[].per"),
        "    # unit_label: patients" + n("measures[].unit_label"),
        "    improvement_direction: increase" + n("measures[].improvement_direction"),
        "    # target: 80" + n("measures[].target"),
        f"    # target_date: {i1}" + n("measures[].target_date"),
        "    # decimals: 1" + n("measures[].decimals"),
        "    # reference: {value: 1.0, label: expected prevalence}" + n("measures[].reference"),
    ]
    written = {"project", "aim", "sites", "frequency", "allow_gaps", "population_label", "periods",
               "categories", "data", "measures"}
    optional = [k for k in reference_keys() if "." not in k.path and "[" not in k.path
                and k.path not in written and not k.required]
    if optional:
        lines += ["", "# Optional sections (see docs/params.md):"]
    for k in optional:
        shown = k.default if k.default not in ("–", "none", "(defaults below)", "required") else ""
        example = shown or (k.example if k.example and k.example != "(see below)" else "{...}")
        lines.append(f"# {k.path}: {example}" + n(k.path))
    return "\n".join(lines) + "\n"


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``, atomically, failing if it already exists."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, path)  # fails with FileExistsError instead of replacing
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: exclusive create (still never overwrites)
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
    finally:
        tmp.unlink()


def new_project(project_id: str, root: str | Path = ".", *, today: dt.date | None = None) -> list[Path]:
    """Write a new project's params and empty tables under ``root``; return the files written.

    Raises :class:`InputError` for an unsafe id or when any of the files already exists (then
    nothing is written)."""
    check_project_id(project_id)
    root = Path(root)
    params = root / "params" / f"{project_id}.yaml"
    data_dir = root / "data" / project_id
    files = {params: params_text(project_id, today)}
    for name, columns in TABLE_COLUMNS.items():
        files[data_dir / f"{name}.csv"] = csv_text(columns, [])
    existing = [p for p in files if p.exists()]
    if existing:
        raise InputError([Problem(display_path(p), None, None,
                                  "already exists; qieval new never overwrites a file (choose another "
                                  "project id, or move the file away)") for p in existing])
    written: list[Path] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                _write_new(path, text)
            except FileExistsError:
                raise InputError(Problem(display_path(path), None, None,
                                         "already exists (created meanwhile); not overwritten")) from None
            written.append(path)
    except BaseException:
        for path in written:  # all or nothing: remove what this call created
            path.unlink(missing_ok=True)
        raise
    return written
