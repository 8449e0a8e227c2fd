"""Executed notebook → self-contained HTML with qieval's own small template.

One :class:`HTMLExporter` is built per process and reused for every site (building it, and
starting a ``jupyter nbconvert`` subprocess, costs about a second each time). The template extends
nbconvert's ``classic/base.html.j2`` without require.js, MathJax or CDN CSS: reports are ~tens of
KiB and load nothing from the network.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import nbformat

TEMPLATES = Path(__file__).parent / "templates"

_CSS_SAFE = re.compile(r"[A-Za-z0-9 .,:;()_\-–—·'&]")
_H2 = re.compile(r"<h2(\s[^>]*)?>(.*?)</h2>", re.IGNORECASE | re.DOTALL)
_ID = re.compile(r"\bid=\"([^\"]+)\"")
_TAGS = re.compile(r"<[^>]+>")
CONTENTS_MARK = "<!--qieval:contents-->"


def css_string(text) -> str:
    """``text`` as a quoted CSS string (for ``content:`` in the print margins): every character
    outside a small safe set as a CSS hex escape, so no title can end the string or the style."""
    return '"' + "".join(c if _CSS_SAFE.fullmatch(c) else f"\\{ord(c):x} " for c in str(text)) + '"'


def add_contents(html: str) -> str:
    """Give each ``<h2>`` an id (``sec-1`` … unless it has one) and put a "Contents" ``<nav>``
    linking them where the template left :data:`CONTENTS_MARK` (nothing when there are none)."""
    if CONTENTS_MARK not in html:
        return html
    items: list[tuple[str, str]] = []

    def number(m: re.Match) -> str:
        attrs, inner = m.group(1) or "", m.group(2)
        found = _ID.search(attrs)
        hid = found.group(1) if found else f"sec-{len(items) + 1}"
        items.append((hid, " ".join(_TAGS.sub("", inner).split())))
        return m.group(0) if found else f'<h2 id="{hid}"{attrs}>{inner}</h2>'

    html = _H2.sub(number, html)
    nav = ('<nav class="contents" aria-label="Contents"><ol>'
           + "".join(f'<li><a href="#{h}">{t}</a></li>' for h, t in items if t) + "</ol></nav>") if items else ""
    return html.replace(CONTENTS_MARK, nav, 1)


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
    exp.register_filter("css_string", css_string)
    return exp


def notebook_to_html(nb: nbformat.NotebookNode, title: str) -> str:
    """Render an executed notebook to HTML text."""
    nb.metadata["title"] = title
    body, _ = exporter().from_notebook_node(nb)
    return add_contents(body)


