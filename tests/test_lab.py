"""``qieval lab``: JupyterLab comes with the set-up and opens at the project root."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def test_jupyter_lab_is_installed_in_the_environment():
    out = subprocess.run([str(BIN / "jupyter"), "lab", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    major = int(out.stdout.strip().split(".")[0])
    assert major >= 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # starts a JupyterLab server
def test_lab_serves_the_project_root_when_started_from_notebooks(tmp_path):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "p.yaml").write_text("project: {id: p}\n")
    (tmp_path / "notebooks").mkdir()
    port, token = _free_port(), "qieval-test-token"
    proc = subprocess.Popen(
        [str(BIN / "qieval"), "lab", "--no-browser", "--port", str(port), "--",
         f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1"],
        cwd=tmp_path / "notebooks", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")})
    try:
        listing, deadline = None, time.monotonic() + 90
        while listing is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={token}"
                with urllib.request.urlopen(url, timeout=5) as r:
                    listing = json.load(r)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer:\n" + (proc.poll() is not None and proc.stdout.read() or "")
        names = {item["name"] for item in listing["content"]}
        assert {"params", "notebooks"} <= names, names  # the top folder is the project root, not notebooks/
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        proc.terminate()  # qieval lab became the server (exec): terminating it stops JupyterLab
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    time.sleep(0.5)
    with socket.socket() as s:  # the port is free again: no server left behind
        assert s.connect_ex(("127.0.0.1", port)) != 0, "JupyterLab still listening after qieval lab was stopped"


def test_project_root_is_found_from_a_subfolder(tmp_path):
    from qieval.cli import project_root

    (tmp_path / "notebooks" / "examples").mkdir(parents=True)
    assert project_root(tmp_path / "notebooks" / "examples") == tmp_path  # a checkout without params/ yet
    (tmp_path / "notebooks" / "examples" / "params").mkdir()
    assert project_root(tmp_path / "notebooks" / "examples") == tmp_path / "notebooks" / "examples"
