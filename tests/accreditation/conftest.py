"""Fixtures for the accreditation tests."""

import pytest

from accreditation_helpers import small_framework
from qieval.io.standards import Framework


@pytest.fixture
def framework() -> Framework:
    return small_framework()
