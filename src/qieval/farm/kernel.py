"""Warm Jupyter kernels: one kernel kept alive per worker, running site after site.

Starting a kernel and importing pandas, matplotlib, statsmodels and qieval costs 2–4 s, far more
than a site report itself (about half a second), so each worker of the report farm keeps one
:class:`WarmKernel` and runs every site's notebook in it:

- at start the kernel imports the heavy modules once (:data:`PRELOAD`) and snapshots the state a
  fresh kernel would have after those imports (matplotlib rcParams, warning filters);
- before every site it runs a reset cell (:func:`reset`, executed *in the kernel*): ``%reset -f``
  (empty namespace), ``plt.close('all')``, rcParams and warning filters restored to the snapshot,
  ``pd.reset_option('all')``, ``random`` and NumPy's global seeds reset, working directory set;
- the notebook is parameterised with papermill (so the executed ``.ipynb`` carries the same
  injected-parameters cell and papermill metadata as ``papermill.execute_notebook``) and its cells
  are executed with nbclient against the running kernel, with explicit execution counts (1, 2, …
  as in a fresh kernel);
- the kernel is replaced after any failure (error, cell timeout, dead kernel) and every
  ``max_sites`` sites.

All kernel I/O runs on the WarmKernel's own event-loop thread, so a kernel can be driven from any
thread (a thread pool, a process pool worker or a Dask worker thread).
"""

from __future__ import annotations

import asyncio
import copy
import os
import threading
import time
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

#: Modules imported once when a kernel starts (missing ones are skipped).
PRELOAD = ("numpy", "pandas", "scipy.stats", "statsmodels.api", "matplotlib", "matplotlib.pyplot",
           "qieval", "qieval.report.site_report")

#: Seed for ``random`` and NumPy's global RNG before each site.
SEED = 0

#: Thread pools of numerical libraries, limited per kernel: N workers already use the N cores, and
#: N kernels each starting N BLAS threads made the statistics cells twice as slow on 2 cores.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
              "NUMEXPR_NUM_THREADS")

# ---- code run inside the kernel -------------------------------------------------------------

_BASE: dict = {}


def preload(modules: tuple[str, ...] = PRELOAD) -> None:
    """(In the kernel) import the heavy modules once and snapshot the fresh state."""
    import importlib
    import warnings

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import matplotlib

    _BASE["rc"] = dict(matplotlib.rcParams)
    _BASE["warnings"] = list(warnings.filters)
    install_load_cache()
    import gc

    # Move everything the imports created into the permanent generation: the collector then stops
    # re-scanning pandas/matplotlib/statsmodels objects on every collection (≈7% of CPU per site,
    # measured with time.process_time over 12 demo site reports).
    gc.collect()
    gc.freeze()


@lru_cache(maxsize=1)
def code_digest() -> str:
    """qieval's version plus a digest of its source files and report templates."""
    import hashlib
    from pathlib import Path

    import qieval

    pkg = Path(qieval.__file__).resolve().parent
    h = hashlib.sha256(f"qieval {qieval.__version__}\n".encode())
    for p in sorted(pkg.rglob("*")):
        if p.is_file() and p.suffix in {".py", ".j2", ".json", ".css"} and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(pkg)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _stat_key(params_path) -> tuple[tuple, "Path"] | None:
    """What a cached project load depends on, by *content*: the SHA-256 of the params file, of every
    file in its data folder and of the shared definitions beside it (``params/*/**``), and
    qieval's code; and the file the runner may have pickled the validated project to. (An edit
    that keeps a file's size and modification time changes its hash, so it is never served stale;
    hashes are memoised per process on the file's inode and change time, :func:`qieval.format.file_digest`.)

    None, i.e. not cacheable, for a project whose records come from a SQL source: the database may
    change at any time, so it is read again on every load."""
    import hashlib
    import os
    from pathlib import Path

    from qieval.config import load_config
    from qieval.format import file_digest

    p = Path(params_path).resolve()
    try:
        head = (str(p), file_digest(p))
    except OSError:
        return None
    dirs = _BASE.setdefault("data_dirs", {})
    if head not in dirs:
        try:
            config = load_config(p)
        except Exception:  # noqa: BLE001 - let the real load report the problem
            return None
        sql = config.records is not None and bool(config.records.sql)
        dirs[head] = None if sql else (config.data_dir, config.root / "reports" / config.id / ".cache")
    entry = dirs[head]
    if entry is None:
        return None
    data_dir, cache_dir = entry
    files = []
    try:
        with os.scandir(data_dir) as it:
            for e in it:
                if e.is_file():
                    files.append((e.name, file_digest(e.path)))
        for q in sorted(p.parent.glob("*/**/*")):  # shared definitions, e.g. params/standards/*.yaml
            if q.is_file():
                files.append((str(q), file_digest(q)))
    except OSError:
        return None
    key = (*head, str(data_dir), tuple(sorted(files)), code_digest())  # a pickle is only valid for this code
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    return key, cache_dir / f"project-{digest}.pickle"


