"""Pooled attribution results computed once per project and shared between project reports.

The network report and the abstract both need the pooled attribution fit of each measure (the
most expensive computation of a large project). Whichever report fits a measure first writes the
result under ``<output_dir>/.shared/`` keyed on a SHA-256 of exactly what the fit reads (the
measure's rows, the PDSA cycles, the measure's definition) and qieval's code; the other report
reads it instead of fitting again. A missing, stale or unreadable entry is simply refitted: the
cache can only save time, never change a number.

Stored as plain data, never pickles (the reports folder is not trusted to hold code): one Parquet
file per table of :class:`~qieval.attribution.Attribution` and a JSON file with its other fields,
the JSON written last (atomically) so a half-written entry is never read. The statsmodels result
(``model``) is not stored (``None`` when read back).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import socket
import time
import shutil
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..attribution import Attribution
from ..config import AttributionSettings, Measure
from ..format import write_atomic
from . import attribution_section

SHARED_DIR = ".shared"


def attribution_key(values: pd.DataFrame, cycles: pd.DataFrame, measure: Measure,
                    settings: AttributionSettings | None = None) -> str:
    """SHA-256 of what :func:`qieval.report.attribution_section.fit_measure` reads, plus qieval's code."""
    h = hashlib.sha256(_code_digest().encode())
    h.update(measure.model_dump_json().encode())
    h.update((settings.model_dump_json() if settings is not None else "").encode())
    mine = values.loc[values["measure_id"].to_numpy() == measure.id]
    for frame, cols in ((mine, ["site_id", "period", "numerator", "denominator", "value"]),
                        (cycles, ["site_id", "start", "category"])):
        cols = [c for c in cols if c in frame.columns]
        h.update(json.dumps(cols).encode())
        h.update(pd.util.hash_pandas_object(frame[cols], index=False).to_numpy().tobytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """qieval's version and a digest of its Python sources (once per process)."""
    import qieval

    pkg = Path(qieval.__file__).resolve().parent
    h = hashlib.sha256(f"qieval {qieval.__version__}\n".encode())
    for p in sorted(pkg.rglob("*.py")):
        if "__pycache__" not in p.parts:
            h.update(str(p.relative_to(pkg)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _folder(output_dir: Path, measure_id: str, key: str) -> Path:
    safe = hashlib.sha256(measure_id.encode()).hexdigest()[:12]  # measure ids are data: not a path
    return Path(output_dir) / SHARED_DIR / f"attribution-{safe}-{key[:32]}"


def _jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return {"float": repr(x)}
    return x


def _unjson(x):
    return float(x["float"]) if isinstance(x, dict) and set(x) == {"float"} else x


def save(output_dir: Path | None, measure_id: str, key: str, result: Attribution | str) -> None:
    """Store ``result`` for other reports of this run (best effort: a failure leaves no entry)."""
    if output_dir is None:
        return
    folder = _folder(output_dir, measure_id, key)
    try:
        for old in folder.parent.glob(folder.name.rsplit("-", 1)[0] + "-*"):  # this measure's stale entries
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict = {"key": key, "measure_id": measure_id}
        if isinstance(result, str):
            meta["text"] = result
        else:
            tables, scalars = [], {}
            for f in dataclasses.fields(result):
                value = getattr(result, f.name)
                if f.name == "model":
                    continue
                if isinstance(value, pd.DataFrame):
                    buf = io.BytesIO()
                    value.to_parquet(buf)
                    write_atomic(folder / f"{f.name}.parquet", buf.getvalue())
                    tables.append(f.name)
                else:
                    scalars[f.name] = _jsonable(value)
            meta.update(tables=tables, fields=scalars)
        write_atomic(folder / "result.json", json.dumps(meta, sort_keys=True))
    except Exception:  # noqa: BLE001 - only an optimisation (e.g. a column Parquet cannot hold)
        (folder / "result.json").unlink(missing_ok=True)


def load(output_dir: Path | None, measure_id: str, key: str) -> Attribution | str | None:
    """The stored result for ``key``, or None when there is none (or it cannot be read)."""
    if output_dir is None:
        return None
    folder = _folder(output_dir, measure_id, key)
    try:
        meta = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        if meta.get("key") != key or meta.get("measure_id") != measure_id:
            return None
        if "text" in meta:
            return str(meta["text"])
        kwargs = {k: _unjson(v) for k, v in meta["fields"].items()}
        for name in meta["tables"]:
            kwargs[name] = pd.read_parquet(folder / f"{name}.parquet")
        return Attribution(**kwargs)
    except Exception:  # noqa: BLE001 - absent, stale format or damaged: fit again
        return None


def _without_model(result: Attribution | str) -> Attribution | str:
    """The result without the fitted model object: reports never read it, and for a pooled design of
    many sites it holds the whole design matrix (hundreds of MB per measure)."""
    return result if isinstance(result, str) else dataclasses.replace(result, model=None)


#: How long a report waits for another report that is fitting the same measure (seconds).
WAIT_SECONDS = 1200.0


def _lock(output_dir: Path, measure_id: str, key: str) -> Path:
    folder = _folder(output_dir, measure_id, key)
    return folder.parent / (folder.name + ".fitting")


def _live(lock: Path) -> bool:
    """Whether a ``.fitting`` marker belongs to a report still fitting: a live process on this
    machine, or (another machine) one that started less than :data:`WAIT_SECONDS` ago."""
    try:
        info = json.loads(lock.read_text(encoding="utf-8"))
        if info.get("host") == socket.gethostname():
            os.kill(int(info["pid"]), 0)
            return True
        return time.time() - float(info["started"]) < WAIT_SECONDS
    except (OSError, ValueError, KeyError, TypeError):
        return False


def fit_measure(values: pd.DataFrame, cycles: pd.DataFrame, measure: Measure,
                output_dir: Path | None, settings: AttributionSettings | None = None, *,
                wait: bool = False) -> Attribution | str:
    """:func:`qieval.report.attribution_section.fit_measure`, read from ``output_dir`` when another
    report of the project already fitted it on the same inputs and settings, and stored there otherwise.
    While fitting, a ``.fitting`` marker says so; with ``wait`` (the abstract, which the farm runs
    beside the network report) a report finding a live marker waits for that result instead of
    fitting the same model a second time (at most :data:`WAIT_SECONDS`, then it fits)."""
    if output_dir is None:
        return _without_model(attribution_section.fit_measure(values, cycles, measure, settings))
    key = attribution_key(values, cycles, measure, settings)
    memo = (str(output_dir), measure.id, key)
    if memo in _MEMO:  # read before in this process (e.g. by an earlier site report in this kernel)
        return _MEMO[memo]
    found = load(output_dir, measure.id, key)
    lock = _lock(output_dir, measure.id, key)
    if found is None and wait:
        deadline = time.monotonic() + WAIT_SECONDS
        while found is None and _live(lock) and time.monotonic() < deadline:
            time.sleep(0.5)
            found = load(output_dir, measure.id, key)
    if found is not None:
        return _remember(memo, found)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(lock, json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}))
    except OSError:
        pass
    try:
        result = _without_model(attribution_section.fit_measure(values, cycles, measure, settings))
        save(output_dir, measure.id, key, result)
    finally:
        lock.unlink(missing_ok=True)
    return _remember(memo, result)


_MEMO: dict[tuple[str, str, str], Attribution | str] = {}


def _remember(memo: tuple[str, str, str], result: Attribution | str) -> Attribution | str:
    if len(_MEMO) >= 32:
        _MEMO.clear()
    _MEMO[memo] = result
    return result
