"""The report farm: every site of a project (then its project-level reports) rendered in parallel.

``qieval run params/<project>.yaml [--workers N] [--executor threads|processes|dask]``:

1. **Plan.** Each site's input hash is sha256 over the notebook's bytes, the params file's bytes
   (and shared definitions in sub-folders of ``params/``), the site's rows of every input table
   (sorted, as text; rows for ``ALL`` count for every site), its ``sites.csv`` row, qieval's
   version and a digest of qieval's source files. Sites whose hash matches ``reports/<project>/manifest.json``
   (last run ok, HTML present) are skipped as *unchanged* unless ``force``.
2. **Run.** Jobs go to ``workers`` workers, each keeping one warm kernel
   (:mod:`qieval.farm.kernel`): threads in this process (default; one shared HTML exporter), a
   process pool, or a Dask cluster (``scheduler`` address, or a LocalCluster started here).
   A failure is isolated to its site (:func:`qieval.farm.runner.run_job`).
3. **Record.** The manifest is rewritten atomically as results arrive (at most every 2 s, and at
   the end), then ``reports/index.html`` (:mod:`qieval.farm.index`).

Project-level notebooks (:data:`PROJECT_NOTEBOOKS`, e.g. ``notebooks/network_report.ipynb``) run
after the sites when they exist, writing ``reports/<project>/<name>.html``.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..config import ProjectConfig, display_path
from ..format import path_inside, write_atomic
from .kernel import code_digest
from .runner import (DEFAULT_MAX_SITES, DEFAULT_TIMEOUT, Job, SiteOutcome, notebook_path, run_job,
                     utc_now)

EXECUTORS = ("threads", "processes", "dask")
#: Project-level notebooks run after the sites, when present: notebook name → (output stem, the
#: params section the project needs for it, or None).
PROJECT_NOTEBOOKS = {
    "network_report.ipynb": ("network", None),
    "accreditation_summary.ipynb": ("accreditation", "standards"),
    "abstract.ipynb": ("abstract", "abstract"),
}
MANIFEST_EVERY = 2.0  # seconds between manifest rewrites during a run
#: ``pdf=`` choices of :func:`run_farm`: PDF copies of the project-level reports, or of every report.
PDF_SCOPES = ("project", "all")


# ---- hashing ----------------------------------------------------------------------------------

def _rows_by_site(frame: pd.DataFrame, key: str = "site_id", drop: tuple[str, ...] = ("row",)) -> dict[str, str]:
    """Each site's rows as sorted text lines (one line per row, columns joined by a unit separator)."""
    cols = [c for c in frame.columns if c not in drop]
    if frame.empty:
        return {}
    text = frame[cols].astype(str).fillna("<NA>")
    lines = text[cols[0]].str.cat([text[c] for c in cols[1:]], sep="\x1f", na_rep="<NA>")
    out: dict[str, str] = {}
    for site, group in lines.groupby(frame[key].astype(str), sort=False):
        out[site] = "\n".join(sorted(group.tolist()))
    return out


TYPED_TABLES = ("sites", "measure_values", "pdsa_cycles")


