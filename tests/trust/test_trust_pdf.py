"""PDF copies for boards, checked with poppler (``pdfinfo``, ``pdftotext``, ``pdfimages``,
``pdftoppm``; Debian's ``poppler-utils``) on a real ``qieval run --pdf-sites`` for each audience.

"A4, page numbers, the title and audience on every page (the RESTRICTED banner repeated on evaluator
copies), table rows never split across pages, charts as vectors, the status colours kept in print.
Disclosure policy applies to PDFs exactly as to HTML." And "page count, the site names, the banner
text on every page of a restricted copy, no counts 1–7 in public copies".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from board_helpers import a4_pages, page_texts, pdfinfo, raster_images
from qitest_support import require

from qieval.disclosure import RESTRICTED_TEXT, DisclosurePolicy, scan_for_small_counts

require(all(shutil.which(t) for t in ("pdfinfo", "pdftotext", "pdfimages", "pdftoppm")),
        "poppler-utils is not installed (apt-get install poppler-utils)", module_level=True)
require(Path("/usr/bin/chromium").exists(), "Debian's chromium is not installed (apt-get install chromium)",
        module_level=True)

PROJECT, SITE = "deprescribing", "riverside"
RUN = [sys.executable, "-m", "qieval.cli", "run", f"params/{PROJECT}.yaml", "--quiet"]
RENDER_TIMEOUT = 240
AUDIENCES = ("evaluator", "commissioner", "public")
LABEL = {"evaluator": "Evaluator copy: RESTRICTED", "commissioner": "Commissioner copy", "public": "Public copy"}
PROJECT_PDFS = ("network", "accreditation", "abstract")
MAX_PAGES = 80  # a plausible report: the demo's longest is about 20 pages
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
PAGE_OF = re.compile(r"Page \d+ of \d+")


class _Text(HTMLParser):
    """Every text node of a page except inside <style>/<script>: a superset of what can print."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(" ".join(p.parts).split())


SVG_IMAGE = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")


def printable_text(html: str) -> str:
    """The page's text and the text inside its SVG images (chart ticks and labels) — everything a
    print of the page can show as text."""
    import base64

    charts = [html_text(base64.b64decode(b).decode("utf-8")) for b in SVG_IMAGE.findall(html)]
    return " ".join([html_text(html), *charts])


def numbers(text: str) -> set[str]:
    """Number tokens; hyphens dropped first (pdftotext joins "2022-05-" + "03" wrapped in a table
    cell as "202205-03", so dates compare as 20220503 on both sides)."""
    return set(NUMBER.findall(text.replace("-", "")))


def _pdfs(board, audience: str) -> dict[str, Path]:
    d = board.project_dir(audience)
    found = {p.stem: p for p in d.glob("*.pdf")}
    found.update({f"sites/{p.stem}": p for p in (d / "sites").glob("*.pdf")})
    return found


def _html_reports(board, audience: str) -> list[str]:
    d = board.project_dir(audience)
    names = [p.stem for p in d.glob("*.html") if not p.name.startswith(".") and ".failed." not in p.name]
    return names + [f"sites/{p.stem}" for p in (d / "sites").glob("*.html")
                    if not p.name.startswith(".") and ".failed." not in p.name]


