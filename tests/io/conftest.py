"""Fixtures for the input-loading tests (``tests/io``)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # so tests can import io_helpers.py

from io_helpers import Project  # noqa: E402



@pytest.fixture
def project(tmp_path, monkeypatch, demo_root_session) -> Project:
    """A fresh, writable demo project in ``tmp_path``, which is also the working directory (so
    problems name files as ``data/deprescribing/...``, as a user running ``qieval`` sees them)."""
    root = tmp_path / "project"
    shutil.copytree(demo_root_session, root)
    monkeypatch.chdir(root)
    return Project(root)
