"""The bottom layer every other module may use: numbers, p-values and months formatted for
people, and atomic file writes. It imports nothing from qieval.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import threading
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd


def _finite(x) -> bool:
    """A number that is neither missing nor infinite."""
    return x is not None and not pd.isna(x) and bool(np.isfinite(float(x)))


def fmt_num(x: float | None, decimals: int = 1) -> str:
    """Number for people: thousands separators, fixed decimals, an en dash for missing."""
    if not _finite(x):
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


def _num(x: float | None, decimals: int) -> str:
    """:func:`fmt_num` without a minus sign on a value that rounds to zero ("-0" → "0")."""
    text = fmt_num(x, decimals)
    if text.startswith("-") and not text.strip("-0.,"):
        return text[1:]
    return text


def interval_decimals(estimate: float | None, low: float | None, high: float | None,
                      decimals: int = 1, max_decimals: int = 6) -> int:
    """Decimal places for an estimate and its interval: at least ``decimals``, and more where
    needed so that (1) two different ends never print alike ("0.3 (0.3 to 0.3)") and (2) an
    estimate below 1 shows two significant figures (0.031, not 0.0). At most ``max_decimals``."""
    d = max(0, int(decimals))
    if _finite(estimate) and 0 < abs(float(estimate)) < 1:
        d = max(d, 1 - int(np.floor(np.log10(abs(float(estimate))))))
    if _finite(low) and _finite(high):
        lo, hi = float(low), float(high)
        if abs(hi - lo) > 1e-12 * max(1.0, abs(lo), abs(hi)):
            while d < max_decimals and f"{lo:.{d}f}" == f"{hi:.{d}f}":
                d += 1
    return min(d, max(max_decimals, int(decimals)))


def fmt_interval(estimate: float | None, low: float | None, high: float | None, decimals: int = 1,
                 suffix: str = "") -> str:
    """``estimate (low to high)`` with :func:`interval_decimals` places (``suffix`` after the
    estimate, e.g. ``pp``): ``0.31 (0.27 to 0.35)``, never ``0.3 (0.3 to 0.3)``."""
    d = interval_decimals(estimate, low, high, decimals)
    return f"{_num(estimate, d)}{suffix} ({_num(low, d)} to {_num(high, d)})"


def fmt_count(x: float | None, noun: str | None = None) -> str:
    """A count as a whole number with thousands separators, and its noun if any:
    ``6,092 attendances`` (never ``6,092.0 count``); an en dash for missing."""
    if not _finite(x):
        return "–"
    text = f"{int(round(float(x))):,}"
    return f"{text} {noun}" if noun else text


def fmt_value(x: float | None, unit: str, decimals: int = 1, label: str | None = None) -> str:
    """A measure's value in running text, with its unit: ``45.2%`` (percent), ``6,092 attendances``
    or ``6,092`` (a count: whole numbers without decimals; a mean count keeps its decimals),
    ``0.31 per 1,000`` (rate), ``6.07 minutes per patient`` (continuous). ``label`` is the unit
    as written after the number (None: none); a percent's ``%`` follows without a space. Values
    below 1 get two significant figures (see :func:`interval_decimals`)."""
    if not _finite(x):
        return "–"
    v = float(x)
    if unit == "count" and v == round(v):
        return fmt_count(v, label)
    text = _num(v, interval_decimals(v, None, None, decimals))
    if unit == "percent" and label in (None, "%"):
        return f"{text}%"
    return f"{text} {label}" if label else text


def write_atomic(path: Path | str, data: str | bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to a temporary file beside ``path``, then move it into
    place: a crash or Ctrl-C never leaves a half-written file over the previous good one, and a
    reader never sees a partial file. ``mode`` (e.g. ``0o600`` for a file only its owner may read)
    is set before the file appears. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        # with a mode (e.g. 0o600) the temporary file is private from its creation, not only once
        # written: no other user can read the bytes in between
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if mode is not None else 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


#: An id that becomes part of a file name (site, project, measure, framework): a letter or digit,
#: then up to 63 letters, digits, ``_``, ``.`` or ``-``; never ``..`` (see :func:`unsafe_name`).
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SAFE_NAME_WORDS = ("a letter or digit, then letters, digits, '_', '.' or '-' (at most 64 characters, "
                   "no '..', no spaces or '/')")


def unsafe_name(text: Any) -> str | None:
    """Why ``text`` cannot be an id that becomes a file name (None when it can): it must match
    :data:`SAFE_NAME` and contain no ``..``."""
    t = str(text)
    if len(t) > 64:
        return f"is {len(t)} characters long; an id has at most 64"
    if not SAFE_NAME.fullmatch(t) or ".." in t:
        return f"expected {SAFE_NAME_WORDS}"
    return None


class UnsafePathError(ValueError):
    """A file name built from an id would leave its folder (or is not a plain file name)."""


def path_inside(folder: Path | str, name: str) -> Path:
    """``folder / name``, checked to stay inside ``folder``: ``name`` must be one plain file-name
    component (no ``/``, ``\\``, NUL, ``.``/``..``) short enough for the temporary name
    :func:`write_atomic` builds beside it. Raises :class:`UnsafePathError` otherwise. Every output
    path built from an id (site, project, report stem) goes through here."""
    folder = Path(folder)
    bad = (not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name
           or "\0" in name or (os.altsep and os.altsep in name) or Path(name).name != name
           or len(name.encode("utf-8")) > 200)
    target = folder / name
    if not bad:
        base = os.path.abspath(folder)
        bad = os.path.dirname(os.path.abspath(target)) != base
    if bad:
        raise UnsafePathError(f"refusing to write {name!r}: not a plain file name inside {folder}")
    return target


#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def csv_safe_text(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (OWASP): text starting
    with ``=``, ``+``, ``-``, ``@``, tab, CR, LF, ``|`` or ``%`` gets a leading ``'``; numbers (also
    written as text, e.g. ``-3.5``) and other values are returned unchanged."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (``\\n`` line endings, quoted only when needed) with every cell, header included,
    through :func:`csv_safe_text`. The one way qieval writes CSV."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_safe_text(h) for h in header])
    for row in rows:
        writer.writerow([csv_safe_text(v) for v in row])
    return buf.getvalue()


def write_csv(path: Path | str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              mode: int | None = None) -> Path:
    """Write :func:`csv_text` atomically (see :func:`write_atomic`)."""
    return write_atomic(path, csv_text(header, rows), mode=mode)


_DIGESTS: dict[tuple, str] = {}
_DIGESTS_LOCK = threading.Lock()


def file_digest(path: Path | str) -> str:
    """SHA-256 of a file's bytes. Memoised per process on the file's identity *and* its change
    time (path, device, inode, size, mtime, ctime): an edit that keeps the size and restores the
    modification time still changes the ctime (which no user call can set back), so it is hashed
    again."""
    p = os.path.abspath(path)
    st = os.stat(p)
    key = (p, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _DIGESTS_LOCK:
        hit = _DIGESTS.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _DIGESTS_LOCK:
        if len(_DIGESTS) > 4096:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


__all__ = ["fmt_num", "fmt_p", "fmt_month", "write_atomic", "SAFE_NAME", "unsafe_name", "path_inside",
           "UnsafePathError", "csv_safe_text", "csv_text", "write_csv", "file_digest"]
__all__ += ["interval_decimals", "fmt_interval", "fmt_count", "fmt_value"]
