"""Provenance of a report: input file hashes, params, versions, commit, time of the run."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..format import file_digest

KEY_PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "papermill", "nbconvert")


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (memoised per process on the file's inode, size, modification
    *and change* time: an edit that restores the mtime is hashed again; :func:`qieval.format.file_digest`)."""
    return file_digest(path)


@lru_cache(maxsize=8)
def git_commit(root: Path) -> str:
    """Commit of the working tree (``+dirty`` if it has uncommitted changes), or 'unknown'.
    Memoised per process: a warm kernel lives for one ``qieval run``."""
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def project_relative(path: Path | str, root: Path | str) -> str:
    """A path as reports show it: relative to the project root (``data/x/sites.csv``), or just the
    file name when it lies outside the project, never an absolute path on the server."""
    p, r = Path(path).resolve(), Path(root).resolve()
    try:
        return p.relative_to(r).as_posix()
    except ValueError:
        return p.name


def provenance(files: dict[str, Path], params_path: Path, root: Path) -> dict:
    """Everything needed to say how a report was made."""
    inputs = {project_relative(p, root): sha256(p) for p in [params_path, *files.values()]}
    versions = {"python": platform.python_version(), "qieval": __version__}
    for pkg in KEY_PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "inputs": inputs,
        "versions": versions,
        "git_commit": git_commit(root),
        "ran_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
