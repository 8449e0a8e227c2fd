"""Benchmark: the project-level reports (network, accreditation, abstract) as the number of sites grows.

Projects: synthetic copies of the deprescribing demo (``benchmarks/report_farm.py``'s generator: own
list size and noise per practice, PDSA timetables and standards assessments copied from the four
demo practices in turn) with 4, 100 and 250 practices (``--quick``), plus 1,000 (full run), and
optionally the NHS England A&E attendances of every trust with a type 1 department (``--ae``:
140 trusts, 36 months, 10 trusts with missing months; written by :func:`qieval.demo.ae.write_example`
from ``tests/data/reference/NHSRdatasets_ae_attendances.csv``).

Two measurements per size:

1. **In process** (``--in-process``, the default): each report's ``prepare`` and its sections, as
   the notebook calls them, run in a fresh Python process per report, printing the seconds of each
   step and the process's peak RSS (``ru_maxrss``). With ``--profile N`` the N-site runs are also
   profiled (cProfile, top functions by cumulative time written to
   ``<tempdir>/project_scale_<report>_<N>.txt``).
2. **Through the farm** (``--farm``): ``qieval run --force`` on the real notebooks, timed end to end
   in a subprocess with the peak summed RSS of the runner and its kernels (sampled every 0.1 s);
   the manifest gives each project report's own seconds. ``--farm-sites-only-one`` renders one site
   report and all project reports (the project reports' share); without it every site is rendered
   (the headline: all site reports plus the project reports in one run). ``--dask`` follows the
   README's cluster recipe on this machine: it starts ``dask scheduler`` and ``dask worker
   --nworkers <workers> --nthreads 1`` as separate processes and runs ``qieval run --executor dask
   --scheduler tcp://… --max-sites-per-kernel 500``; the peak is then summed over the benchmark's
   whole process tree (scheduler, workers, their kernels, the runner), with the largest single
   process beside it (what one machine of a cluster must hold).

The "CPU s per 1k site-months" column divides a report's CPU seconds by the site-months of the
project (sites × 36 months) / 1,000: flat (or falling) means the report grows no faster than the
data. CPU seconds are printed beside wall seconds because this machine is shared: wall time
stretches with other work, CPU time barely does.

Run: ``.venv/bin/python benchmarks/project_scale.py --quick`` (4/100/250 in process, a few minutes),
``.venv/bin/python benchmarks/project_scale.py --sizes 1000 --farm`` (the 1,000-site headline; about
10 minutes on 2 cores), ``--ae`` for the A&E project.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report_farm import PeakRSS, make_project  # noqa: E402

REPORTS = ("network", "accreditation", "abstract")
MONTHS = 36  # months per site in the synthetic project (the demo's periods)


# ---- in process: one report, step by step (run in a child process) ---------------------------------

def _steps(report: str, params: str, out: Path):
    """(name, callable) pairs in the order the report's notebook calls them; each returns HTML or None."""
    if report == "network":
        from qieval.report.equity import equity_section
        from qieval.report.measure_plan import measure_plan
        from qieval.report.network_report import prepare, write_results

        state = {}

        def prep():
            state["r"] = prepare(params, out, "evaluator")
            return state["r"].title()

        return [("prepare", prep), ("aim", lambda: state["r"].aim()),
                ("measure_plan", lambda: measure_plan(state["r"].config)),
                ("measures_table", lambda: state["r"].measures_table()),
                ("icon_matrix", lambda: state["r"].icon_matrix()), ("charts", lambda: state["r"].charts()),
                ("funnels", lambda: state["r"].funnels()), ("equity", lambda: equity_section(state["r"].data)),
                ("attribution", lambda: state["r"].attribution()),
                ("results", lambda: (write_results(state["r"]), state["r"].provenance_block())[1])]
    if report == "accreditation":
        from qieval.report.accreditation_report import prepare, write_status

        state = {}

        def prep():
            state["r"] = prepare(params, out, audience="evaluator")
            return state["r"].title()

        return [("prepare", prep)] + [(name, (lambda n=name: getattr(state["r"], n)())) for name in
                                      ("summary", "matrix", "measures", "progression", "funnels",
                                       "framework_table")] + [
            ("results", lambda: (write_status(state["r"]), state["r"].provenance_block())[1])]
    if report == "abstract":
        from qieval.report.abstract_report import prepare, write_markdown

        state = {}

        def prep():
            state["r"] = prepare(params, out, audience="evaluator")
            return state["r"].title()

        return [("prepare", prep), ("abstract", lambda: state["r"].abstract()),
                ("markdown", lambda: write_markdown(state["r"])), ("figure", lambda: state["r"].figure()),
                ("audit", lambda: state["r"].audit()), ("squire", lambda: state["r"].squire()),
                ("provenance", lambda: state["r"].provenance_block())]
    raise SystemExit(f"unknown report {report!r}")


