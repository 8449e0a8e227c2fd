"""Run one notebook job (a site's report, or a project-level report) in a warm kernel.

A job is a small picklable :class:`Job`; :func:`run_job` runs it in this thread's
:class:`~qieval.farm.kernel.WarmKernel` (started on first use, one per worker thread, whether the
thread belongs to the runner's thread pool, a process-pool worker or a Dask worker) and writes:

- on success: ``<stem>.html`` (rendered by the process's one cached exporter) and the executed
  ``<stem>.ipynb``, each written to a temporary file and moved into place; any
  ``<stem>.failed.*`` left by an earlier run is removed;
- on failure (an error in a cell, a cell timeout, a dead kernel): ``<stem>.failed.ipynb`` (the
  executed notebook with papermill's error markers) and ``<stem>.failed.html`` (a small page naming
  the cell and the error, linking the last good report); the last good ``<stem>.html`` and
  ``<stem>.ipynb`` are left untouched.

:func:`run_site` keeps the original path (``papermill.execute_notebook`` with a fresh kernel); the
test suite uses it as the reference a warm-kernel run must reproduce.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import re
import threading
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

import nbformat

from ..config import ProjectConfig, display_path
from ..format import path_inside, write_atomic
from .exporter import notebook_to_html

#: The notebooks shipped with the package (kept identical to the repository's ``notebooks/`` by a test),
#: used for a project that has no ``notebooks/`` folder of its own.
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DEFAULT_TIMEOUT = 600  # seconds per cell
DEFAULT_MAX_SITES = 50  # sites per kernel before it is replaced


def notebook_path(config: ProjectConfig, name: str = "site_report.ipynb") -> Path:
    """The project's notebook (``notebooks/`` beside the params folder, else the package's)."""
    local = config.root / "notebooks" / name
    return local if local.is_file() else NOTEBOOKS / name


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Job:
    """One notebook to run (picklable: it travels to process-pool and Dask workers)."""

    project: str
    title: str
    root: str  # project root: the kernel's working directory
    notebook: str
    out_dir: str
    stem: str  # output file stem: the site id, or e.g. "network"
    parameters: dict
    input_hash: str = ""
    timeout: float | None = DEFAULT_TIMEOUT
    max_sites: int = DEFAULT_MAX_SITES
    kernel_name: str = "python3"
    kind: str = "site"  # "site" | "project"
    label: str = ""  # what to call it in messages (default: the stem)

    @property
    def name(self) -> str:
        return self.label or self.stem


@dataclass
class SiteOutcome:
    site_id: str
    ok: bool
    html: Path | None = None
    notebook: Path | None = None
    cell: int | None = None
    error: str = ""
    status: str = ""  # ok | failed | timeout | unchanged
    seconds: float = 0.0
    input_hash: str = ""
    finished: str = ""
    exec_count: int | None = None
    cell_source: str = ""
    failed_page: Path | None = None
    kind: str = "site"
    worker: str = ""

    def __post_init__(self):
        if not self.status:
            self.status = "ok" if self.ok else "failed"

    @property
    def cell_first_line(self) -> str:
        lines = [ln for ln in self.cell_source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        return lines[0].strip() if lines else ""

    def describe(self) -> str:
        if self.ok:
            if self.status == "unchanged":
                return f"{self.site_id}: unchanged, skipped → {display_path(self.html)}"
            return f"{self.site_id}: ok → {display_path(self.html)}"
        where = f"cell {self.cell}" if self.cell is not None else "before any cell ran"
        if self.cell_first_line:
            where += f" ({self.cell_first_line})"
        what = "TIMED OUT" if self.status == "timeout" else "FAILED"
        kept = f"executed notebook kept at {display_path(self.notebook)}" if self.notebook else "no notebook"
        page = f"; see {display_path(self.failed_page)}" if self.failed_page else ""
        return f"{self.site_id}: {what} in {where}: {self.error} ({kept}{page})"


# ---- warm kernels, one per worker thread ------------------------------------------------------

_local = threading.local()
_KERNELS: set = set()
_KERNELS_LOCK = threading.Lock()
_EXPORT_LOCK = threading.Lock()


def _kernel(job: Job):
    from .kernel import WarmKernel

    k = getattr(_local, "kernel", None)
    if k is None or k.kernel_name != job.kernel_name:
        if k is not None:
            k.close()
        k = WarmKernel(job.kernel_name)
        _local.kernel = k
        with _KERNELS_LOCK:
            _KERNELS.add(k)
    k.max_sites = job.max_sites
    return k


def shutdown_kernels() -> int:
    """Shut down every warm kernel of this process; return how many there were."""
    with _KERNELS_LOCK:
        kernels = list(_KERNELS)
        _KERNELS.clear()
    for k in kernels:
        try:
            k.close()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass
    _local.__dict__.pop("kernel", None)
    return len(kernels)


def kernel_stats() -> dict:
    """Kernels started and kernel process ids in this process (for tests and the benchmark)."""
    with _KERNELS_LOCK:
        kernels = list(_KERNELS)
    pids = []
    for k in kernels:
        prov = getattr(k.km, "provisioner", None) if k.km is not None else None
        proc = getattr(prov, "process", None)
        if proc is not None:
            pids.append(proc.pid)
    return {"kernels": len(kernels), "started": sum(k.kernels_started for k in kernels), "pids": pids,
            "pid": os.getpid()}


atexit.register(shutdown_kernels)


# ---- one job -------------------------------------------------------------------------------------

def _write_notebook(path: Path, nb: nbformat.NotebookNode) -> None:
    write_atomic(path, nbformat.writes(nb))


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _restore(path: Path, previous: bytes | None) -> None:
    if previous is None:
        _remove(path)
    elif not path.is_file() or path.read_bytes() != previous:
        write_atomic(path, previous.decode("utf-8"))


_ANSI_ANY = re.compile(r"(\x1b|\\u001b)\[[0-9;]*[A-Za-z]")
_ABS_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/\"'<>:()\[\],]+/)+")


def _published(job: Job) -> bool:
    return job.parameters.get("audience", "evaluator") != "evaluator"


def published_text(text: str, job: Job) -> str:
    """Text for a commissioner/public copy's failure page, notebook or index entry: paths below the
    project shown relative to it, every other absolute folder as ``…/`` (no server paths)."""
    text = _ANSI_ANY.sub("", text)  # colour codes (raw, or escaped in notebook JSON) would hide paths
    for root in {str(Path(job.root)), str(Path(job.root).resolve())}:
        text = text.replace(root + "/", "")
    return _ABS_PATH.sub("…/", text)


def _relative_metadata(nb: nbformat.NotebookNode, job: Job) -> None:
    """Papermill's input/output paths relative to the project root in a published copy (no
    absolute server paths in a commissioner/public notebook)."""
    from ..report.provenance import project_relative

    pm = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if pm.get(key):
            pm[key] = project_relative(pm[key], job.root)


def run_job(job: Job) -> SiteOutcome:
    """Run one job in this thread's warm kernel and write its outputs (see the module docstring)."""
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import raise_for_execution_errors

    from .kernel import parameterize

    t0 = time.perf_counter()
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # every output name is built from the stem (a site id): checked to stay inside out_dir
    html_path, nb_path = path_inside(out, f"{job.stem}.html"), path_inside(out, f"{job.stem}.ipynb")
    failed_nb = path_inside(out, f"{job.stem}.failed.ipynb")
    failed_page = path_inside(out, f"{job.stem}.failed.html")
    worker = f"{os.getpid()}/{threading.current_thread().name}"
    # The notebook writes <stem>.json (key results read by later reports) as it runs; if it then
    # fails, the JSON of the last good run is put back so it matches the last good HTML.
    results_json = path_inside(out, f"{job.stem}.json")
    previous_json = results_json.read_bytes() if results_json.is_file() else None
    try:
        nb = parameterize(Path(job.notebook), job.parameters, str(nb_path))
        if job.parameters.get("audience", "evaluator") != "evaluator":
            _relative_metadata(nb, job)
        result = _kernel(job).execute(nb, cwd=job.root, timeout=job.timeout)
    except Exception as exc:  # noqa: BLE001 - e.g. a kernel that would not start: a failed job
        outcome = SiteOutcome(job.name, False, None, None, None, f"{type(exc).__name__}: {exc}",
                              "failed", time.perf_counter() - t0, job.input_hash, utc_now(), kind=job.kind,
                              worker=worker)
        try:
            _kernel(job).stop()  # never reuse a kernel in an unknown state
        except Exception:  # noqa: BLE001
            pass
        _restore(results_json, previous_json)
        outcome.failed_page = failed_page
        if _published(job):
            outcome.error = published_text(outcome.error, job)
        write_atomic(failed_page, failed_page_html(job, outcome, html_path))
        return outcome
    finished = utc_now()
    if result.ok:
        title = f"{job.title}: {job.name}"
        with _EXPORT_LOCK:  # one cached HTMLExporter per process, shared by the worker threads
            html = notebook_to_html(result.nb, title)
        _write_notebook(nb_path, result.nb)
        write_atomic(html_path, html)
        _remove(failed_nb, failed_page)
        return SiteOutcome(job.name, True, html_path, nb_path, status="ok",
                           seconds=time.perf_counter() - t0, input_hash=job.input_hash, finished=finished,
                           kind=job.kind, worker=worker)
    cell_source = result.nb.cells[result.cell - 1].source if result.cell else ""
    tmp = path_inside(out, f".{job.stem}.failed.{os.getpid()}.{threading.get_ident()}.ipynb")
    try:
        raise_for_execution_errors(result.nb, str(tmp))  # papermill's error markers, then writes tmp
        _write_notebook(tmp, result.nb)
    except PapermillExecutionError:
        pass
    os.replace(tmp, failed_nb)
    _restore(results_json, previous_json)
    outcome = SiteOutcome(job.name, False, None, failed_nb, result.cell, result.error, result.status,
                          time.perf_counter() - t0, job.input_hash, finished, result.exec_count, cell_source,
                          failed_page, kind=job.kind, worker=worker)
    page = failed_page_html(job, outcome, html_path, result.traceback)
    if _published(job):  # a published copy's failure carries no server paths either
        outcome.error = published_text(outcome.error, job)
        page = published_text(page, job)
        write_atomic(failed_nb, published_text(failed_nb.read_text(encoding="utf-8"), job))
    write_atomic(failed_page, page)
    return outcome


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failed_page_html(job: Job, outcome: SiteOutcome, last_good: Path, traceback: list[str] | None = None) -> str:
    """A small self-contained page: which cell failed and why, with links to the last good report
    (if there is one) and the failed executed notebook."""
    tb = _ANSI.sub("", "\n".join(traceback or []))
    where = f"cell {outcome.cell}" if outcome.cell else "before any cell ran"
    if outcome.exec_count:
        where += f" (In [{outcome.exec_count}])"
    good = (f'<p>The last good report is still available: <a href="{escape(last_good.name)}">'
            f'{escape(last_good.name)}</a> (it does <strong>not</strong> reflect this run).</p>'
            if last_good.is_file() else "<p>There is no earlier good report for this site.</p>")
    nb_link = (f'<li><a href="{escape(outcome.notebook.name)}">{escape(outcome.notebook.name)}</a>: the executed '
               f"notebook, with the error, for debugging</li>" if outcome.notebook else "")
    what = "timed out" if outcome.status == "timeout" else "failed"
    src = (f"<h2>Cell {outcome.cell}</h2><pre>{escape(outcome.cell_source)}</pre>" if outcome.cell_source else "")
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Report failed: {escape(job.title)}: {escape(job.name)}</title>
<style>
body {{ font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; color: #212B32; max-width: 60rem;
       margin: 0 auto; padding: 1rem 2rem 3rem; line-height: 1.45; }}
