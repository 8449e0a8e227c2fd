"""PDF copies of rendered reports: the audience's own self-contained HTML printed by Chromium.

The route is Playwright driving Debian's ``chromium`` (``page.pdf()``), the engine nbconvert's
``webpdf`` exporter uses. The exporter itself is not used: in nbconvert 7.17 it launches
Playwright's *downloaded* browser (no executable path; ``--allow-chromium-download`` fetches one,
which a machine without internet cannot), re-renders the notebook through HTMLExporter's default
template and offers no page header/footer. Printing the HTML file the farm already wrote keeps one
template and guarantees that a PDF shows exactly what that audience's HTML shows (the disclosure
policy is applied once, in the notebook).

Each PDF: A4, the report title and audience at the top of every page, "Page N of M" at the
bottom, the RESTRICTED marking on every page of evaluator copies (all CSS margin boxes of the
template's ``@page`` rules, so browser print and PDF agree), status colours kept
(``print-color-adjust: exact``), SVG charts kept as vectors, tagged (headings, tables) with an
outline, nothing loaded from the network (every request that is not ``file:``/``data:`` is aborted).
Written with :func:`qieval.format.write_atomic`: a failure never replaces a good PDF.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..format import write_atomic

#: Browser flags for a headless print in a container (no sandbox: root in CI), nothing phoned home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-default-apps", "--disable-sync",
                 "--no-default-browser-check"]
RENDER_TIMEOUT_MS = 60_000



class PdfError(RuntimeError):
    """A PDF could not be made; the message is one line naming the file and the reason."""


def chromium_path() -> Path:
    """Debian's chromium: ``$QIEVAL_CHROMIUM``, else ``chromium`` on the PATH, else
    ``/usr/bin/chromium``. Raises :class:`PdfError` when none exists."""
    named = os.environ.get("QIEVAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    path = Path(named)
    if not path.is_file():
        raise PdfError(f"chromium not found at {path}: install Debian's 'chromium' package "
                       f"(apt-get install chromium) or set QIEVAL_CHROMIUM to its path")
    return path


@dataclass
class PdfJob:
    html: Path
    pdf: Path


class PdfPrinter:
    """One headless Chromium for many PDFs (starting it costs about a second). Use as a context
    manager; :meth:`print` raises :class:`PdfError` with a one-line message on any failure."""

    def __init__(self, executable: Path | None = None):
        self.executable = executable
        self._pw = self._browser = None

    def __enter__(self) -> "PdfPrinter":
        executable = self.executable or chromium_path()
        try:
            from playwright.sync_api import sync_playwright
        except ModuleNotFoundError:
            raise PdfError("PDF output needs Playwright: pip install 'qieval[pdf]' "
                           "(it drives Debian's chromium; no browser is downloaded)") from None
        try:
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS,
                                                     headless=True)
        except Exception as exc:  # noqa: BLE001 - any start-up failure is one line
            self.close()
            raise PdfError(f"chromium at {executable} did not start: {_one_line(exc)}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for obj, method in ((self._browser, "close"), (self._pw, "stop")):
            if obj is not None:
                try:
                    getattr(obj, method)()
                except Exception:  # noqa: BLE001 - best effort at shutdown
                    pass
        self._browser = self._pw = None

    def pdf_bytes(self, html_path: Path) -> bytes:
        """The PDF of one rendered HTML file (network blocked; print media; A4 from the CSS)."""
        html_path = Path(html_path)
        try:
            text = html_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PdfError(f"{html_path}: cannot read the HTML to print ({exc.strerror or exc})") from None
        if "@page" not in text:
            raise PdfError(f"{html_path}: not a qieval report page (no print stylesheet)")
        context = self._browser.new_context(offline=True, java_script_enabled=False)
        try:
            page = context.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                       else r.abort())
            page.goto(html_path.resolve().as_uri(), wait_until="load", timeout=RENDER_TIMEOUT_MS)
            page.emulate_media(media="print")
            # The page furniture (title, audience, RESTRICTED marking, "Page N of M") is the
            # template's CSS margin boxes, so a PDF matches what a browser prints from the HTML.
            return page.pdf(format="A4", prefer_css_page_size=True, print_background=True,
                            outline=True, tagged=True)
        finally:
            context.close()

    def print(self, html_path: Path, pdf_path: Path) -> Path:
        """Write ``pdf_path`` from ``html_path`` atomically; :class:`PdfError` on failure (the
        previous PDF, if any, is left as it was)."""
        if self._browser is None:
            raise PdfError("the PDF printer is not started")
        try:
            data = self.pdf_bytes(html_path)
        except PdfError:
            raise
        except Exception as exc:  # noqa: BLE001 - a browser error becomes one line
            raise PdfError(f"{html_path}: PDF not made: {_one_line(exc)}") from None
        if not data.startswith(b"%PDF-"):
            raise PdfError(f"{html_path}: chromium returned no PDF")
        return write_atomic(pdf_path, data)


def _one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not set(ln.strip()) <= set("=")]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def print_pdfs(jobs: list[PdfJob], executable: Path | None = None) -> list[tuple[PdfJob, str | None]]:
    """Print every job with one browser; returns (job, error or None) per job. If the browser
    cannot start, every job gets that one error."""
    if not jobs:
        return []
    try:
        printer = PdfPrinter(executable).__enter__()
    except PdfError as err:
        return [(j, str(err)) for j in jobs]
    out = []
    try:
        for j in jobs:
            try:
                printer.print(j.html, j.pdf)
                out.append((j, None))
            except PdfError as err:
                out.append((j, str(err)))
    finally:
        printer.close()
    return out