def _site_names(board) -> dict[str, str]:
    import csv

    with open(board.root / "data" / PROJECT / "sites.csv", encoding="utf-8-sig") as f:
        return {r["site_id"]: r["site_name"] for r in csv.DictReader(f)}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pdf_run_succeeds_and_every_report_has_a_pdf(board, audience):
    run = board.runs[audience]
    assert run.returncode == 0, f"qieval run --pdf-sites --audience {audience}: {run.returncode}\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr
    pdfs = _pdfs(board, audience)
    missing = [n for n in _html_reports(board, audience) if n not in pdfs]
    assert not missing, f"{audience}: HTML reports without a PDF copy: {missing}"
    assert set(PROJECT_PDFS) <= set(pdfs), f"{audience}: {sorted(pdfs)}"
    assert len([n for n in pdfs if n.startswith("sites/")]) == len(_site_names(board))


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pdf_pages_a4_numbered_titled_and_marked(board, audience):
    """A4 on every page, "Page i of n" on page i, the report's title and the audience on every
    page; evaluator copies carry the full RESTRICTED text on every page, other copies never."""
    problems = []
    for name, pdf in sorted(_pdfs(board, audience).items()):
        info = pdfinfo(pdf)
        n = int(info["Pages"])
        if not 1 <= n <= MAX_PAGES:
            problems.append(f"{name}: {n} pages")
        sizes = subprocess.run(["pdfinfo", "-f", "1", "-l", str(n), str(pdf)], capture_output=True, text=True,
                               check=True).stdout
        not_a4 = [ln for ln in sizes.splitlines() if re.match(r"Page\s+\d+ size:", ln)
                  and not a4_pages({"Page size": ln.split("size:")[1].strip()})]
        if not a4_pages(info) or not_a4:
            problems.append(f"{name}: not A4: {info.get('Page size')} {not_a4[:2]}")
        if info.get("Tagged") != "yes":
            problems.append(f"{name}: not a tagged PDF")
        title = " ".join(html_text(re.search(r"<title>(.*?)</title>", pdf.with_suffix(".html").read_text(
            encoding="utf-8"), re.S).group(1)).split())
        pages = page_texts(pdf)
        if len(pages) != n:
            problems.append(f"{name}: pdftotext found {len(pages)} pages, pdfinfo {n}")
        for i, text in enumerate(pages, 1):
            for want in (f"Page {i} of {n}", title, LABEL[audience]):
                if want not in text:
                    problems.append(f"{name} page {i}: {want!r} missing")
            if audience == "evaluator" and RESTRICTED_TEXT not in text:
                problems.append(f"{name} page {i}: no RESTRICTED banner")
            if audience != "evaluator" and "RESTRICTED" in text:
                problems.append(f"{name} page {i}: a {audience} copy marked RESTRICTED")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pdfs_name_the_sites(board, audience):
    names = _site_names(board)
    pdfs = _pdfs(board, audience)
    problems = []
    for stem in ("network", "accreditation"):
        text = " ".join(page_texts(pdfs[stem]))
        problems += [f"{stem}: {n!r} missing" for n in names.values() if n not in text]
    for site, name in names.items():
        if name not in " ".join(page_texts(pdfs[f"sites/{site}"])):
            problems.append(f"sites/{site}: its name {name!r} missing")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("audience", ["commissioner", "public"])
def test_disclosure_applies_to_pdfs_as_to_html(board, audience):
    """No counts 1–7 in commissioner/public copies: the HTML each PDF is printed from passes the
    disclosure scan, and the PDF shows no number its HTML does not (so it cannot show a count the
    HTML suppressed); page furniture ("Page i of n") aside."""
    threshold = DisclosurePolicy().threshold
    problems = []
    for name, pdf in sorted(_pdfs(board, audience).items()):
        html = pdf.with_suffix(".html").read_text(encoding="utf-8")
        assert f'data-audience="{audience}"' in html[:2000], f"{name}: the PDF's HTML is not the {audience} copy"
        problems += [f"{name}.html: {f}" for f in scan_for_small_counts(html, threshold)]
        allowed = numbers(printable_text(html))
        shown = numbers(PAGE_OF.sub(" ", " ".join(page_texts(pdf))))
        extra = sorted(shown - allowed)
        if extra:
            problems.append(f"{name}.pdf: numbers not in its HTML: {extra[:20]}")
    assert not problems, "\n".join(problems[:40])


def test_public_pdf_differs_from_the_evaluator_pdf_where_counts_are_small(board):
    """The check above could pass vacuously if the demo had no small counts: the evaluator network
    PDF shows numbers the public one does not (suppressed or rounded)."""
    ev = set(NUMBER.findall(" ".join(page_texts(_pdfs(board, "evaluator")["network"]))))
    pub = set(NUMBER.findall(" ".join(page_texts(_pdfs(board, "public")["network"]))))
    assert ev - pub, "the public network PDF shows every number of the evaluator copy"


@pytest.mark.parametrize("audience", AUDIENCES)
def test_charts_stay_vectors(board, audience):
    """The figures are SVG in the HTML and no raster image appears in any PDF."""
    pdfs = _pdfs(board, audience)
    html = pdfs["sites/" + SITE].with_suffix(".html").read_text(encoding="utf-8")
    assert html.count("<svg") + html.count("data:image/svg+xml") >= 4, "the site report has no SVG charts"
    rasters = {n: k for n, p in pdfs.items() if (k := raster_images(p))}
    assert not rasters, f"raster images in PDFs: {rasters}"


def _has_colour(ppm: bytes, rgb: tuple[int, int, int], tol: int = 6) -> bool:
    """Whether a binary PPM (P6) holds a pixel within ``tol`` of ``rgb``."""
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", ppm)
    data = memoryview(ppm)[m.end():]
    r, g, b = rgb
    for i in range(0, len(data) - 2, 3):
        if abs(data[i] - r) <= tol and abs(data[i + 1] - g) <= tol and abs(data[i + 2] - b) <= tol:
            return True
    return False


