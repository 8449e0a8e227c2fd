"""Fixtures for the input-loading tests (``tests/io``)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # so tests can import io_helpers.py

from io_helpers import Project  # noqa: E402

from qieval.demo import write_demo  # noqa: E402


@pytest.fixture(scope="session")
def io_demo_session(tmp_path_factory) -> Path:
    """The demo written once per session (copied, never edited)."""
    root = tmp_path_factory.mktemp("io_demo")
    write_demo(root)
    return root


@pytest.fixture
def project(tmp_path, monkeypatch, io_demo_session) -> Project:
    """A fresh, writable demo project in ``tmp_path``, which is also the working directory (so
    problems name files as ``data/deprescribing/...``, as a user running ``qieval`` sees them)."""
    root = tmp_path / "project"
    shutil.copytree(io_demo_session, root)
    monkeypatch.chdir(root)
    return Project(root)