h1 {{ color: #D5281B; font-size: 1.6rem; }} h2 {{ font-size: 1.15rem; color: #005EB8; }}
.error {{ border-left: 6px solid #D5281B; background: #FDECEA; padding: .6rem 1rem; }}
pre {{ background: #F0F4F5; padding: .6rem; overflow-x: auto; white-space: pre-wrap; font-size: .85rem; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }} dt {{ font-weight: bold; }}
dd {{ margin: 0; }}
a {{ color: #005EB8; }}
.skip-link {{ position: absolute; left: -10000px; }} .skip-link:focus {{ position: static; background: #FFEB3B; color: #212B32; }}
</style>
</head>
<body>
<a class="skip-link" href="#main">Skip to the error</a>
<header><p>qieval · {escape(job.title)}</p></header>
<main id="main">
<h1>Report failed: {escape(job.name)}</h1>
<div class="error" role="alert">
<p>The {escape(job.kind)} report for <strong>{escape(job.name)}</strong> ({escape(job.title)}) {what} in
{escape(where)}: <code>{escape(outcome.error)}</code></p>
</div>
{good}
<dl>
<dt>Project</dt><dd>{escape(job.project)}</dd>
<dt>Run finished</dt><dd>{escape(outcome.finished)}</dd>
<dt>Input hash</dt><dd><code>{escape(outcome.input_hash[:16])}</code></dd>
</dl>
<ul>{nb_link}<li><a href="{escape(os.path.relpath(_index_path(job), job.out_dir))}">All reports</a></li></ul>
{src}
<h2>Error</h2>
<pre>{escape(tb or outcome.error)}</pre>
</main>
</body>
</html>
"""


def _index_path(job: Job) -> Path:
    """The index of the job's audience (restricted and published copies have separate indexes)."""
    from .index import index_name

    return Path(job.root) / "reports" / index_name(job.parameters.get("audience", "evaluator"))


# ---- the original path: papermill with a fresh kernel per site ----------------------------------

def _failed_cell(nb: nbformat.NotebookNode) -> tuple[int | None, str]:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i + 1, f"{out.get('ename')}: {out.get('evalue')}"
    return None, ""


def run_site(config: ProjectConfig, site_id: str, *, out_dir: Path | None = None,
             progress: bool = True, timeout: int = DEFAULT_TIMEOUT) -> SiteOutcome:
    """Execute ``notebooks/site_report.ipynb`` for one site with ``papermill.execute_notebook`` in a
    fresh kernel (the reference path; :mod:`qieval.farm.batch` runs sites in warm kernels)."""
    import papermill as pm

    out_dir = out_dir or config.root / "reports" / config.id / "sites"
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = path_inside(out_dir, f"{site_id}.ipynb")
    failed = path_inside(out_dir, f"{site_id}.failed.ipynb")
    tmp = path_inside(out_dir, f".{site_id}.{os.getpid()}.ipynb")
    params = {"params_path": str(config.params_path), "site_id": site_id,
              "output_dir": str(out_dir)}
    try:
        pm.execute_notebook(
            str(notebook_path(config)), str(tmp), parameters=params, kernel_name="python3",
            progress_bar={"desc": f"{site_id:>12}", "leave": True} if progress else False,
            cwd=str(config.root), execution_timeout=timeout, log_output=False,
        )
    except Exception as exc:  # noqa: BLE001 - any notebook failure is reported per site
        nb = nbformat.read(tmp, as_version=4) if tmp.exists() else None
        cell, err = _failed_cell(nb) if nb is not None else (None, "")
        if tmp.exists():
            os.replace(tmp, failed)
        return SiteOutcome(site_id, False, None, failed, cell,
                           err or f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}")
    nb = nbformat.read(tmp, as_version=4)
    with _EXPORT_LOCK:
        html = notebook_to_html(nb, f"{config.title}: {site_id}")
    target = path_inside(out_dir, f"{site_id}.html")
    write_atomic(target, html)
    os.replace(tmp, executed)
    if failed.exists():
        failed.unlink()
    return SiteOutcome(site_id, True, target, executed)
