"""Shared fixtures: a fresh copy of the demo projects in a temporary project root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qitest_support import demo_copy

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_root_session(tmp_path_factory) -> Path:
    """The demo projects written once per session (read-only use)."""
    return demo_copy(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_root(tmp_path, demo_root_session) -> Path:
    """A private, writable copy of the demo projects."""
    root = tmp_path / "project"
    shutil.copytree(demo_root_session, root)
    return root



# Tests that render notebooks, start kernels, servers or a browser, or run simulations: `scripts/test
# --quick` leaves them out for the edit-test loop (CI runs everything). Matched on the test file's
# path, so a new file in one of these families is marked without editing this list.
SLOW_PATHS = ("report/test_farm", "report/test_runner_kernel", "trust/", "test_end_to_end", "notebook",
              "postgres", "simulation", "audience", "browser", "pdf", "example", "tutorial",
              "accreditation/test_accreditation_report")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if any(part in path for part in SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
