"""The environment guard fails under CI and skips elsewhere."""

import pytest

from qitest_support import require


def test_missing_prerequisite_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI prerequisite missing: x"):
        require(False, "x")


def test_missing_prerequisite_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require(False, "x")
    require(True, "x")  # present: nothing happens
