"""Benchmark: the report farm (``qieval run``) against the naive shell loop, in site reports a minute.

Projects:

- N = 4: the demo project (``qieval demo``);
- N = 100: a synthetic project of 100 practices generated here from the demo's model (seeded:
  each practice gets a list size, one of the demo practices' PDSA timetables, its own noise).

For each, ``qieval run --force`` is timed end to end in a subprocess (validation, hashing, kernel
start-up, rendering, manifest and index included), with peak memory: the largest sum of the RSS of
the runner and all its child processes (kernels, pool workers), sampled every 0.1 s with psutil.

The naive baseline is the shell loop an analyst would write: for each site ``papermill`` then
``jupyter nbconvert --to html`` on the same notebook. It is slow, so it is timed on the first
``--naive-sites`` sites (default 4) and its rate applied to N (labelled "extrapolated").

Also measured on N = 100 unless ``--quick``: the process-pool and Dask (LocalCluster) executors
(threads are the default) and a fresh kernel per site (``--max-sites-per-kernel 1``, first 20
sites). CPU seconds per site (runner + kernels, from the reaped children's rusage) are printed
too: unlike the rate they barely change when other work shares the machine ("load" column).
``--notebook PATH`` benchmarks another site notebook (e.g. one without the attribution cell).

Run: ``.venv/bin/python benchmarks/report_farm.py [--quick] [--workers N] [--notebook PATH]``
(about 10 minutes on 2 cores; ``--quick`` about 4 minutes)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from qieval.demo import deprescribing as demo
from qieval.demo import write_demo

BIN = Path(sys.executable).parent
QIEVAL = [sys.executable, "-m", "qieval.cli"]
SEED = 20261123
LOADS: list[float] = []  # 1-minute load average at the end of each measurement


# ---- a synthetic project of n practices ----------------------------------------------------------

def make_project(root: Path, n_sites: int, seed: int = SEED) -> Path:
    """Write ``params/synthetic.yaml`` and ``data/synthetic/*`` for ``n_sites`` practices: measure
    values from the demo's data model (own list size and noise per practice), PDSA cycles and any
    other per-site table of the demo (e.g. standards assessments) copied from one of the four demo
    practices in turn; return the params path."""
    rng = np.random.default_rng(seed)
    demo_root = root / ".demo"
    write_demo(demo_root)
    demo_data = demo_root / "data" / "deprescribing"
    templates = list(demo.FIRST_STARTS)
    periods = demo.PERIODS
    n = len(periods)
    sites, rows, template_of = [], [], {}
    for i in range(n_sites):
        sid = f"practice_{i:04d}"
        tmpl = templates[i % len(templates)]
        template_of[sid] = tmpl
        list_size = int(rng.integers(3000, 16000))
        sites.append((sid, f"Practice {i:04d}", f"Network {i // 8:03d}", list_size))
        steps = pd.DataFrame(index=periods)
        for category in ("education", "staffing", "IT"):
            start = demo.FIRST_STARTS[tmpl].get(category)
            steps[category] = 0.0 if start is None else (periods >= pd.Timestamp(start)).astype(float)

        def effect(measure):
            return sum(steps[c].to_numpy() * v for c, v in demo.TRUE_EFFECTS[measure].items())

        any_change = steps.max(axis=1).to_numpy() > 0
        logit_p = np.log(0.002 / 0.998) + rng.normal(0, 0.08) + effect("register_prevalence") + demo.ar1_noise(rng, n, 0.4, 0.06)
        register = np.maximum(rng.binomial(list_size, 1 / (1 + np.exp(-logit_p))), 1)
        p_conv = 1 / (1 + np.exp(-(-2.75 + effect("conversation_offered") + demo.ar1_noise(rng, n, 0.3, 0.1))))
        offered = np.where(any_change, rng.binomial(register, p_conv), 0)
        medicines = rng.poisson(register * 9.6 * np.exp(effect("medicines_per_patient")) * rng.gamma(200.0, 1 / 200.0, n))
        minutes = 6.0 + effect("clinician_minutes") + rng.normal(0, 0.45, n)
        for k, period in enumerate(periods):
            month = period.strftime("%Y-%m")
            rows += [(sid, month, "register_prevalence", register[k], list_size, ""),
                     (sid, month, "conversation_offered", offered[k], register[k], ""),
                     (sid, month, "medicines_per_patient", medicines[k], register[k], ""),
                     (sid, month, "clinician_minutes", "", "", f"{minutes[k]:.2f}")]
    data = root / "data" / "synthetic"
    data.mkdir(parents=True, exist_ok=True)
    write = lambda frame, name: frame.to_csv(data / name, index=False, lineterminator="\n")  # noqa: E731
    write(pd.DataFrame(sites, columns=["site_id", "site_name", "network", "list_size"]), "sites.csv")
    write(pd.DataFrame(rows, columns=["site_id", "period", "measure_id", "numerator", "denominator", "value"]),
          "measure_values.csv")
    for path in sorted(demo_data.glob("*.csv")):  # every other per-site table, copied per template
        if path.name in ("sites.csv", "measure_values.csv"):
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "site_id" not in frame.columns:
            shutil.copy(path, data / path.name)
            continue
        parts = [frame.loc[frame["site_id"] == "ALL"]]
        for sid, tmpl in template_of.items():
            part = frame.loc[frame["site_id"] == tmpl].copy()
            part["site_id"] = sid
            if "cycle_id" in part.columns:
                part["cycle_id"] = sid + "-" + part["cycle_id"]
            parts.append(part)
        write(pd.concat(parts, ignore_index=True), path.name)
    params_text = (demo_root / "params" / "deprescribing.yaml").read_text(encoding="utf-8")
    params_text = params_text.replace("  id: deprescribing", "  id: synthetic")
    params_text = params_text.replace(
        "  title: Deprescribing in community palliative care",
        f"  title: Deprescribing in community palliative care (synthetic, {n_sites} practices)")
    params_text = params_text.replace("sites: [hillside, riverside, abbey_view, meadowbank]",
                                      "sites: [" + ", ".join(s[0] for s in sites) + "]")
    params_text = params_text.replace("  dir: data/deprescribing", "  dir: data/synthetic")
    path = root / "params" / "synthetic.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(params_text, encoding="utf-8")
    for sub in (demo_root / "params").iterdir():  # shared definitions (params/standards/…)
        if sub.is_dir():
            shutil.copytree(sub, root / "params" / sub.name, dirs_exist_ok=True)
    shutil.rmtree(demo_root)
    return path


# ---- measuring ----------------------------------------------------------------------------------

class PeakRSS:
    """Peak of the summed RSS of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.1):
        self.pid, self.every, self.peak = pid, every, 0
        self.peak_single = 0  # the largest one process reached (what one machine of a cluster needs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, float]:
    """Wall seconds, peak RSS of the process tree, CPU seconds of the tree (all reaped children)."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakRSS(proc.pid) as mem:
        out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        print(err[-3000:], file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    LOADS.append(os.getloadavg()[0])
    return seconds, mem.peak, _children_cpu() - cpu0


def farm(root: Path, params: str, n: int, *extra: str) -> tuple[float, float, int, float]:
    seconds, peak, cpu = timed([*QIEVAL, "run", params, "--force", "--quiet", "--no-project-reports", *extra], root)
    return seconds, n / seconds * 60, peak, cpu / n


def naive(root: Path, params: str, sites: list[str], project: str) -> tuple[float, int, float]:
    """Seconds per site of the papermill + nbconvert shell loop, peak memory, CPU seconds per site."""
    nb = root / "notebooks" / "site_report.ipynb"
    if not nb.is_file():
        nb = Path(__file__).resolve().parents[1] / "notebooks" / "site_report.ipynb"
    out = root / "naive"
    out.mkdir(exist_ok=True)
    loop = "\n".join(
        f'{BIN}/papermill -k python3 --no-progress-bar "{nb}" "{out}/{s}.ipynb" -p params_path "{root / params}" '
        f'-p site_id {s} -p output_dir "{out}" 2>/dev/null\n'
        f'{BIN}/jupyter nbconvert --to html "{out}/{s}.ipynb" --log-level ERROR'
        for s in sites)
    script = out / "loop.sh"
    script.write_text("set -e\n" + loop + "\n")
    seconds, peak, cpu = timed(["bash", str(script)], root)
    return seconds / len(sites), peak, cpu / len(sites)


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the process-pool and fresh-kernel variants")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--naive-sites", type=int, default=4)
    ap.add_argument("--notebook", type=Path, help="site notebook to use (default: the repository's)")
    args = ap.parse_args(argv)
    w = ["--workers", str(args.workers)]
    print(f"{os.cpu_count()} cores, {args.workers} workers; python {sys.version.split()[0]}")
    tmp = Path(tempfile.mkdtemp(prefix="qieval-farm-bench-"))
    try:
        write_demo(tmp)
        make_project(tmp, 100)
        if args.notebook:  # the runner uses <root>/notebooks/site_report.ipynb first
            (tmp / "notebooks").mkdir()
            shutil.copy(args.notebook, tmp / "notebooks" / "site_report.ipynb")
        rows = []
        # warm the file cache / byte-compile once (not timed)
        subprocess.run([*QIEVAL, "validate", "params/synthetic.yaml"], cwd=tmp, capture_output=True)

        s4, r4, m4, c4 = farm(tmp, "params/deprescribing.yaml", 4, *w)
        rows.append(("N=4 demo", "qieval run (warm kernels, threads)", s4, r4, m4, c4, ""))
        s100, r100, m100, c100 = farm(tmp, "params/synthetic.yaml", 100, *w)
        rows.append(("N=100 synthetic", "qieval run (warm kernels, threads)", s100, r100, m100, c100, ""))
        if not args.quick:
            sp, rp, mp, cp = farm(tmp, "params/synthetic.yaml", 100, *w, "--executor", "processes")
            rows.append(("N=100 synthetic", "qieval run --executor processes", sp, rp, mp, cp, ""))
            sd, rd, md, cd = farm(tmp, "params/synthetic.yaml", 100, *w, "--executor", "dask")
            rows.append(("N=100 synthetic", "qieval run --executor dask (LocalCluster)", sd, rd, md, cd,
                         ""))
            sites20 = ",".join(f"practice_{i:04d}" for i in range(20))
            sf, rf, mf, cf = farm(tmp, "params/synthetic.yaml", 20, *w, "--max-sites-per-kernel", "1", "--sites", sites20)
            rows.append(("N=100 synthetic", "fresh kernel per site (K=1), 20 sites", sf * 5, rf, mf, cf,
                         "time extrapolated from 20 sites"))

        k = args.naive_sites
        demo_sites = list(demo.SITES["site_id"])[:k]
        per4, mn4, cn4 = naive(tmp, "params/deprescribing.yaml", demo_sites, "deprescribing")
        rows.append(("N=4 demo", f"naive loop (papermill + nbconvert), {len(demo_sites)} sites", per4 * 4, 60 / per4,
                     mn4, cn4, "" if len(demo_sites) == 4 else "extrapolated"))
        syn_sites = [f"practice_{i:04d}" for i in range(k)]
        per100, mn100, cn100 = naive(tmp, "params/synthetic.yaml", syn_sites, "synthetic")
        rows.append(("N=100 synthetic", f"naive loop (papermill + nbconvert), {k} sites", per100 * 100, 60 / per100,
                     mn100, cn100, f"time extrapolated from {k} sites"))

        print()
        print(f"{'project':<16} {'method':<46} {'seconds':>8} {'reports/min':>11} {'peak RSS':>10} "
              f"{'CPU s/site':>10} {'load':>5}  note")
        for (project, method, s, r, m, c, note), load in zip(rows, LOADS):
            print(f"{project:<16} {method:<46} {s:>8.1f} {r:>11.1f} {mib(m):>10} {c:>10.2f} {load:>5.1f}  {note}")
        print()
        print(f"N=100: qieval {r100:.0f} reports/min vs naive loop {60 / per100:.0f} reports/min: "
              f"{r100 / (60 / per100):.1f}x")
        print(f"N=4:   qieval {r4:.0f} reports/min vs naive loop {60 / per4:.0f} reports/min: "
              f"{r4 / (60 / per4):.1f}x (start-up dominates at N=4)")
        ideal = args.workers * 60 / c100
        print(f"N=100 CPU per site {c100:.2f} s (kernels + runner): at most {ideal:.0f} reports/min on "
              f"{args.workers} idle cores (a 'load' above {os.cpu_count()} means other work shared the cores)")
        hours = 6500 / r100 / 60
        print(f"6,500 practices at the measured N=100 rate ({args.workers} workers on this machine): about "
              f"{hours:.1f} h; from CPU per site on {args.workers} idle cores: about "
              f"{6500 * c100 / args.workers / 3600:.1f} h; on a cluster of C cores about "
              f"{6500 * c100 / 3600:.1f} h / C (plus validating and hashing the project once in the runner)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
