"""Dependencies between qieval's packages point one way (down the list in LAYERS).

Every ``import`` in ``src/qieval`` (also those inside functions) is parsed with :mod:`ast`; a
package may import a package of a lower layer, never one of its own layer or above (the packages
of one layer are independent of each other), except the top layer's entry points, which may use
each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "qieval"

#: Highest first. "qieval" is the package root (``__version__``; its verbs are imported lazily by name).
LAYERS = [
    {"cli", "new_project", "params_reference"},  # entry points and tools
    {"farm"},  # running notebooks: batch, runner, warm kernels, exporter, index
    {"report"},  # report content: sections, html
    {"abstract", "accreditation", "attribution", "spc", "measures", "demo"},
    {"io"},  # reading and validating every input table and file
    {"records"},  # record-level sources → measure values (used by io)
    {"config"},
    {"disclosure", "format", "figures", "errors", "qieval"},  # figures: drawing, no qieval imports
]
RANK = {name: len(LAYERS) - i for i, layer in enumerate(LAYERS) for name in layer}
TOP = RANK["cli"]

#: Known exceptions, each with its reason: (importing file, imported module). None at present.
ALLOWED: set[tuple[str, str]] = set()


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "qieval"


def _imports(path: Path) -> list[tuple[str, int]]:
    """The qieval modules ``path`` imports (absolute dotted names), with their line."""
    rel = path.relative_to(SRC.parent).with_suffix("")
    package = list(rel.parts) if path.name == "__init__.py" else list(rel.parts[:-1])
    if path.name == "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "qieval"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "qieval":
                continue
            for a in node.names:  # "from .report import figures": figures is a module
                sub = f"{module}.{a.name}"
                found = SRC.parent.joinpath(*sub.split("."))
                is_module = found.with_suffix(".py").is_file() or (found / "__init__.py").is_file()
                out.append((sub if is_module else module, node.lineno))
    return out


def _unit_of_file(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else "qieval"


def test_every_package_has_a_layer():
    units = {_unit_of_file(p) for p in SRC.rglob("*.py")}
    assert units - RANK.keys() == set(), "give the new package a layer in LAYERS"


def test_imports_point_down():
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        me = _unit_of_file(path)
        for module, line in _imports(path):
            other = _unit(module)
            if other == me or (str(path.relative_to(SRC)), module) in ALLOWED:
                continue
            if other not in RANK:  # "from .. import __version__" and the like name the root
                other = "qieval"
            if RANK[other] < RANK[me] or (RANK[other] == RANK[me] == TOP):
                continue
            upward.append(f"{path.relative_to(SRC)}:{line}: {me} imports {module}")
    assert upward == []


def test_figures_import_nothing_from_qieval():
    """figures sits in the bottom layer (spc.plot and the reports both draw with it)."""
    assert [m for m, _ in _imports(SRC / "figures.py")] == []
