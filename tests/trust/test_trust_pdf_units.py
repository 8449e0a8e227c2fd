"""Board-ready outputs, quick checks without a project render: hostile titles in the print CSS, the contents
navigation, and PDF failures as one line that leave the previous PDF alone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from board_helpers import page_texts
from qitest_support import require

from qieval.farm.exporter import CONTENTS_MARK, add_contents, css_string
from qieval.farm.pdf import PdfError, PdfJob, chromium_path, print_pdfs


def _css_unescape(s: str) -> str:
    assert s.startswith('"') and s.endswith('"')
    return re.sub(r"\\([0-9a-f]{1,6}) ", lambda m: chr(int(m.group(1), 16)), s[1:-1])


@pytest.mark.parametrize("title", ['Plain: network', 'Quote " and \\ back', '</style><script>x()</script>',
                                   "Line\nbreak", "Ünïcode — ✓ 😀", "a\\22 b"])
def test_css_string_cannot_escape_its_string_or_the_style(title):
    s = css_string(title)
    inner = s[1:-1]
    assert '"' not in inner and "<" not in inner and "\n" not in inner
    assert not re.search(r"\\(?![0-9a-f]{1,6} )", inner), "a backslash that is not a hex escape"
    assert _css_unescape(s) == title


def test_contents_nav_links_every_section():
    html = (f"<body>{CONTENTS_MARK}<main><h1>T</h1><h2>Aim</h2><p>x</p><h2 class='k'>Measures &amp; "
            "<em>charts</em></h2><h2 id=\"own\">Provenance</h2></main></body>")
    out = add_contents(html)
    assert CONTENTS_MARK not in out
    assert '<nav class="contents" aria-label="Contents"><ol><li><a href="#sec-1">Aim</a></li>' \
           '<li><a href="#sec-2">Measures &amp; charts</a></li><li><a href="#own">Provenance</a></li></ol></nav>' in out
    assert '<h2 id="sec-1">Aim</h2>' in out and "<h2 id=\"sec-2\" class='k'>" in out
    assert add_contents("<main><h2>x</h2></main>") == "<main><h2>x</h2></main>"  # no mark: untouched
    assert add_contents(f"{CONTENTS_MARK}<main><h1>only</h1></main>") == "<main><h1>only</h1></main>"


def test_missing_chromium_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("QIEVAL_CHROMIUM", str(tmp_path / "nowhere" / "chromium"))
    with pytest.raises(PdfError) as err:
        chromium_path()
    msg = str(err.value)
    assert "\n" not in msg and "chromium not found" in msg and "apt-get install chromium" in msg
    job = PdfJob(tmp_path / "a.html", tmp_path / "a.pdf")
    assert print_pdfs([job]) == [(job, msg)]


def test_a_page_that_cannot_print_keeps_the_previous_pdf(tmp_path):
    require(Path("/usr/bin/chromium").exists(), "Debian's chromium is not installed")
    good = tmp_path / "report.html"
    good.write_text("<!DOCTYPE html><html><head><title>t</title><style>@media print { @page { size: A4; margin: 15mm; "
                    "@bottom-right { content: 'Page ' counter(page) ' of ' counter(pages); } } }</style></head>"
                    "<body><main><h1>Report</h1><p>Hillside Surgery</p></main></body></html>", encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    ((job, error),) = print_pdfs([PdfJob(good, pdf)])
    assert error is None and pdf.read_bytes()[:5] == b"%PDF-"
    assert page_texts(pdf) == ["Report Hillside Surgery Page 1 of 1"]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "A4" in info
    before = pdf.read_bytes()
    # the same target from a page that is not a report, and from a file that does not exist
    bad = tmp_path / "not-a-report.html"
    bad.write_text("<html><body>no print stylesheet</body></html>", encoding="utf-8")
    results = print_pdfs([PdfJob(bad, pdf), PdfJob(tmp_path / "missing.html", pdf)])
    errors = [e for _, e in results]
    assert "not a qieval report page" in errors[0] and "cannot read the HTML" in errors[1]
    assert all(e and "\n" not in e and "Traceback" not in e for e in errors)
    assert pdf.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-report.html", "report.html", "report.pdf"]
