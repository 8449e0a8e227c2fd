"""self-contained, offline, readable HTML, checked on every page of a fresh render.

"No http:// / https:// resource loads (scripts, styles, fonts, images, MathJax, require.js):
images inline (SVG or data URIs), styles inline. Links to other local reports are relative." And
"Reports are readable: a clear print stylesheet, headings in order (no level skipped), table
headers, text alternatives for every chart, colour-blind-safe palette."

Pages are parsed with :mod:`html.parser` (WCAG 2.2: 1.1.1 non-text content, 1.3.1 info and
relationships, 2.4.6 headings; the colour check is in tests/report).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from trust_helpers import external_resources, heading_problems, structure

from qieval.figures import CATEGORY_COLOURS, MDC_COLOURS

EXPECTED_PAGES = ["index.html", "deprescribing/network.html", "deprescribing/sites/riverside.html",
                  "deprescribing/sites/hillside.html"]


def _pages(rendered) -> list[tuple[str, str]]:
    return [(str(p.relative_to(rendered.reports)), p.read_text(encoding="utf-8")) for p in rendered.html_files()]


def test_the_render_produced_the_expected_pages(rendered):
    names = [n for n, _ in _pages(rendered)]
    missing = [n for n in EXPECTED_PAGES if n not in names]
    assert not missing, f"not rendered: {missing}; rendered: {names}"


def test_no_external_resources(rendered):
    problems = [f"{name}: {r}" for name, html in _pages(rendered) for r in external_resources(html)]
    assert not problems, "\n".join(problems[:40])


def test_no_scripts_and_everything_inline(rendered):
    """No <script> except the network report's one inline script (the icon matrix's find, filter
    and sort; the table is complete without it); every image inline (data: URI); nothing loaded from
    a file beside the page either (no <link> stylesheets/icons, no src/data/poster pointing at a
    file, so no <script src>)."""
    problems = []
    for name, html in _pages(rendered):
        s = structure(html)
        allowed = 1 if name.endswith("network.html") else 0
        if s.scripts > allowed:
            problems.append(f"{name}: {s.scripts} <script> element(s)")
        problems += [f"{name}: <img src={i.get('src', '')[:60]!r}> is not inline" for i in s.imgs
                     if not i.get("src", "").startswith("data:image/")]
        problems += [f"{name}: <{tag} {k}={v[:60]!r}> loads a resource" for tag, k, v in s.urls
                     if (tag == "link" or k in ("src", "data", "poster", "srcset", "background"))
                     and not v.startswith("data:")]
    assert not problems, "\n".join(problems)


def test_links_between_reports_are_relative_and_resolve(rendered):
    problems = []
    for p in rendered.html_files():
        for href in structure(p.read_text(encoding="utf-8")).links:
            u = urlsplit(href)
            if u.scheme in ("mailto", "data") or href.startswith("#"):
                continue
            if u.scheme or u.netloc or href.startswith("/"):
                problems.append(f"{p.relative_to(rendered.reports)}: {href!r} is not relative")
                continue
            target = (p.parent / unquote(u.path)).resolve()
            if not target.exists():
                problems.append(f"{p.relative_to(rendered.reports)}: {href!r} → missing {target.name}")
    assert not problems, "\n".join(problems[:40])


def test_headings_in_order(rendered):
    problems = [f"{name}: {h}" for name, html in _pages(rendered) for h in heading_problems(structure(html).headings)]
    assert not problems, "\n".join(problems)


def test_every_table_has_header_cells(rendered):
    problems = []
    for name, html in _pages(rendered):
        for i, t in enumerate(structure(html).tables, 1):
            if not t["th"]:
                problems.append(f"{name}: table {i} has no <th>")
    assert not problems, "\n".join(problems)


def test_every_chart_has_a_text_alternative(rendered):
    problems = []
    for name, html in _pages(rendered):
        s = structure(html)
        problems += [f"{name}: <img> without alt text" for i in s.imgs if not i.get("alt", "").strip()]
        problems += [f"{name}: inline <svg> {k} without <title> or aria-label" for k, v in enumerate(s.svgs, 1)
                     if not v["labelled"] and not v["hidden"]]
    assert not problems, "\n".join(problems[:40])


def test_report_pages_have_a_print_stylesheet(rendered):
    """Notebook-rendered reports carry the template's print rules: A4 page, headings kept with
    their content, table headers repeated on each page, RESTRICTED marking on every page (the
    margin of the "restricted" page type; tests/trust/test_trust_pdf.py reads it off each page)."""
    for name, html in _pages(rendered):
        if name.startswith("index"):  # index.html and index-<audience>.html list reports
            continue
        css = "".join(structure(html).styles)
        assert "@media print" in css, f"{name}: no print stylesheet"
        for rule in ("@page", "break-after: avoid", "table-header-group", "print-color-adjust: exact"):
            assert rule in css, f"{name}: print stylesheet lacks {rule!r}"
        published = re.search(r'data-audience="(commissioner|public)"', html[:2000])
        for rule in ("@page restricted", "body.restricted-copy { page: restricted; }"):
            assert (rule in css) != bool(published), \
                f"{name}: {rule!r} {'in a published' if published else 'missing from a restricted'} copy"


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"}


def test_palette_is_colour_blind_safe():
    """Category colours are Okabe–Ito; MDC point colours are told apart by shape too, and each
    has at least 3:1 contrast on white (WCAG 1.4.11 non-text contrast)."""
    assert {c.upper() for c in CATEGORY_COLOURS.values()} <= OKABE_ITO
    for name, colour in MDC_COLOURS.items():
        contrast = 1.05 / (_luminance(colour) + 0.05)
        assert contrast >= 3.0, f"{name} {colour}: contrast {contrast:.2f} on white"


def test_the_checks_catch_bad_pages():
    """The checkers themselves, on a page that breaks every rule."""
    bad = ("<html><head><link rel='stylesheet' href='https://cdn.example/x.css'>"
           "<style>@import url('//fonts.example/f.css'); body{background:url(http://x/y.png)}</style>"
           "<script src='https://cdn.jsdelivr.net/npm/mathjax@3'></script></head><body>"
           "<h2>Starts at h2</h2><h4>skips h3</h4><img src='chart.png'><table><tr><td>1</td></tr></table>"
           "<svg><path d='M0 0'/></svg></body></html>")
    assert len(external_resources(bad)) == 4
    assert len(heading_problems(structure(bad).headings)) == 2
    s = structure(bad)
    assert s.scripts == 1 and s.tables == [{"th": 0, "caption": False}]
    assert s.imgs == [{"src": "chart.png"}] and s.svgs == [{"labelled": False, "hidden": False}]
    good = "<h1>a</h1><h2>b</h2><h3>c</h3><h2>d</h2><h1>e</h1>"
    assert heading_problems(structure(good).headings) == []
