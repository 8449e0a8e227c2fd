"""Executed notebook → self-contained HTML with qieval's own small template.

One :class:`HTMLExporter` is built per process and reused for every site (building it, and
starting a ``jupyter nbconvert`` subprocess, costs about a second each time). The template extends
nbconvert's ``classic/base.html.j2`` without require.js, MathJax or CDN CSS: reports are ~tens of
KiB and load nothing from the network.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import nbformat

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def exporter():
    """The cached HTML exporter (inputs and prompts excluded)."""
    from nbconvert import HTMLExporter

    exp = HTMLExporter(template_name="qieval", extra_template_basedirs=[str(TEMPLATES)])
    exp.exclude_input = True
    exp.exclude_input_prompt = True
    exp.exclude_output_prompt = True
    return exp


def notebook_to_html(nb: nbformat.NotebookNode, title: str) -> str:
    """Render an executed notebook to HTML text."""
    nb.metadata["title"] = title
    body, _ = exporter().from_notebook_node(nb)
    return body


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` then move it into place: a crash or Ctrl-C never
    leaves a half-written report over the previous good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