def _extra_tables(config: ProjectConfig) -> tuple[list[tuple[str, dict[str, str]]], list[bytes]]:
    """Input tables beyond the three typed ones (e.g. ``standards_assessments``): a CSV with a
    ``site_id`` column is split by site (raw text rows, sorted); anything else is hashed whole."""
    per_site, whole = [], []
    data_dir = config.data_dir
    files = sorted(p for p in data_dir.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if data_dir.is_dir() else []
    for p in files:
        if p.stem in TYPED_TABLES and p.suffix.lower() in (".csv", ".xlsx"):
            continue
        if p.suffix.lower() == ".csv":
            try:
                frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            except Exception:  # noqa: BLE001 - unreadable: hash the bytes
                frame = None
            if frame is not None and "site_id" in frame.columns:
                per_site.append((p.name, _rows_by_site(frame, drop=())))
                continue
        whole.append(p.name.encode() + b"\0" + p.read_bytes())
    return per_site, whole


def _shared_definitions(config: ProjectConfig) -> list[bytes]:
    """Files in sub-folders of ``params/`` (e.g. ``params/standards/<framework>.yaml``)."""
    params_dir = Path(config.params_path).parent
    out = []
    for p in sorted(params_dir.glob("*/**/*")):
        if p.is_file() and not p.name.startswith("."):
            out.append(str(p.relative_to(params_dir)).encode() + b"\0" + p.read_bytes())
    return out


def site_hashes(data, sites: list[str], notebook: Path) -> dict[str, str]:
    """Input hash of every site (see the module docstring): the notebook, the params file and the
    shared definitions beside it, qieval's code, and the site's own rows of every input table
    (rows for ``ALL`` sites count for every site)."""
    config = data.config
    common = hashlib.sha256()
    common.update(b"notebook\0" + notebook.read_bytes())
    common.update(b"params\0" + Path(config.params_path).read_bytes())
    for blob in _shared_definitions(config):
        common.update(b"\0definition\0" + blob)
    common.update(b"code\0" + code_digest().encode())
    tables = [("sites", _rows_by_site(data.sites, drop=())), ("measure_values", _rows_by_site(data.measure_values)),
              ("pdsa_cycles", _rows_by_site(data.pdsa_cycles, drop=()))]
    extra, whole = _extra_tables(config)
    tables += extra
    for blob in whole:
        common.update(b"\0table\0" + blob)
    out = {}
    for s in sites:
        h = common.copy()
        for name, rows in tables:
            h.update(f"\0{name}\0".encode() + rows.get(s, "").encode("utf-8"))
            h.update(f"\0{name}:ALL\0".encode() + rows.get("ALL", "").encode("utf-8"))
        out[s] = h.hexdigest()
    return out


# ---- manifest -----------------------------------------------------------------------------------

def project_dir(config: ProjectConfig, audience: str = "evaluator") -> Path:
    """Where a project's reports go: ``reports/<project>/`` for evaluator copies,
    ``reports/<project>/<audience>/`` for commissioner and public copies."""
    base = path_inside(config.root / "reports", config.id)
    return base if audience == "evaluator" else path_inside(base, audience)


def manifest_path(config: ProjectConfig, audience: str = "evaluator") -> Path:
    return project_dir(config, audience) / "manifest.json"


def load_manifest(config: ProjectConfig, audience: str = "evaluator") -> dict:
    path = manifest_path(config, audience)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        manifest = {}
    manifest.setdefault("sites", {})
    manifest.setdefault("project_reports", {})
    manifest.update(audience=audience)
    from ..report.provenance import project_relative

    manifest.update(project=config.id, title=config.title, params=project_relative(config.params_path, config.root),
                    site_order=list(config.sites))
    return manifest


def save_manifest(config: ProjectConfig, manifest: dict) -> None:
    manifest["updated"] = utc_now()
    write_atomic(manifest_path(config, manifest.get("audience", "evaluator")),
                 json.dumps(manifest, indent=1, sort_keys=True))


def _record(manifest: dict, o: SiteOutcome, project_dir: Path) -> None:
    section = manifest["sites"] if o.kind == "site" else manifest["project_reports"]
    old = section.get(o.site_id, {})
    rel = lambda p: None if p is None else os.path.relpath(p, project_dir)  # noqa: E731
    entry = dict(old)
    entry.update(status=o.status, hash=o.input_hash, last_run=o.finished, seconds=round(o.seconds, 3))
    sub = "sites/" if o.kind == "site" else ""
    if o.ok:
        entry.update(last_ok=o.finished, ok_hash=o.input_hash, html=rel(o.html), notebook=rel(o.notebook),
                     error=None, cell=None, failed_html=None, failed_notebook=None)
    else:
        entry.update(error=o.error, cell=o.cell, failed_html=rel(o.failed_page), failed_notebook=rel(o.notebook))
        good = project_dir / f"{sub}{o.site_id}.html"
        entry["html"] = rel(good) if good.is_file() else None
    section[o.site_id] = entry


# ---- executors ----------------------------------------------------------------------------------

def _process_init() -> None:
    """Process-pool worker start: shut this process's kernels down when it exits."""
    from multiprocessing import util

    from .runner import shutdown_kernels

    util.Finalize(None, shutdown_kernels, exitpriority=10)


class _Pool:
    """The same small interface over a thread pool, a process pool and a Dask client."""

    def __init__(self, kind: str, workers: int, scheduler: str | None = None):
        self.kind, self.workers = kind, workers
        self.cluster = self.client = self.pool = None
        if kind == "threads":
            self.pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qieval-worker")
        elif kind == "processes":
            import multiprocessing as mp

            self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                               initializer=_process_init)
        elif kind == "dask":
            from distributed import Client, LocalCluster

            if scheduler:
                self.client = Client(scheduler)
            else:
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None)
                self.client = Client(self.cluster)
        else:
            raise ValueError(f"unknown executor {kind!r} (choose from {', '.join(EXECUTORS)})")

    def describe(self) -> str:
        if self.kind == "dask":
            n = len(self.client.scheduler_info(n_workers=-1).get("workers", {})) if self.client else 0
            where = "a LocalCluster" if self.cluster else self.client.scheduler.address
            return f"{n} Dask worker(s) on {where}"
        return f"{self.workers} worker {self.kind}"

    def map_unordered(self, jobs: list[Job]):
        """Yield outcomes as they finish; a job whose worker died becomes a failed outcome."""
        if not jobs:
            return
        if self.kind == "dask":
            from distributed import as_completed

            futures = {self.client.submit(run_job, j, pure=False, key=f"qieval-{j.project}-{j.stem}-{os.urandom(4).hex()}"): j
                       for j in jobs}
            for fut in as_completed(futures):
                yield self._result(fut, futures[fut])
        else:
            futures = {self.pool.submit(run_job, j): j for j in jobs}
            for fut in cf.as_completed(futures):
                yield self._result(fut, futures[fut])

    @staticmethod
    def _result(fut, job: Job) -> SiteOutcome:
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - worker lost, pickling error…: the job failed
            return SiteOutcome(job.name, False, None, None, None, f"{type(exc).__name__}: {exc}", "failed",
                               input_hash=job.input_hash, finished=utc_now(), kind=job.kind)

    def kernel_stats(self) -> list[dict]:
        from .runner import kernel_stats

        if self.kind == "threads":
            return [kernel_stats()]
        if self.kind == "dask":
            return list(self.client.run(kernel_stats).values())
        return []

    def close(self) -> None:
        from .runner import shutdown_kernels

        if self.kind == "threads":
            self.pool.shutdown(wait=True, cancel_futures=True)
            shutdown_kernels()
        elif self.kind == "processes":
            self.pool.shutdown(wait=True, cancel_futures=True)
        else:
            try:
                self.client.run(shutdown_kernels)
            except Exception:  # noqa: BLE001 - workers already gone
                pass
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


