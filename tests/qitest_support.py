"""Helpers shared by the test modules (imported by name; not a test file)."""

from __future__ import annotations

import pytest


def require(condition: bool, reason: str, *, module_level: bool = False) -> None:
    """Guard for what the environment must provide (reference data, PostgreSQL binaries).

    On a developer's machine a missing prerequisite skips with ``reason``; under CI (``CI`` set,
    where scripts/test installs PostgreSQL and shared/ sits beside the clone) it fails, so a broken
    environment can never pass as skipped tests."""
    import os

    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI prerequisite missing: {reason}")
    pytest.skip(reason, allow_module_level=module_level)
