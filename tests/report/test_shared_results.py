"""Pooled attribution computed once and shared between the network report and the abstract:
what is read back equals a fresh fit, a changed input or a damaged entry is fitted again, and the
abstract reuses what the network report stored."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from qieval.io.load import load_project
from qieval.report import attribution_section, shared_results


@pytest.fixture(scope="module")
def project(demo_root_session):
    data = load_project(demo_root_session / "params" / "deprescribing.yaml")
    return data, data.config.measure("conversation_offered")


def _same(a, b):
    for name in ("effects", "diagnostics", "counterfactual", "sensitivity"):
        x, y = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(x, y, check_column_type=len(x.columns) > 0)
    for name in ("dispersion", "warnings", "family", "time_effects", "df_resid", "n_obs", "level"):
        x, y = getattr(a, name), getattr(b, name)
        assert x == y or (x != x and y != y), name


def test_read_back_equals_a_fresh_fit_and_stale_or_damaged_entries_are_refitted(project, tmp_path):
    data, m = project
    values, cycles = data.measure_values, data.pdsa_cycles
    fresh = attribution_section.fit_measure(values, cycles, m)
    stored = shared_results.fit_measure(values, cycles, m, tmp_path)  # fits and stores
    _same(fresh, stored)
    key = shared_results.attribution_key(values, cycles, m)
    read = shared_results.load(tmp_path, m.id, key)
    assert read is not None and read.model is None
    _same(fresh, read)
    assert "pickle" not in {p.suffix for p in tmp_path.rglob("*")}  # plain data only

    # one changed numerator → another key, nothing to read
    changed = values.copy()
    i = changed.index[(changed["measure_id"] == m.id) & (changed["numerator"] > 0)][0]
    changed.loc[i, "numerator"] += 1
    assert shared_results.attribution_key(changed, cycles, m) != key
    assert shared_results.load(tmp_path, m.id, shared_results.attribution_key(changed, cycles, m)) is None
    # another measure definition (target) → another key
    assert shared_results.attribution_key(values, cycles, m.model_copy(update={"target": 12.0})) != key

    # a damaged entry is not read (fitted again by fit_measure)
    (entry,) = [p for p in (tmp_path / shared_results.SHARED_DIR).iterdir()]
    (entry / "effects.parquet").write_bytes(b"not parquet")
    assert shared_results.load(tmp_path, m.id, key) is None
    meta = json.loads((entry / "result.json").read_text())
    meta["key"] = "0" * 64
    (entry / "result.json").write_text(json.dumps(meta))
    assert shared_results.load(tmp_path, m.id, key) is None
    shared_results._MEMO.clear()  # another process (this one remembers what it read or fitted)
    _same(fresh, shared_results.fit_measure(values, cycles, m, tmp_path))
    assert shared_results.load(tmp_path, m.id, key) is not None  # rewritten


def test_the_abstract_reads_what_the_network_report_stored(demo_root_session, tmp_path):
    from qieval.report import abstract_report, network_report

    params = demo_root_session / "params" / "deprescribing.yaml"
    net = network_report.prepare(params, tmp_path)
    net.attribution()
    shared = tmp_path / shared_results.SHARED_DIR
    stamps = {p: p.stat().st_mtime_ns for p in shared.rglob("*")}
    assert len(list(shared.iterdir())) == len(net.config.measures)
    ab = abstract_report.prepare(params, tmp_path)
    assert {p: p.stat().st_mtime_ns for p in shared.rglob("*")} == stamps  # read, not rewritten
    for k, v in net.attributions.items():
        if k in ab.network.attributions and not isinstance(v, str):
            _same(v, ab.network.attributions[k])
    assert ab.network.site_spc == []  # the abstract skips the per-site SPC it does not use


def test_a_report_waits_for_the_one_fitting_the_same_measure(project, tmp_path):
    """The abstract finds the network report's ``.fitting`` marker (a live process here) and reads what
    that report stores instead of fitting again; a marker left by a dead process is ignored."""
    import os
    import socket
    import subprocess
    import sys
    import threading
    import time

    data, m = project
    values, cycles = data.measure_values, data.pdsa_cycles
    key = shared_results.attribution_key(values, cycles, m)
    lock = shared_results._lock(tmp_path, m.id, key)
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}))

    def other_report():
        time.sleep(1.0)
        shared_results.save(tmp_path, m.id, key, "stored by the other report")
        lock.unlink()

    shared_results._MEMO.clear()
    t = threading.Thread(target=other_report)
    t0 = time.monotonic()
    t.start()
    got = shared_results.fit_measure(values, cycles, m, tmp_path, wait=True)
    t.join()
    assert got == "stored by the other report" and time.monotonic() - t0 >= 1.0

    # a marker from a process that has ended: not waited for, the model is fitted
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    shutil_key = shared_results.attribution_key(values, cycles, m.model_copy(update={"target": 1.0}))
    lock2 = shared_results._lock(tmp_path, m.id, shutil_key)
    lock2.write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout), "started": time.time()}))
    t0 = time.monotonic()
    fitted = shared_results.fit_measure(values, cycles, m.model_copy(update={"target": 1.0}), tmp_path, wait=True)
    assert not isinstance(fitted, str) and not lock2.exists()
