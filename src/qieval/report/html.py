"""Small HTML building blocks for report sections (escaped text, tables with headers).

Sections are returned as :class:`Html` objects, which notebooks display directly (they have
``_repr_html_``), so notebooks stay one call per cell.
"""

from __future__ import annotations

from html import escape
from typing import Iterable



class Html(str):
    """A string of trusted HTML that Jupyter displays as HTML.

    The plain-text form is a short placeholder, so executed notebooks do not store every section
    twice (as HTML and again as the repr of the string)."""

    def _repr_html_(self) -> str:
        return str(self)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython's plain-text form
        p.text(f"<qieval report section: {len(self):,} characters of HTML>")


def heading(text: str, level: int = 2, anchor: str | None = None) -> str:
    """An escaped ``<hN>`` heading, with ``id=anchor`` when given."""
    ident = f' id="{escape(anchor)}"' if anchor else ""
    return f"<h{level}{ident}>{escape(text)}</h{level}>"


def para(text: str, cls: str | None = None) -> str:
    """An escaped ``<p>`` paragraph, with ``class=cls`` when given."""
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{escape(text)}</p>"


def table(header: list[str], rows: Iterable[list[str]], caption: str | None = None,
          row_header: bool = True, cls: str = "qi-table") -> str:
    """Accessible table: caption, ``<th scope="col">`` headers, first cell as row header."""
    out = [f'<table class="{cls}">']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in header) + "</tr></thead><tbody>")
    for r in rows:
        cells = []
        for j, c in enumerate(r):
            if j == 0 and row_header:
                cells.append(f'<th scope="row">{escape(str(c))}</th>')
            else:
                cells.append(f"<td>{escape(str(c))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def definition_list(items: list[tuple[str, str]]) -> str:
    """An escaped ``<dl>`` of (term, description) pairs."""
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items) + "</dl>"
