"""The report farm with real papermill/nbclient/Jupyter kernels: warm kernels reproduce a
fresh-kernel papermill run exactly, failures and timeouts are isolated, runs are incremental,
reports/index.html is complete and self-contained, and a Dask LocalCluster renders the same sites."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from qieval.config import load_config
from qieval.demo import write_demo
from qieval.io.load import load_data
from qieval.farm.batch import run_farm, site_hashes, summary_table
from qieval.farm.runner import notebook_path, run_site

QIEVAL = [sys.executable, "-m", "qieval.cli"]
SITES = ["hillside", "riverside", "abbey_view", "meadowbank"]
REPO_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "site_report.ipynb"


def _project(root: Path):
    config = load_config(root / "params" / "deprescribing.yaml")
    return config, load_data(config)


def _farm(root: Path, **kw):
    config, data = _project(root)
    kw.setdefault("progress", False)
    kw.setdefault("project_reports", False)
    return run_farm(config, data, kw.pop("sites", None), **kw)


def _normalise(html: str) -> str:
    return re.sub(r"Report generated [^<]*", "Report generated <time>", html)


def _with_cell(root: Path, source: str, index: int = 2) -> Path:
    """Give the project its own copy of the site notebook with an extra cell."""
    nb = nbformat.read(REPO_NOTEBOOK, as_version=4)
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    path = root / "notebooks" / "site_report.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """All four demo sites rendered by ONE warm kernel (one worker, so each later site runs in a
    kernel that has already run the earlier ones)."""
    root = tmp_path_factory.mktemp("farm")
    write_demo(root)
    result = _farm(root, workers=1)
    return root, result


# ---- warm kernel == fresh kernel --------------------------------------------------------------------

def test_first_run_renders_every_site(first_run):
    root, result = first_run
    assert result.ok, summary_table(result)
    assert [o.site_id for o in result.outcomes] == SITES
    out = root / "reports/deprescribing/sites"
    for s in SITES:
        assert (out / f"{s}.html").stat().st_size > 10_000
        assert (out / f"{s}.ipynb").is_file() and (out / f"{s}.json").is_file()
        nb = nbformat.read(out / f"{s}.ipynb", as_version=4)
        # papermill's parameterisation: injected-parameters cell and papermill metadata
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
        assert nb.metadata.papermill["parameters"]["site_id"] == s
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), "execution counts as in a fresh kernel"
    assert not list(out.glob(".*tmp")), "temporary files left behind"


def test_warm_kernel_matches_fresh_papermill_run(first_run):
    """The last two sites ran in a kernel that had already run other sites; papermill with a fresh
    kernel per site must give identical JSON results and identical HTML (bar the run time)."""
    root, _ = first_run
    config, _ = _project(root)
    warm = root / "reports/deprescribing/sites"
    fresh = root / "fresh"
    for s in ("abbey_view", "meadowbank"):
        outcome = run_site(config, s, out_dir=fresh, progress=False)
        assert outcome.ok, outcome.describe()
        assert json.loads((warm / f"{s}.json").read_text()) == json.loads((fresh / f"{s}.json").read_text())
        warm_html, fresh_html = (warm / f"{s}.html").read_text(), (fresh / f"{s}.html").read_text()
        assert "Report generated" in warm_html
        assert _normalise(warm_html) == _normalise(fresh_html)
        # figures identical too (they are inline SVG in the HTML; checked separately for clarity)
        figures = lambda h: re.findall(r'<img[^>]*>|<svg.*?</svg>', h, flags=re.S)  # noqa: E731
        assert figures(warm_html) and figures(warm_html) == figures(fresh_html)


def test_kernel_state_is_reset_between_sites(tmp_path):
    """Names, pandas options, matplotlib rcParams and random seeds set by one site are not seen by
    the next one in the same kernel."""
    write_demo(tmp_path)
    _with_cell(tmp_path, "\n".join([
        "import random, numpy as np, pandas as pd, matplotlib as mpl",
        "assert 'leaked' not in globals(), 'namespace not reset'",
        "assert pd.get_option('display.max_rows') == 60, 'pandas options not reset'",
        "assert mpl.rcParams['lines.linewidth'] == 1.5, 'rcParams not reset'",
        "draw = (random.random(), float(np.random.random()))",
        "leaked = draw; pd.set_option('display.max_rows', 3); mpl.rcParams['lines.linewidth'] = 9",
        "print(draw)",
    ]), index=1)
    result = _farm(tmp_path, workers=1, sites=SITES[:3])
    assert result.ok, summary_table(result)
    draws = set()
    for s in SITES[:3]:
        nb = nbformat.read(tmp_path / f"reports/deprescribing/sites/{s}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "code" and "draw = (" in c.source)
        draws.add(cell.outputs[0]["text"])
    assert len(draws) == 1, "random seeds not reset between sites"


# ---- failure isolation ------------------------------------------------------------------------------

def test_failing_site_is_isolated_and_reported(demo_root):
    root = demo_root
    run = lambda: subprocess.run([*QIEVAL, "run", "params/deprescribing.yaml", "--sites", "hillside,riverside",  # noqa: E731
                                  "--workers", "2", "--quiet", "--no-project-reports"],
                                 cwd=root, capture_output=True, text=True, timeout=240)
    good = run()
    assert good.returncode == 0, good.stderr[-2000:]
    out = root / "reports/deprescribing/sites"
    old_html = (out / "riverside.html").read_bytes()
    old_json = (out / "riverside.json").read_bytes()

    _with_cell(root, 'if site_id == "riverside":\n    raise RuntimeError("no list size for " + site_id)')
    proc = run()
    assert proc.returncode == 1
    assert re.search(r"riverside: FAILED in cell 4\b.*RuntimeError: no list size for riverside", proc.stderr)
    # the other site completed with the new notebook
    assert (out / "hillside.html").is_file() and not (out / "hillside.failed.html").exists()
    assert len(nbformat.read(out / "hillside.ipynb", as_version=4).cells) == len(
        nbformat.read(root / "notebooks/site_report.ipynb", as_version=4).cells) + 1  # + injected cell
    # the failed site: last good report untouched, failed notebook kept, failure page written
    assert (out / "riverside.html").read_bytes() == old_html
    assert (out / "riverside.json").read_bytes() == old_json, "results JSON must match the last good report"
    failed_nb = nbformat.read(out / "riverside.failed.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in failed_nb.cells for o in c.get("outputs", []))
    page = (out / "riverside.failed.html").read_text()
    assert "cell 4" in page and "RuntimeError: no list size for riverside" in page
    assert 'href="riverside.html"' in page and 'href="riverside.failed.ipynb"' in page
    assert not re.search(r"https?://", page)
    index = (root / "reports/index.html").read_text()
    row = re.search(r'<tr><th scope="row">riverside</th>.*?</tr>', index).group(0)
    assert "Failed" in row and "sites/riverside.html" in row and "sites/riverside.failed.html" in row
    manifest = json.loads((root / "reports/deprescribing/manifest.json").read_text())
    assert manifest["sites"]["riverside"]["status"] == "failed" and manifest["sites"]["riverside"]["cell"] == 4
    assert manifest["sites"]["hillside"]["status"] == "ok"

    # fixed notebook: the failure artefacts go, the site is rerun even though nothing else changed
    shutil.rmtree(root / "notebooks")
    fixed = subprocess.run([*QIEVAL, "run", "params/deprescribing.yaml", "--sites", "riverside", "--quiet",
                            "--no-project-reports"], cwd=root, capture_output=True, text=True, timeout=240)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert not (out / "riverside.failed.html").exists() and not (out / "riverside.failed.ipynb").exists()


def test_timeout_is_recorded_and_the_kernel_replaced(tmp_path):
    write_demo(tmp_path)
    _with_cell(tmp_path, "import os, time\nprint('kernel', os.getpid())\n"
                         "if site_id == 'hillside':\n    time.sleep(30)")
    result = _farm(tmp_path, workers=1, timeout=2, sites=["hillside", "riverside"])
    by = {o.site_id: o for o in result.outcomes}
    assert by["hillside"].status == "timeout" and by["hillside"].cell == 4
    assert "CellTimeoutError" in by["hillside"].error
    assert by["riverside"].ok
    out = tmp_path / "reports/deprescribing/sites"
    def pid(nb):  # the "kernel <pid>" line (papermill's error markers shift the failed notebook's cells)
        cell = next(c for c in nb.cells if c.cell_type == "code" and "print('kernel'" in c.source)
        return next(o["text"] for o in cell.outputs if o.get("name") == "stdout")

    failed = nbformat.read(out / "hillside.failed.ipynb", as_version=4)
    ok = nbformat.read(out / "riverside.ipynb", as_version=4)
    assert pid(failed) != pid(ok), "the kernel that timed out must be replaced"
    assert "timed out" in (out / "hillside.failed.html").read_text()
    assert "hillside: TIMED OUT in cell 4" in by["hillside"].describe()


# ---- incremental runs, index ----------------------------------------------------------------------

def test_incremental_runs(first_run, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(first_run[0], root)
    again = _farm(root, workers=2)
    assert [o.status for o in again.outcomes] == ["unchanged"] * 4 and again.ok

    csv = root / "data/deprescribing/measure_values.csv"
    lines = csv.read_text().splitlines(keepends=True)
    i = next(k for k, ln in enumerate(lines) if ln.startswith("meadowbank,2022-01,clinician_minutes"))
    fields = lines[i].rstrip("\n").split(",")
    fields[-1] = f"{float(fields[-1]) + 0.5:.2f}"
    lines[i] = ",".join(fields) + "\n"
    csv.write_text("".join(lines))
    before = (root / "reports/deprescribing/sites/hillside.html").stat().st_mtime_ns
    touched = _farm(root, workers=2)
    assert {o.site_id: o.status for o in touched.outcomes} == {
        "hillside": "unchanged", "riverside": "unchanged", "abbey_view": "unchanged", "meadowbank": "ok"}
    assert (root / "reports/deprescribing/sites/hillside.html").stat().st_mtime_ns == before

    forced = _farm(root, workers=2, force=True)
    assert [o.status for o in forced.outcomes] == ["ok"] * 4


def test_site_hash_depends_only_on_the_sites_own_inputs(demo_root):
    config, data = _project(demo_root)
    nb = notebook_path(config)
    h0 = site_hashes(data, SITES, nb)
    assert len(set(h0.values())) == 4
    data.measure_values.loc[data.measure_values["site_id"] == "riverside", "value"] += 1
    h1 = site_hashes(data, SITES, nb)
    assert [s for s in SITES if h0[s] != h1[s]] == ["riverside"]
    data.pdsa_cycles.loc[0, "site_id"] = "ALL"  # a network-wide cycle concerns every site
    h2 = site_hashes(data, SITES, nb)
    assert all(h2[s] != h1[s] for s in SITES)


class _Index(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.row_headers, self.col_headers, self.captions = [], [], [], 0
        self._th = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            self.links.append(a["href"])
        if tag == "th":
            self._th = a.get("scope")
        if tag == "caption":
            self.captions += 1

    def handle_data(self, data):
        if self._th == "row":
            self.row_headers.append(data.strip())
        elif self._th == "col":
            self.col_headers.append(data.strip())
        self._th = None


def test_index_lists_every_site_with_relative_links(first_run):
    root, _ = first_run
    index = root / "reports/index.html"
    html = index.read_text()
    assert not re.search(r"https?://", html) and "<script" not in html and "<link" not in html
    p = _Index()
    p.feed(html)
    assert p.row_headers == SITES
    assert {"Site", "Status", "Last run", "Input hash", "Links"} <= set(p.col_headers)
    assert p.captions >= 1
    site_links = [h for h in p.links if not h.startswith("#")]
    assert len(site_links) == 8  # report + executed notebook per site
    for href in site_links:
        assert not href.startswith("/") and (index.parent / href).is_file(), href
    manifest = json.loads((root / "reports/deprescribing/manifest.json").read_text())
    for s in SITES:
        assert manifest["sites"][s]["hash"][:12] in html
        assert manifest["sites"][s]["last_run"] in html


# ---- Dask ------------------------------------------------------------------------------------------

def test_dask_local_cluster_renders_the_same_sites(first_run, tmp_path):
    pytest.importorskip("distributed")
    write_demo(tmp_path)
    result = _farm(tmp_path, executor="dask", workers=2, sites=["riverside", "abbey_view"])
    assert result.ok, summary_table(result)
    assert "Dask" in result.workers
    workers = {o.worker.split("/")[0] for o in result.outcomes}
    assert str(__import__("os").getpid()) not in workers, "sites must run on the Dask workers"
    for s in ("riverside", "abbey_view"):
        a = (tmp_path / f"reports/deprescribing/sites/{s}.json").read_text()
        b = (first_run[0] / f"reports/deprescribing/sites/{s}.json").read_text()
        assert json.loads(a) == json.loads(b)
        assert _normalise((tmp_path / f"reports/deprescribing/sites/{s}.html").read_text()) == _normalise(
            (first_run[0] / f"reports/deprescribing/sites/{s}.html").read_text())


def test_dask_existing_scheduler_and_process_pool(first_run, tmp_path):
    """``--scheduler tcp://…`` sends jobs to a cluster that is already running (its workers keep
    their kernels until the run ends); the process-pool executor renders the same report."""
    distributed = pytest.importorskip("distributed")
    write_demo(tmp_path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = _farm(tmp_path, executor="dask", scheduler=cluster.scheduler_address, sites=["hillside"])
        assert result.ok, summary_table(result)
        assert cluster.scheduler_address in result.workers
    procs = _farm(tmp_path, executor="processes", workers=1, sites=["meadowbank"])
    assert procs.ok, summary_table(procs)
    for s in ("hillside", "meadowbank"):
        assert _normalise((tmp_path / f"reports/deprescribing/sites/{s}.html").read_text()) == _normalise(
            (first_run[0] / f"reports/deprescribing/sites/{s}.html").read_text())


def test_cli_rejects_a_scheduler_without_dask(demo_root):
    proc = subprocess.run([*QIEVAL, "run", "params/deprescribing.yaml", "--scheduler", "tcp://127.0.0.1:1"],
                          cwd=demo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--executor dask" in proc.stderr


def test_index_and_summary_without_running_kernels(tmp_path):
    """Index of a hand-made manifest: project-level reports, failures, missing files not linked."""
    from qieval.farm.batch import FarmResult
    from qieval.farm.index import write_index
    from qieval.farm.runner import SiteOutcome

    project = tmp_path / "reports" / "p1"
    (project / "sites").mkdir(parents=True)
    (project / "sites" / "a.html").write_text("ok")
    (project / "sites" / "b.failed.html").write_text("failed")
    (project / "network.html").write_text("net")
    (project / "manifest.json").write_text(json.dumps({
        "project": "p1", "title": "Project <one>", "site_order": ["b", "a"],
        "sites": {"a": {"status": "ok", "hash": "ab" * 32, "last_run": "2026-01-01 00:00:00 UTC",
                        "html": "sites/a.html", "notebook": "sites/a.ipynb"},
                  "b": {"status": "timeout", "hash": "cd" * 32, "last_run": "2026-01-02 00:00:00 UTC",
                        "cell": 3, "error": "CellTimeoutError: slow", "failed_html": "sites/b.failed.html",
                        "html": "sites/b.html"}},
        "project_reports": {"network": {"status": "ok", "hash": "ef" * 32, "html": "network.html"}}}))
    html = write_index(tmp_path / "reports").read_text()
    p = _Index()
    p.feed(html)
    assert p.row_headers == ["network", "b", "a"]
    assert "Project &lt;one&gt;" in html and "Timed out (cell 3)" in html
    assert 'href="p1/sites/b.failed.html"' in html and 'href="p1/network.html"' in html
    assert "sites/b.html" not in html and "a.ipynb" not in html, "links only to files that exist"
    assert not re.search(r"https?://", html)

    rows = [SiteOutcome(f"s{i}", True, tmp_path / f"s{i}.html", status="ok", seconds=1.0) for i in range(50)]
    rows[7] = SiteOutcome("s7", False, None, tmp_path / "s7.failed.ipynb", 4, "ValueError: x", "failed")
    text = summary_table(FarmResult("p1", rows, seconds=10.0), max_rows=40)
    assert "s7" in text and "cell 4: ValueError: x" in text and "s8 " not in text
    assert "1 failed, 49 ok in 10.0 s; 300 site reports a minute" in text
