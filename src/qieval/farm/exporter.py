"""Executed notebook → self-contained HTML with qieval's own small template.

One :class:`HTMLExporter` is built per process and reused for every site (building it, and
starting a ``jupyter nbconvert`` subprocess, costs about a second each time). The template extends
nbconvert's ``classic/base.html.j2`` without require.js, MathJax or CDN CSS: reports are ~tens of
KiB and load nothing from the network.
"""

from __future__ import annotations

import logging
import os
import re
from functools import lru_cache
from pathlib import Path

import nbformat

TEMPLATES = Path(__file__).parent / "templates"

#: Text nbconvert's HTMLExporter gives an image without alt text (kept, so the result is the same).
MISSING_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)", re.IGNORECASE)


def _report_exporter_class():
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        """nbconvert's HTMLExporter without its BeautifulSoup pass over the rendered page.

        That pass gives images without alt text a placeholder and makes JupyterLab-template cells
        focusable; parsing and re-serialising a report of ~0.3 MB cost ~30 ms of the runner's CPU
        per site, against ~6 ms for the template itself (measured with time.process_time). The
        qieval template has no JupyterLab cells and every qieval figure carries its alt text; an
        ``<img>`` without one still gets nbconvert's placeholder (a regular expression, no parse)
        and a logged warning."""

        def from_notebook_node(self, nb, resources=None, **kw):
            # The set-up of HTMLExporter.from_notebook_node (nbconvert 7), without the soup.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html, missing = _IMG_WITHOUT_ALT.subn(f'<img alt="{MISSING_ALT}"', html)
            if missing:
                logging.getLogger(__name__).warning("Alternative text is missing on %s image(s).", missing)
            return html, resources

    return ReportExporter


@lru_cache(maxsize=1)
def exporter():
    """The cached HTML exporter (inputs, markdown cells and prompts excluded)."""
    exp = _report_exporter_class()(template_name="qieval", extra_template_basedirs=[str(TEMPLATES)])
    exp.exclude_input = True
    exp.exclude_markdown = True  # the notebooks' markdown cells are notes for the analyst, not report text
    exp.exclude_input_prompt = True
    exp.exclude_output_prompt = True
    return exp


def notebook_to_html(nb: nbformat.NotebookNode, title: str) -> str:
    """Render an executed notebook to HTML text."""
    nb.metadata["title"] = title
    body, _ = exporter().from_notebook_node(nb)
    return body


