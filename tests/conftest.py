"""Shared fixtures: a fresh copy of the demo projects in a temporary project root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qieval.demo import write_demo

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference-data"


@pytest.fixture(scope="session")
def demo_root_session(tmp_path_factory) -> Path:
    """The demo projects written once per session (read-only use)."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root)
    return root


@pytest.fixture
def demo_root(tmp_path, demo_root_session) -> Path:
    """A private, writable copy of the demo projects."""
    root = tmp_path / "project"
    shutil.copytree(demo_root_session, root)
    return root

