"""Plain helpers for the board-ready tests: axe-core in headless Chromium, and PDF facts
from poppler's ``pdfinfo`` / ``pdftotext`` / ``pdfimages``. No pytest here.

axe-core comes from PyPI's ``axe-playwright-python`` (a test dependency pinned in
``constraints.txt``), which ships ``axe.min.js``; the script text is evaluated in the page, so
nothing is fetched from the network.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

#: WCAG 2.0/2.1/2.2 level A and AA rules (axe-core tags).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")


def axe_script() -> str:
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


def axe_version() -> str:
    m = re.search(r"axe v(\d+\.\d+\.\d+)", axe_script()[:200])
    return m.group(1) if m else "unknown"


def axe_violations(page, tags: list[str] = WCAG_TAGS) -> list[dict]:
    """axe-core's violations on the open page for ``tags`` (every impact)."""
    page.evaluate(axe_script())
    result = page.evaluate("opts => axe.run(document, opts)",
                           {"runOnly": {"type": "tag", "values": tags}, "resultTypes": ["violations"]})
    return result["violations"]


def describe(violations: list[dict], impacts=BLOCKING, nodes: int = 3) -> list[str]:
    """One line per violation of the given impacts: rule, impact, node count and a few targets."""
    out = []
    for v in violations:
        if v.get("impact") in impacts:
            targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:nodes])
            out.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} node(s)): {v['help']} — {targets}")
    return out


# ---- PDFs ---------------------------------------------------------------------------------------

def pdfinfo(pdf: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines()) if v}


def a4_pages(info: dict[str, str]) -> bool:
    """A4 is 595.28 × 841.89 pt; Chromium writes 594.96 × 841.92 (whole device pixels)."""
    m = re.match(r"([\d.]+) x ([\d.]+) pts", info.get("Page size", ""))
    return bool(m) and abs(float(m.group(1)) - 595.28) < 1.5 and abs(float(m.group(2)) - 841.89) < 1.5


def page_texts(pdf: Path) -> list[str]:
    """The text of each page (``pdftotext``; pages are separated by form feeds), whitespace
    collapsed to single spaces."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    pages = out.split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return [" ".join(p.split()) for p in pages]


def raster_images(pdf: Path) -> int:
    """How many raster images the PDF holds (``pdfimages -list``): vector charts add none."""
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return max(0, len(out.strip().splitlines()) - 2)
