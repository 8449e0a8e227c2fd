"""The bottom layer every other module may use: numbers, p-values and months formatted for
people, and atomic file writes. It imports nothing from qieval.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd


def fmt_num(x: float | None, decimals: int = 1) -> str:
    """Number for people: thousands separators, fixed decimals, an en dash for missing."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or pd.isna(x):
        return "–"
    return f"{x:,.{decimals}f}"


def fmt_p(p: float | None) -> str:
    """p-value as usually reported: 'p < 0.001' below 0.001, else three decimals."""
    if p is None or pd.isna(p):
        return "–"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_month(ts) -> str:
    """A month as 'Jan 2024' (an en dash for missing)."""
    return "–" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%b %Y")


def write_atomic(path: Path | str, data: str | bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to a temporary file beside ``path``, then move it into
    place: a crash or Ctrl-C never leaves a half-written file over the previous good one, and a
    reader never sees a partial file. ``mode`` (e.g. ``0o600`` for a file only its owner may read)
    is set before the file appears. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


__all__ = ["fmt_num", "fmt_p", "fmt_month", "write_atomic"]
