"""Fixtures for the trust tests: the demo rendered once per session, twice in parallel
(the second copy is only for the determinism test), with ``qieval run`` as a subprocess exactly as
a user runs it."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SITE = "riverside"
PROJECT = "deprescribing"
RUN = [sys.executable, "-m", "qieval.cli", "run", f"params/{PROJECT}.yaml", "--quiet"]
RUN_ONE = [*RUN, "--sites", SITE]
RENDER_TIMEOUT = 240


@dataclass
class Render:
    root: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def site_html(self) -> Path:
        return self.reports / PROJECT / "sites" / f"{SITE}.html"

    def html_files(self) -> list[Path]:
        """Every rendered HTML page (not the ``*.failed.html`` pages, not hidden temporary files)."""
        return sorted(p for p in self.reports.rglob("*.html")
                      if not p.name.startswith(".") and not p.name.endswith(".failed.html"))


def _start(root: Path, cmd: list[str]) -> subprocess.Popen:
    from qitest_support import demo_copy

    demo_copy(root)
    return subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(root: Path, proc: subprocess.Popen, t0: float) -> Render:
    try:
        out, err = proc.communicate(timeout=RENDER_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return Render(root, proc.returncode, out, err, time.perf_counter() - t0)


@pytest.fixture(scope="session")
def renders(tmp_path_factory) -> tuple[Render, Render]:
    """Two independent renders into two temporary project roots, run at the same time: (a) the
    whole demo project (every site, the project-level reports, the index), (b) one site
    (``--sites riverside``, plus the project-level reports), for the determinism test."""
    roots = [tmp_path_factory.mktemp("trust_a"), tmp_path_factory.mktemp("trust_b")]
    t0 = time.perf_counter()
    procs = [_start(r, cmd) for r, cmd in zip(roots, (RUN, RUN_ONE))]
    a, b = (_finish(r, p, t0) for r, p in zip(roots, procs))
    # (a) also gets a commissioner copy (reports/<project>/commissioner/), scanned for small counts
    subprocess.run([*RUN, "--audience", "commissioner"], cwd=roots[0], capture_output=True, text=True,
                   timeout=RENDER_TIMEOUT)
    return a, b


@pytest.fixture(scope="session")
def rendered(renders) -> Render:
    """The full render; fails every test that uses it if ``qieval run`` failed."""
    r = renders[0]
    assert r.returncode == 0, f"qieval run failed ({r.returncode}):\n{r.stderr[-3000:]}"
    assert r.site_html.is_file(), f"{r.site_html} was not written"
    return r


@dataclass
class BoardRender:
    """A copy of the full render with a public copy added and PDF copies of every report
    (``qieval run --pdf-sites``) for each audience."""

    root: Path
    runs: dict[str, subprocess.CompletedProcess]

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def project_dir(self, audience: str) -> Path:
        base = self.reports / PROJECT
        return base if audience == "evaluator" else base / audience


AUDIENCES = ("evaluator", "commissioner", "public")


@pytest.fixture(scope="session")
def board(rendered, tmp_path_factory) -> BoardRender:
    """The session's full render copied (unchanged reports are not rendered again; a public copy is
    added), then ``qieval run --pdf-sites --audience A`` for each audience."""
    import shutil

    root = tmp_path_factory.mktemp("board") / "project"
    shutil.copytree(rendered.root, root, ignore=shutil.ignore_patterns(".*.tmp"))
    runs = {a: subprocess.run([*RUN, "--pdf-sites", "--audience", a], cwd=root, capture_output=True, text=True,
                              timeout=RENDER_TIMEOUT) for a in AUDIENCES}
    return BoardRender(root, runs)
