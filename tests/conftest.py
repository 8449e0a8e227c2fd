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