# ---- the farm -------------------------------------------------------------------------------------

@dataclass
class FarmResult:
    project: str
    outcomes: list[SiteOutcome] = field(default_factory=list)  # sites, in the project's order
    project_reports: list[SiteOutcome] = field(default_factory=list)
    seconds: float = 0.0
    site_seconds: float = 0.0  # planning + rendering the sites (project-level reports excluded)
    workers: str = ""
    index: Path | None = None
    pdfs: list[Path] = field(default_factory=list)  # PDFs written in this run
    pdf_errors: list[str] = field(default_factory=list)  # one line each; the HTML is kept

    @property
    def failed(self) -> list[SiteOutcome]:
        return [o for o in self.outcomes + self.project_reports if not o.ok]

    @property
    def ran(self) -> list[SiteOutcome]:
        return [o for o in self.outcomes if o.status != "unchanged"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.pdf_errors


def _published_paths(config: ProjectConfig, params: dict) -> dict:
    """Path parameters relative to the project root (the kernel's working directory) for copies
    that are published: a commissioner/public notebook carries no absolute server path."""
    from ..report.provenance import project_relative

    return {k: project_relative(v, config.root) for k, v in params.items()
            if k in ("params_path", "output_dir", "project_dir", "sites_dir", "reports_dir")}


def _site_job(config: ProjectConfig, site: str, nb: Path, out: Path, h: str, timeout, max_sites,
              audience: str = "evaluator") -> Job:
    params = {"params_path": str(config.params_path), "site_id": site, "output_dir": str(out)}
    if audience != "evaluator":
        params["audience"] = audience
        params.update(_published_paths(config, params))
    return Job(config.id, config.title, str(config.root), str(nb), str(out), site, params, h, timeout, max_sites)


#: A project report's cells work on every site at once (measured linear: about 70 s for the network
#: report per 1,000 practices on one core), so their timeout is ``--timeout`` per this many sites.
PROJECT_TIMEOUT_SITES = 1000


def project_timeout(timeout: float | None, n_sites: int) -> float | None:
    """Cell timeout of a project report: ``timeout`` per :data:`PROJECT_TIMEOUT_SITES` sites, never
    less than ``timeout`` (None: no timeout). The timeout guards against a hung cell, not a big network."""
    if not timeout:
        return timeout
    return float(timeout) * max(1.0, n_sites / PROJECT_TIMEOUT_SITES)


def _project_jobs(config: ProjectConfig, hashes: dict[str, str], force: bool, manifest: dict,
                  timeout, max_sites, audience: str = "evaluator") -> tuple[list[Job], list[SiteOutcome]]:
    """Project-level notebooks that exist; parameters passed are those the notebook declares.
    Commissioner/public runs include only notebooks that declare an ``audience`` parameter (the
    others are evaluator-only)."""
    from papermill import inspect_notebook

    jobs, skipped = [], []
    pdir = project_dir(config, audience)
    for name, (stem, needs) in PROJECT_NOTEBOOKS.items():
        nb = notebook_path(config, name)
        if not nb.is_file() or (needs is not None and not getattr(config, needs, None)):
            continue
        offered = {"params_path": str(config.params_path), "output_dir": str(pdir),
                   "project_dir": str(pdir), "sites_dir": str(pdir / "sites"),
                   "reports_dir": str(config.root / "reports"), "project_id": config.id,
                   "audience": audience}
        if audience != "evaluator":
            offered.update(_published_paths(config, offered))
        try:
            declared = set(inspect_notebook(str(nb)))
        except Exception:  # noqa: BLE001 - no parameters cell: pass the usual two
            declared = {"params_path", "output_dir"}
        if audience != "evaluator" and "audience" not in declared:
            continue
        params = {k: v for k, v in offered.items() if k in declared}
        h = hashlib.sha256(nb.read_bytes() + Path(config.params_path).read_bytes() + code_digest().encode()
                           + json.dumps(hashes, sort_keys=True).encode()).hexdigest()
        prev = manifest["project_reports"].get(stem, {})
        html = path_inside(pdir, f"{stem}.html")
        if not force and prev.get("status") == "ok" and prev.get("hash") == h and html.is_file():
            skipped.append(SiteOutcome(stem, True, html, pdir / f"{stem}.ipynb", status="unchanged",
                                       input_hash=h, finished=prev.get("last_run", ""), kind="project"))
            continue
        jobs.append(Job(config.id, config.title, str(config.root), str(nb), str(pdir), stem, params, h,
                        project_timeout(timeout, len(config.sites)), max_sites, kind="project", label=stem))
    return jobs, skipped


def run_farm(config: ProjectConfig, data, sites: list[str] | None = None, *, workers: int | None = None,
             executor: str = "threads", scheduler: str | None = None, force: bool = False,
             timeout: float | None = DEFAULT_TIMEOUT, max_sites: int = DEFAULT_MAX_SITES,
             progress: bool = True, project_reports: bool = True, write_index: bool = True,
             pool: _Pool | None = None, audience: str = "evaluator", pdf: str | None = None) -> FarmResult:
    """Render ``sites`` (default: all) of a validated project; see the module docstring.
    ``audience`` other than evaluator writes under ``reports/<project>/<audience>/``. ``pdf``
    ("project": the project-level reports; "all": the site reports too) adds a PDF copy beside each
    good HTML report (:mod:`qieval.farm.pdf`), printed again only when its report changed."""
    t0 = time.perf_counter()
    sites = list(sites or config.sites)
    workers = workers or os.cpu_count() or 1
    pdir = project_dir(config, audience)
    out = pdir / "sites"
    out.mkdir(parents=True, exist_ok=True)
    nb = notebook_path(config)
    hashes = site_hashes(data, list(config.sites), nb)
    manifest = load_manifest(config, audience)
    try:  # kernels read the project validated here instead of validating it again
        from .kernel import write_project_cache

        write_project_cache(config, data)
    except Exception:  # noqa: BLE001 - only an optimisation
        pass

    jobs, skipped = [], {}
    for s in sites:
        prev = manifest["sites"].get(s, {})
        html = path_inside(out, f"{s}.html")
        if not force and prev.get("status") == "ok" and prev.get("hash") == hashes[s] and html.is_file():
            skipped[s] = SiteOutcome(s, True, html, out / f"{s}.ipynb", status="unchanged", input_hash=hashes[s],
                                     finished=prev.get("last_run", ""))
        else:
            jobs.append(_site_job(config, s, nb, out, hashes[s], timeout, max_sites, audience))

    result = FarmResult(config.id)
    done: dict[str, SiteOutcome] = dict(skipped)
    own_pool = pool is None
    bar = None
    last_save = time.monotonic()
    try:
        if jobs or project_reports:
            if own_pool and jobs:
                pool = _Pool(executor, min(workers, len(jobs)) if executor != "dask" else workers, scheduler)
            result.workers = pool.describe() if pool else ""
        if progress and (skipped or jobs):
            print(f"{config.id}: {len(jobs)} site(s) to render, {len(skipped)} unchanged (skipped)"
                  + (f", {result.workers}" if jobs else ""), file=sys.stderr)
        if jobs:
            from tqdm import tqdm

            bar = tqdm(total=len(jobs), unit="site", desc=config.id, disable=not progress, file=sys.stderr,
                       dynamic_ncols=True, smoothing=0.1)
            n_ok = n_failed = 0
            bar.set_postfix(done=0, failed=0, remaining=len(jobs))
            for o in pool.map_unordered(jobs):
                done[o.site_id] = o
                _record(manifest, o, pdir)
                if o.ok:
                    n_ok += 1
                else:
                    n_failed += 1
                    if progress:  # (listed again after the summary table)
                        bar.write(o.describe(), file=sys.stderr)
                bar.set_postfix(done=n_ok, failed=n_failed, remaining=len(jobs) - n_ok - n_failed, refresh=False)
                bar.update(1)
                if time.monotonic() - last_save > MANIFEST_EVERY:
                    save_manifest(config, manifest)
                    last_save = time.monotonic()
            bar.close()
        result.outcomes = [done[s] for s in sites if s in done]
        result.site_seconds = time.perf_counter() - t0

        if project_reports:
            pjobs, pskipped = _project_jobs(config, hashes, force, manifest, timeout, max_sites, audience)
            result.project_reports = list(pskipped)
            if pjobs:
                if pool is None:
                    pool = _Pool(executor, 1, scheduler)
                    own_pool = True
                for o in pool.map_unordered(pjobs):
                    _record(manifest, o, pdir)
                    result.project_reports.append(o)
                    if not o.ok and progress:
                        print(o.describe(), file=sys.stderr)
        if pdf:
            _write_pdfs(result, manifest, pdir, scope=pdf, force=force, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        unwritable: OSError | None = None
        try:  # a read-only or full reports/ must not stop the kernels from being shut down
            save_manifest(config, manifest)
        except OSError as exc:
            unwritable = exc
        if own_pool and pool is not None:
            pool.close()
        if write_index and unwritable is None:
            from .index import write_index as _write_index

            result.index = _write_index(config.root / "reports")
        if unwritable is not None:
            raise unwritable
    result.seconds = time.perf_counter() - t0
    return result


def _write_pdfs(result: FarmResult, manifest: dict, pdir: Path, *, scope: str, force: bool,
                progress: bool) -> None:
    """PDF copies of the good reports in ``scope`` whose PDF is missing or older than their HTML's
    input hash; each manifest entry gets ``pdf``, ``pdf_hash`` and ``pdf_error``."""
    from .pdf import PdfJob, print_pdfs

    if scope not in PDF_SCOPES:
        raise ValueError(f"unknown PDF scope {scope!r} (choose from {', '.join(PDF_SCOPES)})")
    outcomes = list(result.project_reports) + (list(result.outcomes) if scope == "all" else [])
    todo: list[tuple[PdfJob, dict, str]] = []
    for o in outcomes:
        if not o.ok or o.html is None or not Path(o.html).is_file():
            continue
        section = manifest["sites"] if o.kind == "site" else manifest["project_reports"]
        entry = section.setdefault(o.site_id, {})
        target = Path(o.html).with_suffix(".pdf")
        if not force and target.is_file() and entry.get("pdf_hash") == o.input_hash and not entry.get("pdf_error"):
            continue
        todo.append((PdfJob(Path(o.html), target), entry, o.input_hash))
    if todo and progress:
        print(f"{result.project}: printing {len(todo)} PDF(s)", file=sys.stderr)
    for (job, error), (_, entry, h) in zip(print_pdfs([j for j, _, _ in todo]), todo):
        if error is None:
            entry.update(pdf=os.path.relpath(job.pdf, pdir), pdf_hash=h, pdf_error=None)
            result.pdfs.append(job.pdf)
        else:
            entry["pdf_error"] = error
            entry["pdf"] = os.path.relpath(job.pdf, pdir) if job.pdf.is_file() else None
            result.pdf_errors.append(error)


def summary_table(result: FarmResult, max_rows: int = 40) -> str:
    """Plain-text summary: one row per site (up to ``max_rows``; beyond that the counts and the
    failures only), then totals and the rate."""
    rows = result.outcomes + result.project_reports
    counts: dict[str, int] = {}
    for o in rows:
        counts[o.status] = counts.get(o.status, 0) + 1
    show = rows if len(rows) <= max_rows else [o for o in rows if not o.ok]
    lines = []
    if show:
        w = max(len("site"), *(len(o.site_id) for o in show))
        lines.append(f"{'site':<{w}}  {'status':<9}  {'seconds':>7}  detail")
        lines.append(f"{'-' * w}  {'-' * 9}  {'-' * 7}  {'-' * 6}")
        for o in show:
            if o.ok:
                detail = display_path(o.html) if o.html else ""
            else:
                where = f"cell {o.cell}" if o.cell else "no cell ran"
                detail = f"{where}: {o.error}"
            secs = "" if o.status == "unchanged" else f"{o.seconds:.1f}"
            lines.append(f"{o.site_id:<{w}}  {o.status:<9}  {secs:>7}  {detail}")
        if len(rows) > max_rows:
            lines.append(f"(only failures listed: {len(rows)} reports in all)")
    ran = len(result.ran)
    secs = result.site_seconds or result.seconds
    rate = f"; {ran / secs * 60:.0f} site reports a minute" if ran and secs else ""
    totals = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    lines.append(f"{result.project}: {totals} in {result.seconds:.1f} s{rate}"
                 + (f" ({result.workers})" if result.workers and ran else ""))
    if result.pdfs:
        lines.append(f"{len(result.pdfs)} PDF(s) written beside their HTML")
    if result.index:
        lines.append(f"index: {display_path(result.index)}")
    return "\n".join(lines)


def outcome_dict(o: SiteOutcome) -> dict:
    d = asdict(o)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}
