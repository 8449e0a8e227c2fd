"""The demo abstract, prepared once per session (the network results take a few seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def abstract_report(demo_root_session, tmp_path_factory):
    from qieval.report.abstract_report import prepare

    out = tmp_path_factory.mktemp("abstract_out")
    return prepare(demo_root_session / "params" / "deprescribing.yaml", out)
