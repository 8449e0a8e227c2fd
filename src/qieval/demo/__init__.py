"""Seeded generators for the demo projects; :func:`write_demo` writes their data and params.

Output is deterministic: the same bytes every time (fixed seeds, fixed formatting, ``\\n`` line
endings), so a rerun of ``qieval demo`` never shows a spurious change in git.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import accreditation, deprescribing, opioids, pccc

PROJECTS = {"deprescribing": deprescribing, "opioids": opioids, "pccc": pccc}


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.to_csv(index=False, lineterminator="\n")
    path.write_bytes(text.encode("utf-8"))


def write_demo(root: str | Path = ".") -> list[Path]:
    """Write every demo project's params and data under ``root``; return the files written."""
    root = Path(root)
    written: list[Path] = []
    for project_id, module in PROJECTS.items():
        params = root / "params" / f"{project_id}.yaml"
        params.parent.mkdir(parents=True, exist_ok=True)
        params.write_bytes(module.PARAMS.encode("utf-8"))
        written.append(params)
        data_dir = root / "data" / project_id
        tables = {
            "sites": module.SITES,
            # a project whose measures all come from its records has no measure_values table
            "measure_values": module.measure_values() if hasattr(module, "measure_values") else None,
            "pdsa_cycles": module.pdsa_cycles(),
        }
        for name, frame in tables.items():
            if frame is None:
                continue
            path = data_dir / f"{name}.csv"
            _write_csv(frame, path)
            written.append(path)
        if hasattr(module, "write_records"):  # record-level input (qieval.records)
            written.append(module.write_records(data_dir / module.RECORDS_FILE))
    written += accreditation.write(root)  # standards framework + assessments
    return written
