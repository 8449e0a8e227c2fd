"""WCAG 2.2 AA for every report type and audience, checked with axe-core in Debian's
headless Chromium (Playwright), the network blocked.

axe-core is PyPI's ``axe-playwright-python`` (pinned in constraints.txt; it bundles ``axe.min.js``,
see :func:`board_helpers.axe_version`), evaluated into the page as script text: nothing is fetched.
Rules: the ``wcag2a, wcag2aa, wcag21a, wcag21aa, wcag22aa`` tags; a serious or critical violation
fails. Pages: the site, network, accreditation and abstract reports (whose sections include the
measure plan) for the evaluator, commissioner and public audiences, the index and a failure page.
Also: one ``<main>``, a skip link as the first focusable element that lands on it, header and
navigation landmarks, every table header cell with a ``scope``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from board_helpers import WCAG_TAGS, axe_version, axe_violations, describe
from test_trust_browser import _open, browser  # noqa: F401 - the module's Chromium fixture, reused

AUDIENCES = ("evaluator", "commissioner", "public")
KINDS = ("network", "accreditation", "abstract", "sites/riverside")


def _audience_pages(board, audience: str) -> list[Path]:
    d = board.project_dir(audience)
    return [d / f"{k}.html" for k in KINDS]


def _failure_page(tmp_path: Path) -> Path:
    """A failure page as the runner writes it (a site whose cell raised)."""
    from qieval.farm.runner import Job, SiteOutcome, failed_page_html

    job = Job("deprescribing", "Deprescribing <demo>", str(tmp_path), "site_report.ipynb", str(tmp_path),
              "riverside", {}, "ab" * 32)
    last_good = tmp_path / "riverside.html"
    last_good.write_text("<!DOCTYPE html><title>x</title>", encoding="utf-8")
    outcome = SiteOutcome("riverside", False, None, tmp_path / "riverside.failed.ipynb", 7,
                          "ValueError: numerator 45 exceeds the denominator 30", "failed", 1.2, "ab" * 32,
                          "2026-12-06 10:00:00 UTC", 7, "report.section('measures')", tmp_path / "riverside.failed.html")
    page = tmp_path / "riverside.failed.html"
    page.write_text(failed_page_html(job, outcome, last_good, ["Traceback …", "ValueError: numerator 45"]),
                    encoding="utf-8")
    return page


def _check(browser, path: Path) -> list[str]:  # noqa: F811 - the fixture's value
    page, context, problems = _open(browser, path)
    try:
        found = describe(axe_violations(page))
        structure = page.evaluate("""() => {
            const out = [];
            const mains = document.querySelectorAll('main');
            if (mains.length !== 1) out.push(`${mains.length} <main> elements`);
            const first = document.querySelector('a[href], button, input, select, textarea, [tabindex]');
            if (!first || !first.classList.contains('skip-link')) out.push('the first focusable element is not a skip link');
            else {
                const target = document.querySelector(first.getAttribute('href'));
                if (!target || target.tagName !== 'MAIN') out.push(`skip link ${first.getAttribute('href')} does not lead to <main>`);
            }
            if (!document.querySelector('header, [role=banner]')) out.push('no header landmark');
            document.querySelectorAll('th').forEach((th, i) => {
                if (!th.getAttribute('scope')) out.push(`th ${i + 1} (${th.textContent.trim().slice(0, 30)}) has no scope`);
            });
            return out.slice(0, 10);
        }""")
        # keyboard: Tab reaches the skip link first, and following it moves focus into <main>
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.className")
        if focused != "skip-link":
            structure.append(f"Tab focuses {focused!r} first, not the skip link")
        else:
            page.keyboard.press("Enter")
            if page.evaluate("location.hash") != "#main":
                structure.append("the skip link does not go to #main")
        return found + structure + problems
    finally:
        context.close()


def test_axe_is_the_bundled_axe_core():
    major, minor, _ = (int(x) for x in axe_version().split("."))
    assert (major, minor) >= (4, 10), f"axe-core {axe_version()} does not know the WCAG 2.2 rules"
    assert "wcag22aa" in WCAG_TAGS


def test_axe_finds_violations_on_a_bad_page(browser, tmp_path):  # noqa: F811
    """The checker itself: low-contrast text, an image without alt text and an unlabelled link
    are reported as serious/critical."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body><main><h1>Bad</h1>'
                   '<p style="color:#bbb;background:#fff">faint text</p><img src="data:image/gif;base64,'
                   'R0lGODlhAQABAAAAACw=" width="20" height="20"><a href="#x"></a></main></body></html>',
                   encoding="utf-8")
    page, context, _ = _open(browser, bad)
    try:
        ids = {v["id"] for v in axe_violations(page) if v["impact"] in ("serious", "critical")}
    finally:
        context.close()
    assert {"color-contrast", "image-alt", "link-name"} <= ids, ids


@pytest.mark.parametrize("audience", AUDIENCES)
def test_reports_have_no_serious_accessibility_violations(browser, board, audience):  # noqa: F811
    problems = []
    for path in _audience_pages(board, audience):
        assert path.is_file(), f"{path} was not rendered"
        problems += [f"{path.relative_to(board.reports)}: {p}" for p in _check(browser, path)]
    assert not problems, f"axe-core {axe_version()}:\n" + "\n".join(problems)


def test_index_and_failure_page_have_no_serious_accessibility_violations(browser, board, tmp_path):  # noqa: F811
    problems = []
    for path in (board.reports / "index.html", _failure_page(tmp_path)):
        problems += [f"{path.name}: {p}" for p in _check(browser, path)]
    assert not problems, f"axe-core {axe_version()}:\n" + "\n".join(problems)


def test_reports_have_a_contents_navigation(board):
    """Long reports get a "Contents" <nav> linking each section (h2) by id."""
    html = (board.project_dir("evaluator") / "network.html").read_text(encoding="utf-8")
    nav = html.split('<nav class="contents" aria-label="Contents">', 1)
    assert len(nav) == 2, "no contents navigation"
    import re

    targets = re.findall(r'<a href="#([^"]+)"', nav[1].split("</nav>", 1)[0])
    sections = re.findall(r'<h2 id="([^"]+)"', html)
    assert len(targets) >= 5 and targets == sections, (targets, sections)
