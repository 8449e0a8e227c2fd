"""Shared fixtures for the SPC tests: the public reference data sets in tests/data/reference/."""

from __future__ import annotations

import pandas as pd
import pytest
from qitest_support import REFERENCE_DATA, require


@pytest.fixture(scope="session")
def ref():
    """Return a loader ``ref(name, parse_dates=None)`` for a reference CSV (skips if absent)."""

    def load(name: str, parse_dates: list[str] | None = None) -> pd.DataFrame:
        path = REFERENCE_DATA / name
        require(path.exists(), f"reference data {path} not available")
        return pd.read_csv(path, parse_dates=parse_dates)

    return load
