""""Tests open each report type (site, network, accreditation, abstract, the index) in
headless Chromium from Debian's packages, with the network blocked: no console errors, no failed
requests, key sections visible, a screenshot saved under the pytest temp dir."

Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright's Python package (never a
downloaded browser). Every request that is not ``file:`` or ``data:`` is aborted, and an aborted
request is a failed request, so a page that tries to load anything from the network fails.
Report types the runner does not produce fail, naming the missing file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from qitest_support import require

CHROMIUM = Path("/usr/bin/chromium")
require(CHROMIUM.exists(), "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
        module_level=True)
from playwright import sync_api  # noqa: E402 - a test dependency (pyproject [test])

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-default-apps", "--disable-sync", "--no-default-browser-check"]

#: report type → (glob under reports/, headings that must be visible)
REPORTS = {
    "site": ("deprescribing/sites/riverside.html",
             ["Aim", "Measures: baseline vs intervention", "Charts: statistical process control", "PDSA cycles",
              "Provenance"]),
    "network": ("deprescribing/network.html",
                ["Aim", "Icon matrix", "Network charts: statistical process control", "Sites compared: funnel plots",
                 "Provenance"]),
    "accreditation": ("**/accreditation*.html", []),
    "abstract": ("**/abstract*.html", []),
    "index": ("index.html", []),
}
RESTRICTED = "RESTRICTED: evaluator copy"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _find(reports: Path, pattern: str) -> Path | None:
    hits = sorted(p for p in reports.glob(pattern) if not p.name.startswith(".") and ".failed." not in p.name)
    return hits[0] if hits else None


def _open(browser, path: Path):
    """A page with the network blocked; returns (page, context, problems list filled as it loads)."""
    context = browser.new_context(offline=True, java_script_enabled=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            problems.append(f"blocked network request: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    response = page.goto(path.as_uri(), wait_until="load")
    assert response is None or response.ok, f"{path}: {response.status if response else ''}"
    page.wait_for_load_state("networkidle")
    return page, context, problems


@pytest.mark.parametrize("kind", list(REPORTS))
def test_report_in_headless_chromium(browser, rendered, kind, tmp_path):
    pattern, headings = REPORTS[kind]
    path = _find(rendered.reports, pattern)
    assert path is not None, f"no {kind} report rendered: reports/{pattern} is absent"
    page, context, problems = _open(browser, path)
    try:
        assert page.title().strip(), f"{kind}: empty <title>"
        assert page.locator("h1").first.is_visible(), f"{kind}: no visible h1"
        for h in headings:
            loc = page.locator("h2", has_text=h).first
            assert loc.count() and loc.is_visible(), f"{kind}: section {h!r} not visible"
        broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                               ".map(i => (i.alt || i.src).slice(0, 80))")
        assert not broken, f"{kind}: images that did not render: {broken}"
        if kind != "index":
            assert page.get_by_text(RESTRICTED).first.is_visible() or "data-audience=\"commissioner\"" in \
                path.read_text(encoding="utf-8") or "data-audience=\"public\"" in path.read_text(encoding="utf-8"), \
                f"{kind}: neither a RESTRICTED banner nor a commissioner/public copy"
        shot = tmp_path / f"{kind}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000
        print(f"{kind}: screenshot {shot}")
        assert not problems, f"{kind}: " + "\n".join(problems)
    finally:
        context.close()


def test_print_view_opens_collapsed_blocks_and_repeats_the_marking(browser, rendered, tmp_path):
    """Commissioners print: in print media the diagnostics (<details>) are open, the page prints
    on the "restricted" page type (whose margin repeats the RESTRICTED marking) and a PDF made
    from it carries the marking on every page."""
    page, context, problems = _open(browser, rendered.site_html)
    try:
        shown = ("Array.from(document.querySelectorAll('details')).map(d => {"
                 " const c = d.querySelector(':scope > :not(summary)'); return c ? c.checkVisibility() : null })")
        screen = page.evaluate(shown)
        assert screen and not any(screen), f"details not collapsed on screen: {screen}"
        page.emulate_media(media="print")
        printed = page.evaluate(shown)
        assert all(printed), f"collapsed blocks not shown in print: {printed}"
        assert page.evaluate("getComputedStyle(document.body).page") == "restricted"
        pdf = tmp_path / "site.pdf"
        page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
        from board_helpers import page_texts

        pages = page_texts(pdf)
        unmarked = [i for i, text in enumerate(pages, 1) if RESTRICTED not in text]
        assert len(pages) > 1 and not unmarked, f"pages without {RESTRICTED!r}: {unmarked} of {len(pages)}"
        assert not problems, problems
    finally:
        context.close()
