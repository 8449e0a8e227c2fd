"""notebooks/abstract.ipynb end to end: papermill, then the qieval template → abstract.html
(self-contained, accessible) and abstract.md (the plain text of the abstract)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "abstract.ipynb"


@pytest.fixture(scope="module")
def rendered(demo_root_session, tmp_path_factory):
    import nbformat
    import papermill as pm

    from qieval.farm.exporter import notebook_to_html

    out = tmp_path_factory.mktemp("abstract_nb")
    executed = out / "abstract.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(executed), cwd=str(demo_root_session), progress_bar=False,
                        parameters={"params_path": str(demo_root_session / "params" / "deprescribing.yaml"),
                                    "output_dir": str(out)})
    html = notebook_to_html(nbformat.read(executed, 4), "abstract")
    return out, html


def test_markdown_is_the_abstract(rendered, abstract_report):
    from qieval.report.abstract_report import markdown

    out, _ = rendered
    md = (out / "abstract.md").read_text(encoding="utf-8")
    assert md == markdown(abstract_report)
    assert md.startswith(abstract_report.text.title + "\n\nBackground\n\n")
    assert not list(out.glob(".abstract.md.*"))  # atomic write left no temporary file


def test_html_is_self_contained_and_accessible(rendered, abstract_report):
    _, html = rendered
    assert not re.search(r"""(src|href)=["']https?://""", html)
    imgs = re.findall(r"<img [^>]*>", html)
    assert len(imgs) == 1 and 'src="data:image/svg+xml;base64,' in imgs[0]
    assert re.search(r'alt="[^"]{20,}"', imgs[0])
    for h in ("Abstract", "Number audit", "SQUIRE 2.0 checklist: title and abstract", "Provenance"):
        assert f">{h}</h2>" in html
    assert '<th scope="col">Figure</th>' in html and '<th scope="row">' in html
    assert "37,107" in html and "could not be separated" in html