def write_project_cache(config, data) -> "Path | None":
    """(In the runner) pickle the project it has just validated, for the kernels to read instead of
    validating it again (75 s for 6,500 practices): ``reports/<project>/.cache/project-<key>.pickle``,
    readable by its owner only (folder 0700, file 0600). Skipped when the load produced warnings
    (their text depends on the working directory) and for a SQL source (never cached: re-read on
    every run, and nothing about the database is written to disk). Older cache files of the
    project are removed."""
    import os
    import pickle

    from ..format import write_atomic

    cache_dir = config.root / "reports" / config.id / ".cache"
    found = None if data.warnings else _stat_key(config.params_path)
    if found is None:
        for old in cache_dir.glob("project-*.pickle") if cache_dir.is_dir() else ():
            old.unlink(missing_ok=True)
        return None
    key, path = found
    if path.is_file():
        return path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    for old in path.parent.glob("project-*.pickle"):
        old.unlink(missing_ok=True)
    return write_atomic(path, pickle.dumps({"key": key, "data": data}, protocol=pickle.HIGHEST_PROTOCOL),
                        mode=0o600)


def _read_project_cache(key, path):
    import pickle

    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return obj["data"] if isinstance(obj, dict) and obj.get("key") == key else None


def _copy_project(data):
    """A copy a report can modify without touching the cached project (frames, dicts, lists)."""
    import dataclasses

    import pandas as pd

    changes = {}
    for f in dataclasses.fields(data):
        v = getattr(data, f.name)
        if isinstance(v, (pd.DataFrame, pd.Series)):
            changes[f.name] = v.copy()
        elif isinstance(v, (dict, list)):
            changes[f.name] = type(v)(v)
    return dataclasses.replace(data, **changes)


def install_load_cache() -> None:
    """(In the kernel) memoise ``qieval.io.load.load`` for the life of the kernel.

    Each site's notebook loads and validates the *whole* project (``prepare`` → ``load_project``), so the
    cost per site grows with the number of sites (0.5 s at 100 sites, tens of seconds at 6,500).
    In a warm kernel the validated project is kept, keyed on the content (SHA-256) of the params
    file and of every file in the data folder, and each call gets a copy of its tables (a SQL
    source is never cached: every load reads the database again); a new kernel
    reads the project the runner validated (:func:`write_project_cache`) when its key matches.
    Installed through :func:`qieval.io.load.set_load_cache`, the hook ``load`` itself consults.
    """
    from ..io.load import load_config, load_data, set_load_cache

    if _BASE.get("load_cache_installed"):
        return
    store: dict = {}

    def cached(params_path):
        found = _stat_key(params_path)
        if found is None:
            return None  # not cacheable: load and validate as usual
        key, cache_file = found
        if key not in store:
            store.clear()
            data = _read_project_cache(key, cache_file) if cache_file.is_file() else None
            store[key] = data if data is not None else load_data(load_config(params_path))
        return _copy_project(store[key])

    set_load_cache(cached)
    _BASE["load_cache_installed"] = True


def _clear_namespace() -> None:
    """``%reset -f`` without its two full garbage collections (0.25 s each with pandas and
    matplotlib loaded); Python's generational collector still runs as usual."""
    import gc

    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    collect = gc.collect
    gc.collect = lambda *a, **k: 0
    try:
        shell.reset(new_session=False)
    finally:
        gc.collect = collect


