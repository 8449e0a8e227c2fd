"""The network report's icon matrix at many sites: the summary counts, a complete plain
table without scripting, and find / filter / sort in headless Chromium (Debian's, network blocked)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qieval.config import Measure
from qieval.report.icon_matrix import glance_table, matrix_html
from qieval.report.site_report import ASSURANCE_WORDS, VARIATION_WORDS

UP = Measure(id="up", title="Offered a conversation", type="process", numerator="n", denominator="d", unit="percent",
             improvement_direction="increase", target=50.0)
DOWN = Measure(id="down", title="Minutes per patient", type="balancing", unit="continuous",
               improvement_direction="decrease")

# 30 sites; variation of each site's "up" series cycles through these, "down" is common cause except
# site 7 (concern) and sites 20-29 (no series at all).
CYCLE = ["improvement_high", "common_cause", "concern_low", "", "neutral_high"]
ASSURE = ["pass", "fail", "inconsistent", "", ""]
SITES = [f"s{i:02d}" for i in range(30)]
NAMES = {s: f"Practice {s.upper()}" for s in SITES}


def _tidy() -> pd.DataFrame:
    rows = []
    for i, s in enumerate(SITES):
        rows.append(dict(site_id=s, measure_id="up", variation=CYCLE[i % 5], assurance=ASSURE[i % 5],
                         latest_period=pd.Timestamp("2023-03-01"), latest_value=float(i), target=50.0))
        if i < 20:
            rows.append(dict(site_id=s, measure_id="down", variation="concern_high" if i == 7 else "common_cause",
                             assurance="", latest_period=pd.Timestamp("2023-03-01"), latest_value=10.0 - i / 10,
                             target=np.nan))
    return pd.DataFrame(rows)


def _html() -> str:
    return matrix_html(_tidy(), [UP, DOWN], SITES, NAMES, lambda s, m, v, p: f"{v:.1f}",
                       lambda m, v: f"{v:g}", VARIATION_WORDS, ASSURANCE_WORDS)


def test_glance_counts_by_hand():
    g = glance_table(_tidy(), [UP, DOWN], len(SITES)).set_index("measure_id")
    # "up": 30 sites, 6 of each of the 5 variations in CYCLE; assurance pass/fail/inconsistent 6 each
    assert g.loc["up", ["improving", "common", "concern", "few", "special"]].tolist() == [6, 6, 6, 6, 6]
    assert g.loc["up", ["pass", "fail", "inconsistent", "unjudged"]].tolist() == [6, 6, 6, 12]
    # "down": 19 common cause, 1 concern (site 7), 10 sites without a series count as too few points
    assert g.loc["down", ["improving", "common", "concern", "few", "special"]].tolist() == [0, 19, 1, 10, 0]
    assert not g.loc["down", "targets"]


def test_plain_table_is_complete_and_accessible():
    html = _html()
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    assert body.count("<tr ") == 30
    for s in SITES:  # every site a row header linking to its report
        assert f'<th scope="row"><a href="sites/{s}.html">{NAMES[s]}</a></th>' in body
    assert html.count('<th scope="col">') == 3
    # each distinct icon drawn once as a symbol, cells refer to it; every icon has its meaning as its name
    symbols = re.findall(r'<symbol id="([^"]+)"', html)
    assert len(symbols) == len(set(symbols)) == 4 + 2 + 3  # "up": 4 variations; "down": 2; 3 assurances
    uses = re.findall(r'<svg class="mdc-icon"[^>]*aria-label="([^"]+)"><use href="#([^"]+)"/>', html)
    assert {u for _, u in uses} == set(symbols)
    assert all(label.startswith(("Variation: ", "Assurance: ")) for label, _ in uses)
    # the words are printed too (not only in the icon): e.g. site 2's concern and site 1's failed target
    row2 = re.search(r'<tr data-name="practice s02".*?</tr>', body).group(0)
    assert VARIATION_WORDS["concern_low"] in row2 and ASSURANCE_WORDS["inconsistent"] in row2
    # the tools are hidden until the script shows them; no external loads
    assert re.search(r'<div class="matrix-tools" id="icon-matrix-tools" hidden>', html)
    assert not re.search(r'(src|href)="(https?:)?//', html)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("matrix") / "matrix.html"
    path.write_text("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>m</title></head><body>"
                    + _html() + "</body></html>", encoding="utf-8")
    return path


def _browser():
    from qitest_support import require

    require(CHROMIUM.exists(), "Debian's chromium is not installed at /usr/bin/chromium")
    from playwright import sync_api

    return sync_api


def _visible_rows(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelectorAll('#icon-matrix tbody tr'))"
                         ".filter(r => !r.hidden).map(r => r.getAttribute('data-name'))")


def test_find_filter_and_sort_in_chromium(page_file):
    sync_api = _browser()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"], headless=True)
        try:
            for scripting in (False, True):
                ctx = b.new_context(offline=True, java_script_enabled=scripting)
                page = ctx.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(page_file.as_uri())
                if not scripting:  # a plain, complete table; no dead controls
                    assert not page.locator("#icon-matrix-tools").is_visible()
                    assert len(page.locator("#icon-matrix tbody tr").all()) == 30
                    assert all(r.is_visible() for r in page.locator("#icon-matrix tbody tr").all())
                    ctx.close()
                    continue
                assert page.locator("#icon-matrix-tools").is_visible()
                assert page.locator("#icon-matrix-n").inner_text() == "30 of 30 sites shown"
                page.fill("#icon-matrix-q", "S1")  # s10-s19 (case-insensitive; "s01" does not contain it)
                assert _visible_rows(page) == [f"practice s{i}" for i in range(10, 20)]
                assert page.locator("#icon-matrix-n").inner_text() == "10 of 30 sites shown"
                page.fill("#icon-matrix-q", "")
                page.select_option("#icon-matrix-f", "concern")  # concern_low at i % 5 == 2, and site 7
                want = sorted({f"practice s{i:02d}" for i in range(30) if i % 5 == 2} | {"practice s07"})
                assert sorted(_visible_rows(page)) == want
                page.select_option("#icon-matrix-f", "fail")  # assurance fail at i % 5 == 1
                assert sorted(_visible_rows(page)) == [f"practice s{i:02d}" for i in range(30) if i % 5 == 1]
                page.select_option("#icon-matrix-f", "")
                # sort by the first measure: concerns first (rank 0), then by latest value (= site number)
                page.get_by_role("button", name=UP.title).click()
                assert page.locator("#icon-matrix thead th").nth(1).get_attribute("aria-sort") == "ascending"
                order = _visible_rows(page)
                assert order[:6] == [f"practice s{i:02d}" for i in (2, 7, 12, 17, 22, 27)]
                assert order[-6:] == [f"practice s{i:02d}" for i in (3, 8, 13, 18, 23, 28)]  # too few points last
                page.get_by_role("button", name=UP.title).click()
                assert page.locator("#icon-matrix thead th").nth(1).get_attribute("aria-sort") == "descending"
                order = _visible_rows(page)  # reversed: too few points first, then improvement by value, highest first
                assert set(order[:6]) == {f"practice s{i:02d}" for i in (3, 8, 13, 18, 23, 28)}
                assert order[6:9] == ["practice s25", "practice s20", "practice s15"]
                page.get_by_role("button", name="Site").click()
                assert _visible_rows(page) == [f"practice s{i:02d}" for i in range(30)]
                assert not errors, errors
                ctx.close()
        finally:
            b.close()
