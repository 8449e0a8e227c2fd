"""The report template's audience marking: evaluator copies, and any copy whose audience
is not stated, say "RESTRICTED: evaluator copy, contains unsuppressed small numbers" at the top
and, in print, on every page; commissioner/public copies carry no banner. The template reads the
notebook parameter ``audience`` (papermill metadata) or ``nb.metadata.qieval.audience``."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from trust_helpers import audience_of

from qieval.disclosure import RESTRICTED_TEXT
from qieval.farm.exporter import notebook_to_html


@pytest.fixture(scope="module")
def executed(rendered):
    return nbformat.read(rendered.site_html.with_suffix(".ipynb"), as_version=4)


def _render(nb, *, parameter: str | None = None, metadata: str | None = None) -> str:
    nb = copy.deepcopy(nb)
    if parameter is not None:
        nb.metadata.setdefault("papermill", {}).setdefault("parameters", {})["audience"] = parameter
    if metadata is not None:
        nb.metadata["qieval"] = {"audience": metadata}
    return notebook_to_html(nb, "Audience test")


@pytest.mark.parametrize("how", ["parameter", "metadata"])
@pytest.mark.parametrize("audience", ["commissioner", "public"])
def test_commissioner_and_public_copies_are_unmarked(executed, how, audience):
    html = _render(executed, **{how: audience})
    assert RESTRICTED_TEXT not in html
    assert f'data-audience="{audience}"' in html
    assert audience_of(Path("x.html"), html) == audience


@pytest.mark.parametrize("audience", ["evaluator", None])
def test_evaluator_and_unstated_copies_are_marked(executed, audience):
    html = _render(executed, parameter=audience) if audience else _render(executed)
    head, body = html.split("</head>", 1)
    assert body.count(RESTRICTED_TEXT) == 1
    assert 'class="restricted-copy"' in html
    assert head.count(RESTRICTED_TEXT) == 1 and "@page restricted" in head, "no marking in the printed page margins"
    assert body.index(RESTRICTED_TEXT) < body.index("<h1"), "the marking comes before the report"


def test_injected_parameters_cell_is_left_out(executed):
    """Papermill gives the injected cell a new random id each run; it has no visible output."""
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    html = _render(executed)
    assert "injected-parameters" not in html
