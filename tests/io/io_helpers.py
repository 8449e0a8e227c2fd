"""Shared helpers for the input-loading tests: demo copies, line edits, running ``qieval validate``."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qitest_support import demo_copy
from qieval.errors import Problem
from qieval.io.load import validate_project

#: Fixed "today" for in-process validation (the demo data end 2023-03).
TODAY = dt.date(2025, 6, 1)

#: Every problem line: ``FILE:ROW:COLUMN: message`` (ROW/COLUMN blank for whole-file problems).
LINE = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<row>\d*):(?P<column>[^:]*): (?P<message>\S.*)$")
#: The CLI's final summary line.
SUMMARY = re.compile(r"^\d+ problem\(s\) found in \S.*$")

PARAMS = "params/deprescribing.yaml"
DATA = "data/deprescribing"
MV = f"{DATA}/measure_values.csv"
SITES = f"{DATA}/sites.csv"
PDSA = f"{DATA}/pdsa_cycles.csv"


@dataclass
class Project:
    """A fresh demo project written into a temporary folder (the current directory in tests)."""

    root: Path

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def write(self, rel: str, content: str | bytes) -> Path:
        p = self.path(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_bytes(content.encode("utf-8"))
        return p

    def lines(self, rel: str) -> list[str]:
        """Lines of a text file; ``lines[k - 1]`` is line k (= spreadsheet row k of a plain CSV)."""
        return self.read(rel).split("\n")

    def set_line(self, rel: str, k: int, text: str) -> None:
        """Replace line ``k`` (1-based) of a file."""
        lines = self.lines(rel)
        lines[k - 1] = text
        self.write(rel, "\n".join(lines))

    def find_line(self, rel: str, prefix: str) -> int:
        """1-based number of the first line starting with ``prefix``."""
        for k, line in enumerate(self.lines(rel), start=1):
            if line.startswith(prefix):
                return k
        raise AssertionError(f"no line starting {prefix!r} in {rel}")

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> None:
        text = self.read(rel)
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new, count))

    def validate(self, params: str = PARAMS, today: dt.date = TODAY) -> tuple[list[str], list[str]]:
        """Validate in-process; return (error lines, warning lines)."""
        errors, warnings = validate_project(self.path(params), today=today)
        return [str(p) for p in errors], [str(p) for p in warnings]

    def problems(self, params: str = PARAMS, today: dt.date = TODAY) -> list[Problem]:
        return validate_project(self.path(params), today=today)[0]


def make_project(root: Path) -> Project:
    """Write the demo under ``root`` and return it."""
    demo_copy(root)
    return Project(root)


def qieval_command() -> list[str]:
    """The ``qieval`` console script beside this Python, else ``python -m qieval.cli``."""
    script = Path(sys.executable).parent / "qieval"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "qieval.cli"]


def run_validate(root: Path, params: str = PARAMS) -> subprocess.CompletedProcess[str]:
    """Run ``qieval validate PARAMS`` in ``root`` as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [*qieval_command(), "validate", params], cwd=root, capture_output=True, text=True,
        encoding="utf-8", errors="replace", timeout=120, env=env,
    )


def problem_lines(stderr: str) -> list[str]:
    """The problem lines of ``qieval validate``'s stderr, checking the format of every line.

    Every line must be ``FILE:ROW:COLUMN: message`` except a final summary line.
    """
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    if lines and SUMMARY.match(lines[-1]):
        lines = lines[:-1]
    bad = [line for line in lines if not LINE.match(line)]
    assert not bad, f"lines not in FILE:ROW:COLUMN: message form: {bad}"
    return lines


def copy_tree(src: Path, dst: Path) -> None:
    """Copy ``src`` over ``dst`` (merging folders, overwriting files)."""
    shutil.copytree(src, dst, dirs_exist_ok=True)