def child(report: str, params: str, out: str, profile: str | None) -> int:
    """Run one report in this process; print one JSON line with step seconds, HTML bytes, peak RSS."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    import qieval.figures  # noqa: F401 - imports are not the report's cost

    prof = cProfile.Profile() if profile else None
    steps, html = {}, 0
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    skip = set(filter(None, os.environ.get("QIEVAL_BENCH_SKIP", "").split(",")))
    for name, call in _steps(report, params, out_dir):
        if name in skip:
            continue
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        result = call()
        if prof:
            prof.disable()
        steps[name] = round(time.perf_counter() - t0, 3)
        html += len(str(result)) if result is not None else 0
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(45)
        Path(profile).write_text(s.getvalue(), encoding="utf-8")
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    peak = r1.ru_maxrss * 1024  # KiB on Linux
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(json.dumps({"report": report, "steps": steps, "seconds": round(sum(steps.values()), 3),
                      "cpu": round(cpu, 3), "html_bytes": html, "peak_rss": peak}))
    return 0


def in_process(root: Path, params: str, report: str, timeout: float, profile: str | None) -> dict:
    cmd = [sys.executable, __file__, "--child", report, params, str(root / "reports" / "bench")]
    if profile:
        cmd += ["--profile-to", profile]
    try:
        p = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"report": report, "seconds": float("nan"), "cpu": float("nan"), "steps": {}, "peak_rss": 0,
                "html_bytes": 0, "note": f"timed out after {timeout:.0f} s"}
    if p.returncode != 0:
        return {"report": report, "seconds": float("nan"), "cpu": float("nan"), "steps": {}, "peak_rss": 0,
                "html_bytes": 0, "note": "failed: " + p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "failed"}
    return json.loads(p.stdout.strip().splitlines()[-1])


# ---- through the farm ---------------------------------------------------------------------------

class DaskCluster:
    """``dask scheduler`` and ``dask worker`` in their own processes (the README's recipe, one machine)."""

    def __init__(self, workers: int, cwd: Path):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        dask = str(Path(sys.executable).with_name("dask"))
        quiet = dict(cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-dashboard"], **quiet)]
        time.sleep(2)
        self.procs.append(subprocess.Popen([dask, "worker", self.address, "--nworkers", str(workers),
                                            "--nthreads", "1", "--no-dashboard"], **quiet))
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)

    def close(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def farm(root: Path, params: str, sites: str | None, workers: int, dask: bool = False) -> dict:
    cmd = [sys.executable, "-m", "qieval.cli", "run", params, "--force", "--quiet", "--workers", str(workers)]
    if sites:
        cmd += ["--sites", sites]
    cluster = DaskCluster(workers, root) if dask else None
    if cluster:
        cmd += ["--executor", "dask", "--scheduler", cluster.address, "--max-sites-per-kernel", "500"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with PeakRSS(os.getpid() if cluster else proc.pid) as mem:  # with Dask: the whole tree
            out, err = proc.communicate()
        seconds = time.perf_counter() - t0
    finally:
        if cluster:
            cluster.close()
    import yaml

    pid = yaml.safe_load((root / params).read_text(encoding="utf-8"))["project"]["id"]
    manifest = json.loads((root / "reports" / pid / "manifest.json").read_text(encoding="utf-8"))
    reports = {k: (v.get("status"), v.get("seconds")) for k, v in manifest["project_reports"].items()}
    failed = [k for k, v in manifest["sites"].items() if v.get("status") != "ok"]
    site_seconds = sorted(float(v["seconds"]) for v in manifest["sites"].values() if v.get("seconds") is not None)
    return {"seconds": seconds, "peak_rss": mem.peak, "peak_single": mem.peak_single, "exit": proc.returncode,
            "reports": reports, "failed_sites": len(failed),
            "site_median": site_seconds[len(site_seconds) // 2] if site_seconds else float("nan"),
            "site_max": site_seconds[-1] if site_seconds else float("nan"), "stderr": err[-2000:] if proc.returncode else "",
            "executor": f"Dask ({workers} workers)" if dask else f"threads ({workers})"}


# ---- main ---------------------------------------------------------------------------------------

def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB" if n else "–"


def make_ae(root: Path) -> str:
    """The A&E project of every trust with a type 1 department (:func:`qieval.demo.ae.write_example`
    on the repository's copy of NHSRdatasets ``ae_attendances``)."""
    from qieval.demo.ae import write_example

    source = HERE.parent / "tests" / "data" / "reference" / "NHSRdatasets_ae_attendances.csv"
    return str(write_example(source, root, trusts=None).relative_to(root))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4, 100 and 250 sites only")
    ap.add_argument("--sizes", help="comma-separated site counts (default 4,100,250,1000)")
    ap.add_argument("--reports", default=",".join(REPORTS))
    ap.add_argument("--farm", action="store_true", help="also time qieval run on the real notebooks")
    ap.add_argument("--farm-sites-only-one", action="store_true",
                    help="farm: render one site report (the project reports' share) instead of all")
    ap.add_argument("--farm-sites", type=int, default=0, metavar="K",
                    help="farm: render the first K site reports (per-site cost at this network size) and all "
                         "project reports")
    ap.add_argument("--no-in-process", action="store_true")
    ap.add_argument("--ae", action="store_true", help="also the A&E project (140 trusts)")
    ap.add_argument("--profile", type=int, default=0, help="profile the in-process runs at this size")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per in-process report")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--dask", action="store_true", help="--farm on a dask scheduler + workers (README recipe)")
    ap.add_argument("--skip-steps", default="", help="in process: steps to leave out, e.g. attribution")
    ap.add_argument("--child", nargs=3, metavar=("REPORT", "PARAMS", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child, args.profile_to)
    if args.skip_steps:
        os.environ["QIEVAL_BENCH_SKIP"] = args.skip_steps

    sizes_text = args.sizes if args.sizes is not None else ("4,100,250" if args.quick else "4,100,250,1000")
    sizes = [int(x) for x in sizes_text.split(",") if x.strip()]
    reports = [r for r in args.reports.split(",") if r]
    print(f"{os.cpu_count()} cores; python {sys.version.split()[0]}; sizes {sizes}", flush=True)
    rows, farm_rows = [], []
    projects = [(f"N={n}", n) for n in sizes] + ([("A&E 140 trusts", -1)] if args.ae else [])
    for label, n in projects:
        tmp = Path(tempfile.mkdtemp(prefix="qieval-scale-"))
        try:
            if n < 0:
                params = make_ae(tmp)
                import pandas as pd

                v = pd.read_csv(tmp / "data" / "ae_4h" / "measure_values.csv", usecols=["site_id", "period"])
                site_months, n_sites = len(v.drop_duplicates()), v["site_id"].nunique()
            else:
                params = str(make_project(tmp, n).relative_to(tmp))
                # the demo's 300-word limit fits its own numbers; a synthetic network's longer figures
                # (e.g. "1,000 practices") may not, and an abstract over the limit is an error by design
                text = (tmp / params).read_text(encoding="utf-8")
                (tmp / params).write_text(text.replace("  word_limit: 300", "  word_limit: 400"), encoding="utf-8")
                site_months, n_sites = n * MONTHS, n
            if not args.no_in_process:
                import yaml

                declared = yaml.safe_load((tmp / params).read_text(encoding="utf-8"))
                needs = {"accreditation": "standards", "abstract": "abstract"}  # as the farm decides
                for report in [r for r in reports if r not in needs or declared.get(needs[r])]:
                    prof = (str(Path(tempfile.gettempdir()) / f"project_scale_{report}_{n}.txt")
                            if args.profile == n else None)
                    r = in_process(tmp, params, report, args.timeout, prof)
                    r.update(project=label, sites=n_sites, site_months=site_months)
                    rows.append(r)
                    top = sorted(r["steps"].items(), key=lambda kv: -kv[1])[:3]
                    print(f"  {label:<15} {report:<13} {r['seconds']:>8.1f} s {r['cpu']:>8.1f} CPU-s {mib(r['peak_rss']):>10}  "
                          + ", ".join(f"{k} {v:.1f}" for k, v in top) + (f"  {r.get('note', '')}"),
                          flush=True)
            if args.farm:
                one, k = None, 1 if args.farm_sites_only_one else args.farm_sites
                if k:
                    import yaml

                    one = ",".join(yaml.safe_load((tmp / params).read_text(encoding="utf-8"))["sites"][:k])
                f = farm(tmp, params, one, args.workers, args.dask)
                f.update(project=label, sites=n_sites, site_months=site_months,
                         rendered=f"{k} site(s) + project reports" if one else "all sites + project reports")
                farm_rows.append(f)
                print(f"  {label:<15} qieval run ({f['rendered']}, {f['executor']}): {f['seconds']:.1f} s, "
                      f"{mib(f['peak_rss'])} (largest process {mib(f['peak_single'])}), "
                      f"exit {f['exit']}, reports {f['reports']}; site reports: median {f['site_median']:.1f} s, "
                      f"slowest {f['site_max']:.1f} s (the first to need the pooled fit fits it)", flush=True)
                if f["stderr"]:
                    print(f["stderr"], file=sys.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    if rows:
        print()
        print(f"{'project':<15} {'report':<13} {'site-months':>11} {'seconds':>8} {'CPU s':>8} "
              f"{'CPU s per 1k site-months':>24} {'peak RSS':>10} {'HTML':>9}  slowest steps (wall s)")
        for r in rows:
            per = r["cpu"] / (r["site_months"] / 1000)
            top = sorted(r["steps"].items(), key=lambda kv: -kv[1])[:3]
            print(f"{r['project']:<15} {r['report']:<13} {r['site_months']:>11,} {r['seconds']:>8.1f} {r['cpu']:>8.1f} "
                  f"{per:>24.2f} "
                  f"{mib(r['peak_rss']):>10} {r['html_bytes'] / 1024:>7.0f}kB  "
                  + ", ".join(f"{k} {v:.1f}" for k, v in top) + (f"  {r['note']}" if r.get("note") else ""))
    if farm_rows:
        print()
        print(f"{'project':<15} {'qieval run':<30} {'executor':<18} {'seconds':>8} {'peak RSS':>10} "
              f"{'largest process':>15} {'exit':>4}  project reports (s)")
        for f in farm_rows:
            reps = ", ".join(f"{k} {v[1]:.1f} ({v[0]})" for k, v in sorted(f["reports"].items()))
            print(f"{f['project']:<15} {f['rendered']:<30} {f['executor']:<18} {f['seconds']:>8.1f} "
                  f"{mib(f['peak_rss']):>10} {mib(f['peak_single']):>15} {f['exit']:>4}  {reps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