def reset(cwd: str, seed: int = SEED) -> None:
    """(In the kernel) undo what the previous site may have changed, except imported modules."""
    import os
    import random
    import sys
    import warnings

    import numpy as np
    import pandas as pd

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    import matplotlib

    if "rc" in _BASE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matplotlib.rcParams.update({k: v for k, v in _BASE["rc"].items() if k != "backend"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.reset_option("all")
    if "warnings" in _BASE:
        warnings.filters[:] = _BASE["warnings"]
        warnings.onceregistry.clear()
        warnings._filters_mutated()  # "default"/"module" registries start afresh
    random.seed(seed)
    np.random.seed(seed)
    os.chdir(cwd)
    _clear_namespace()  # last: also removes the ``qieval_kernel`` name the reset cell defined


_PRELOAD_CODE = "import qieval.farm.kernel as qieval_kernel\nqieval_kernel.preload({modules!r})\ndel qieval_kernel"
_RESET_CODE = "import qieval.farm.kernel as qieval_kernel\nqieval_kernel.reset({cwd!r}, {seed})"


# ---- driving a kernel from the runner ---------------------------------------------------------

@dataclass
class Execution:
    """What happened when a notebook ran."""

    nb: nbformat.NotebookNode
    status: str  # "ok" | "failed" | "timeout"
    cell: int | None = None  # 1-based index in the executed notebook (parameters cell included)
    exec_count: int | None = None
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def error(self) -> str:
        return f"{self.ename}: {self.evalue}" if self.ename else ""


_NOTEBOOKS: dict[tuple[str, float], nbformat.NotebookNode] = {}
_NOTEBOOKS_LOCK = threading.Lock()


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook read with papermill's loader (cached by path and mtime); callers get a copy."""
    from papermill.iorw import load_notebook_node

    key = (str(path), path.stat().st_mtime)
    with _NOTEBOOKS_LOCK:
        nb = _NOTEBOOKS.get(key)
        if nb is None:
            nb = load_notebook_node(str(path))
            _NOTEBOOKS[key] = nb
    return copy.deepcopy(nb)


def parameterize(path: Path, parameters: dict, output_path: str | None = None) -> nbformat.NotebookNode:
    """Papermill's parameterisation: injected-parameters cell + ``metadata.papermill``."""
    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook(path)
    nb = parameterize_notebook(nb, parameters, kernel_name="python3")
    nb = prepare_notebook_metadata(nb, str(path), output_path)
    return remove_error_markers(nb)


class WarmKernel:
    """A Jupyter kernel kept alive across notebooks (see the module docstring)."""

    def __init__(self, kernel_name: str = "python3", *, max_sites: int = 50, startup_timeout: float = 60,
                 preload: tuple[str, ...] = PRELOAD, threads: int = 1):
        self.kernel_name = kernel_name
        self.threads = threads
        self.max_sites = max_sites
        self.startup_timeout = startup_timeout
        self.preload = preload
        self.km = None
        self.kc = None
        self.language_info: dict = {}
        self.sites_run = 0  # notebooks run in the current kernel
        self.kernels_started = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="qieval-warm-kernel")
        self._thread.start()

    # -- plumbing
    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def alive(self) -> bool:
        return self.km is not None and self._call(self._is_alive())

    async def _is_alive(self) -> bool:
        return bool(self.km is not None and await self.km.is_alive())

    async def _start(self, cwd: str | None) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        env = {**os.environ, **{k: str(self.threads) for k in THREAD_ENV}}
        await self.km.start_kernel(cwd=cwd, env=env, extra_arguments=[
            "--HistoryManager.hist_file=:memory:",  # no IPython history database
            "--IPKernelApp.log_level=ERROR",  # no "running over TCP without encryption" per kernel
        ])
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            await self.kc.wait_for_ready(timeout=self.startup_timeout)
        except Exception:
            await self._stop()
            raise
        self.kc.allow_stdin = False
        reply = await self.kc.kernel_info(reply=True, timeout=self.startup_timeout)
        self.language_info = reply["content"].get("language_info", {})
        self.kernels_started += 1
        self.sites_run = 0
        if self.preload:
            await self._run_code(_PRELOAD_CODE.format(modules=tuple(self.preload)),
                                 timeout=max(self.startup_timeout, 120))

    async def _stop(self) -> None:
        kc, km = self.kc, self.km
        self.kc = self.km = None
        if kc is not None:
            kc.stop_channels()
        if km is not None:
            try:
                if await km.is_alive():
                    await km.shutdown_kernel(now=True)
            except RuntimeError:
                pass
            finally:
                try:
                    await km.cleanup_resources()
                except Exception:  # noqa: BLE001 - best effort
                    pass

    async def _run_code(self, code: str, timeout: float) -> None:
        """Run code that is not part of the notebook (no history); raise if it fails."""
        from nbclient import NotebookClient

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        client = NotebookClient(nb, km=self.km, timeout=int(timeout), kernel_name=self.kernel_name)
        client.kc = self.kc
        await client.async_execute_cell(nb.cells[0], 0, store_history=False)

    # -- public
    def start(self, cwd: str | None = None) -> None:
        self._call(self._start(cwd))

    def stop(self) -> None:
        self._call(self._stop())

    def close(self) -> None:
        """Shut the kernel down and stop the event-loop thread."""
        try:
            self.stop()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def execute(self, nb: nbformat.NotebookNode, *, cwd: str, timeout: float | None = 600) -> Execution:
        """Run a parameterised notebook; the kernel is replaced after a failure or every ``max_sites``."""
        return self._call(self._execute(nb, cwd, timeout))

    async def _execute(self, nb, cwd, timeout) -> Execution:
        if self.km is not None and (self.sites_run >= self.max_sites or not await self.km.is_alive()):
            await self._stop()
        if self.km is None:
            await self._start(cwd)
        self.sites_run += 1
        t0 = time.perf_counter()
        try:
            await self._run_code(_RESET_CODE.format(cwd=str(cwd), seed=SEED), timeout=60)
        except Exception:  # noqa: BLE001 - a kernel that cannot reset is replaced and retried once
            await self._stop()
            await self._start(cwd)
            self.sites_run = 1
            await self._run_code(_RESET_CODE.format(cwd=str(cwd), seed=SEED), timeout=60)
        result = await self._execute_cells(nb, timeout)
        result.seconds = time.perf_counter() - t0
        if not result.ok:
            await self._stop()  # never reuse a kernel after an error or a timeout
        return result

    async def _execute_cells(self, nb, timeout) -> Execution:
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
        from papermill.clientwrap import PapermillNotebookClient
        from papermill.engines import NotebookExecutionManager

        nb_man = NotebookExecutionManager(nb, output_path=None, progress_bar=False, autosave_cell_every=0)
        nb_man.notebook_start()
        client = PapermillNotebookClient(nb_man, km=self.km, timeout=int(timeout) if timeout else None,
                                         kernel_name=self.kernel_name)
        client.kc = self.kc
        client.reset_execution_trackers()
        result = Execution(nb, "ok")
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and cell.source.strip():
                count += 1
            try:
                nb_man.cell_start(cell, index)
                await client.async_execute_cell(cell, index, execution_count=count or None)
            except CellExecutionError:
                nb_man.cell_exception(nb.cells[index], cell_index=index)
                err = next((o for o in nb.cells[index].get("outputs", []) if o.get("output_type") == "error"),
                           None)
                result = Execution(nb, "failed", index + 1, count,
                                   err.get("ename", "Error") if err else "CellExecutionError",
                                   err.get("evalue", "") if err else "",
                                   list(err.get("traceback", [])) if err else [])
                break
            except (CellTimeoutError, DeadKernelError) as exc:
                nb_man.cell_exception(nb.cells[index], cell_index=index)
                timed_out = isinstance(exc, CellTimeoutError)
                ename = "CellTimeoutError" if timed_out else "DeadKernelError"
                evalue = (f"the cell did not finish within {timeout:g} s" if timed_out
                          else "the kernel died while running the cell")
                tb = [f"{ename}: {evalue}"]
                cell = nb.cells[index]
                cell.execution_count = count
                cell.setdefault("outputs", []).append(nbformat.v4.new_output(
                    "error", ename=ename, evalue=evalue, traceback=tb))
                result = Execution(nb, "timeout" if timed_out else "failed", index + 1, count, ename,
                                   evalue, tb)
                break
            finally:
                nb_man.cell_complete(nb.cells[index], cell_index=index)
        nb.metadata["language_info"] = self.language_info
        nb_man.notebook_complete()
        return result

