"""Helpers shared by the test modules (imported by name; not a test file)."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE_DATA = Path(__file__).resolve().parent / "data" / "reference"
"""The public reference data sets the tests check against (sources and licences in its README.md)."""


def require(condition: bool, reason: str, *, module_level: bool = False) -> None:
    """Guard for what the environment must provide (reference data, PostgreSQL binaries).

    On a developer's machine a missing prerequisite skips with ``reason``; under CI (``CI`` set,
    where scripts/test installs PostgreSQL and the reference data ship in tests/data/reference/) it fails, so a broken
    environment can never pass as skipped tests."""
    import os

    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI prerequisite missing: {reason}")
    pytest.skip(reason, allow_module_level=module_level)


_DEMO_CACHE: dict[str, Path] = {}


def demo_copy(dest: Path) -> Path:
    """Copy the demo projects (params, data, notebooks) into ``dest``: written once per test process
    by :func:`qieval.demo.write_demo` (deterministic), then copied, so each test gets a private,
    writable project root without regenerating the demo."""
    import shutil
    import tempfile

    from qieval.demo import write_demo

    if "root" not in _DEMO_CACHE:
        root = Path(tempfile.mkdtemp(prefix="qieval-demo-"))
        write_demo(root)
        _DEMO_CACHE["root"] = root
    shutil.copytree(_DEMO_CACHE["root"], dest, dirs_exist_ok=True)
    return dest
