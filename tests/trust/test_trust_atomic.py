""""A report is written to a temporary file and moved into place: a crash or Ctrl-C
mid-run never leaves a half-written HTML over the previous good one (test: kill a run mid-way,
the old report survives)."

A copy of the session's rendered project is re-run with ``--force`` and killed (SIGKILL: a crash;
SIGINT: Ctrl-C) at different moments: early (kernel start-up), while the site notebook runs (its
JSON rewritten), and while the network notebook runs (the site pages just written). Afterwards each
report must be the old bytes or a complete new page, the manifest must be valid JSON, and no
temporary file may have replaced a report. Also a unit test of ``write_atomic`` interrupted at the
replace step.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from trust_helpers import structure

from qieval import format as qformat

SITE = "riverside"
RUN = [sys.executable, "-m", "qieval.cli", "run", "params/deprescribing.yaml", "--sites", SITE, "--force",
       "--quiet", "--workers", "1"]


def _descendants(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid`` (from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _stop_tree(pids: list[int]) -> None:
    """SIGKILL processes this test started (by pid), if they are still alive."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_for(cond, timeout: float) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _complete(html: bytes) -> bool:
    text = html.decode("utf-8")
    s = structure(text)
    return s.ends_with_html and bool(s.headings) and "Report generated" in text


@pytest.fixture
def project(rendered, tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(rendered.root, root, ignore=shutil.ignore_patterns("*.ipynb_checkpoints"))
    return root


def _outputs(root: Path) -> dict[str, Path]:
    d = root / "reports" / "deprescribing"
    return {"site": d / "sites" / f"{SITE}.html", "network": d / "network.html", "index": root / "reports" / "index.html"}


# when to kill: a name and a function (root, start time) → wait until that moment
MOMENTS = {
    "early": lambda root, t0: time.sleep(max(0.0, 1.5 - (time.monotonic() - t0))) or True,
    "site-notebook-running": lambda root, t0: _wait_for(
        lambda: (root / "reports/deprescribing/sites" / f"{SITE}.json").stat().st_mtime > t0_wall[root], 120),
    "network-notebook-running": lambda root, t0: _wait_for(
        lambda: (root / "reports/deprescribing/network.json").stat().st_mtime > t0_wall[root], 120),
}
t0_wall: dict[Path, float] = {}


@pytest.mark.parametrize("sig, moment", [(signal.SIGKILL, "early"), (signal.SIGINT, "early"),
                                         (signal.SIGKILL, "site-notebook-running"),
                                         (signal.SIGINT, "network-notebook-running")],
                         ids=["SIGKILL-early", "SIGINT-early", "SIGKILL-site-running", "SIGINT-network-running"])
def test_killed_run_never_leaves_a_half_written_report(project, sig, moment):
    outputs = _outputs(project)
    before = {k: p.read_bytes() for k, p in outputs.items()}
    assert all(_complete(v) for k, v in before.items() if k != "index")
    time.sleep(0.05)
    t0_wall[project] = time.time()
    t0 = time.monotonic()
    proc = subprocess.Popen(RUN, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree: list[int] = []
    try:
        reached = MOMENTS[moment](project, t0)
        tree = _descendants(proc.pid)
        killed_at = time.monotonic() - t0
        os.kill(proc.pid, sig)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    finally:
        _stop_tree([proc.pid, *tree, *_descendants(proc.pid)])
    changed = [k for k, p in outputs.items() if p.is_file() and p.read_bytes() != before[k]]
    print(f"{sig.name} at {killed_at:.1f} s ({moment}): exit {proc.returncode} after "
          f"{time.monotonic() - t0:.1f} s; replaced: {changed or 'none'}; stderr: {err.strip()[-300:]!r}")
    assert reached, f"the run never reached the moment {moment!r}"
    if moment != "network-notebook-running":  # that one may just finish before the signal lands
        assert proc.returncode != 0, f"a run killed with {sig.name} reported success"
    for name, path in outputs.items():
        assert path.is_file(), f"{name}: {path.name} disappeared after {sig.name} ({moment})"
        now = path.read_bytes()
        if now != before[name]:
            assert _complete(now) or name == "index", f"{name}: {path.name} is neither the old report nor a complete new one"
            assert now.rstrip().endswith(b"</html>"), f"{name}: truncated"
    manifest = project / "reports/deprescribing/manifest.json"
    json.loads(manifest.read_text(encoding="utf-8"))  # never half-written
    visible_tmp = [p.name for p in (project / "reports").rglob("*.tmp") if not p.name.startswith(".")]
    assert not visible_tmp, f"temporary files that are not hidden: {visible_tmp}"


def test_write_atomic_interrupted_at_the_move_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "site.html"
    target.write_text("<html>old</html>", encoding="utf-8")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(qformat.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        qformat.write_atomic(target, "<html>new" + "x" * 100_000)
    assert target.read_text(encoding="utf-8") == "<html>old</html>"
    assert [p.name for p in tmp_path.iterdir()] == ["site.html"], "the temporary file was not cleaned up"


def test_write_atomic_replaces_whole_files(tmp_path):
    target = tmp_path / "sub" / "page.html"
    qformat.write_atomic(target, "<html>one</html>")
    qformat.write_atomic(target, "<html>two</html>")
    assert target.read_text(encoding="utf-8") == "<html>two</html>"
    assert sorted(p.name for p in target.parent.iterdir()) == ["page.html"]
