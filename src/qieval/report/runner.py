"""Run a per-site notebook with papermill and render it to HTML.

A failing site does not stop the others: its executed notebook (with the traceback) is kept beside
the last good HTML as ``<site>.failed.ipynb``, and the failure names the cell that failed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..config import ProjectConfig, display_path
from .exporter import notebook_to_html, write_atomic

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"


@dataclass
class SiteOutcome:
    site_id: str
    ok: bool
    html: Path | None = None
    notebook: Path | None = None
    cell: int | None = None
    error: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"{self.site_id}: ok → {display_path(self.html)}"
        where = f"cell {self.cell}" if self.cell is not None else "before any cell ran"
        return (f"{self.site_id}: FAILED in {where}: {self.error} "
                f"(executed notebook kept at {display_path(self.notebook)})")


def notebook_path(config: ProjectConfig, name: str = "site_report.ipynb") -> Path:
    """The project's notebook (``notebooks/`` beside the params folder, else the package's)."""
    local = config.root / "notebooks" / name
    return local if local.is_file() else NOTEBOOKS / name


def _failed_cell(nb: nbformat.NotebookNode) -> tuple[int | None, str]:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i + 1, f"{out.get('ename')}: {out.get('evalue')}"
    return None, ""


def run_site(config: ProjectConfig, site_id: str, *, out_dir: Path | None = None,
             progress: bool = True, timeout: int = 600) -> SiteOutcome:
    """Execute ``notebooks/site_report.ipynb`` for one site and write its HTML and notebook."""
    import papermill as pm

    out_dir = out_dir or config.root / "reports" / config.id / "sites"
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{site_id}.ipynb"
    failed = out_dir / f"{site_id}.failed.ipynb"
    tmp = out_dir / f".{site_id}.{os.getpid()}.ipynb"
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
    html = notebook_to_html(nb, f"{config.title}: {site_id}")
    target = out_dir / f"{site_id}.html"
    write_atomic(target, html)
    os.replace(tmp, executed)
    if failed.exists():
        failed.unlink()
    return SiteOutcome(site_id, True, target, executed)