def test_status_colours_kept_in_print(board, tmp_path):
    """The accreditation matrix's RAG backgrounds (green #C8E6C9 "met", red #F8BBD0 "not met")
    survive printing (print-color-adjust: exact); without it Chromium drops backgrounds."""
    from qieval.report.accreditation_report import RAG

    pdf = _pdfs(board, "evaluator")["accreditation"]
    text = page_texts(pdf)
    page = next(i for i, t in enumerate(text, 1) if "met" in t and "→" in t)
    subprocess.run(["pdftoppm", "-r", "40", "-f", str(page), "-l", str(page), str(pdf), str(tmp_path / "p")],
                   check=True)
    ppm = next(tmp_path.glob("p*.ppm")).read_bytes()
    for name in ("green", "red"):
        hexa = RAG[name][0].lstrip("#")
        assert _has_colour(ppm, tuple(int(hexa[i:i + 2], 16) for i in (0, 2, 4))), \
            f"{name} {RAG[name][0]} not found on page {page} of {pdf.name}"


def test_pdf_lists_in_the_index(board):
    """Every PDF is linked from an index page (one index per audience, or one for all)."""
    index = " ".join(p.read_text(encoding="utf-8") for p in board.reports.glob("index*.html"))
    for audience in AUDIENCES:
        rel = board.project_dir(audience).relative_to(board.reports).as_posix()
        for stem in PROJECT_PDFS:
            assert f'href="{rel}/{stem}.pdf">PDF</a>' in index, f"index has no link to {rel}/{stem}.pdf"
        assert f'href="{rel}/sites/{SITE}.pdf">PDF</a>' in index


def test_a_pdf_failure_is_one_line_and_keeps_html_and_the_last_pdf(board, tmp_path):
    """Chromium missing: exit 1 with one clear line (no traceback); the site's HTML is rendered and
    its previous PDF is left byte for byte."""
    root = tmp_path / "project"
    shutil.copytree(board.root, root)
    site_dir = root / "reports" / PROJECT / "sites"
    before = (site_dir / f"{SITE}.pdf").read_bytes()
    html_before = (site_dir / f"{SITE}.html").stat().st_mtime_ns
    env = {**os.environ, "QIEVAL_CHROMIUM": str(tmp_path / "no-chromium")}
    run = subprocess.run([*RUN, "--sites", SITE, "--no-project-reports", "--force", "--pdf-sites"], cwd=root,
                         env=env, capture_output=True, text=True, timeout=RENDER_TIMEOUT)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("PDF not written:")]
    assert len(lines) == 1 and "chromium not found" in lines[0] and "no-chromium" in lines[0], run.stderr
    assert (site_dir / f"{SITE}.html").stat().st_mtime_ns > html_before, "the HTML was not rendered"
    assert (site_dir / f"{SITE}.pdf").read_bytes() == before, "the last good PDF was replaced"
    assert not list(site_dir.glob(".*.tmp")), "a temporary file was left behind"
    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert "(PDF failed)" in index


def test_outputs_in_params_ask_for_pdfs(board, tmp_path):
    """``outputs: [html, pdf]`` in the params is the same as ``--pdf`` (project-level reports only;
    a site PDF left from an earlier run is listed as such); ``outputs`` without html is a params
    error at its line."""
    root = tmp_path / "project"
    shutil.copytree(board.root, root)
    params = root / "params" / f"{PROJECT}.yaml"
    text = params.read_text(encoding="utf-8").rstrip("\n") + "\n"
    params.write_text(text + "outputs: [pdf]\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "qieval.cli", "validate", f"params/{PROJECT}.yaml"], cwd=root,
                         capture_output=True, text=True, timeout=120)
    line = len(text.splitlines()) + 1
    assert bad.returncode == 2 and "outputs must include html" in bad.stderr, bad.stderr
    assert re.search(rf"{PROJECT}\.yaml:{line}\b", bad.stderr), bad.stderr
    assert "Traceback" not in bad.stderr
    params.write_text(text + "outputs: [html, pdf]\n", encoding="utf-8")
    network_pdf = root / "reports" / PROJECT / "network.pdf"
    network_pdf.unlink()
    run = subprocess.run([*RUN, "--sites", SITE], cwd=root, capture_output=True, text=True, timeout=RENDER_TIMEOUT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert network_pdf.read_bytes()[:5] == b"%PDF-"
    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert f'href="{PROJECT}/sites/{SITE}.pdf">PDF (from an earlier run)</a>' in index
