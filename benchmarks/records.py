"""Benchmark: aggregating record-level prescribing data with qieval's records engine (DuckDB over
Parquet) against a pandas groupby baseline on the same file.

10 million synthetic rows (one per patient per month: 1,000 practices × 36 months × about 278
patients on opioids) are generated with vectorised numpy and written to Parquet in a temporary
folder (the generation time is reported separately). Then, each in a fresh child process so the
peak memory (``ru_maxrss``) belongs to that step alone:

1. ``engine``: every record-derived measure of the opioid demo project (params/opioids.yaml:
   high dose, long term, gabapentinoid, per 1,000, median OME, with the IMD and Core20
   breakdowns) in qieval's one compiled query — ``qieval.records.derive(check=False)``;
2. ``engine+checks``: the same plus every data-quality rule (what ``qieval validate`` runs);
3. ``pandas``: the same totals and breakdowns with ``pandas.read_parquet`` and
   ``groupby(...).nunique()/median()`` — the straightforward alternative (no data-quality checks,
   no grid completion).

Run: ``.venv/bin/python benchmarks/records.py [--rows N]`` (about a minute on a 2-core laptop).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_ROWS = 10_000_000
N_PRACTICES, N_MONTHS = 1_000, 36
SEED = 20260107


def generate(path: Path, n_rows: int) -> float:
    """Write ``n_rows`` synthetic prescribing rows to Parquet; return the seconds taken."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    per_cell = n_rows // (N_PRACTICES * N_MONTHS)
    n = per_cell * N_PRACTICES * N_MONTHS
    practice = np.repeat(np.arange(N_PRACTICES), per_cell * N_MONTHS)
    month = np.tile(np.repeat(np.arange(N_MONTHS), per_cell), N_PRACTICES)
    patient = practice.astype(np.int64) * 10_000 + np.tile(np.arange(per_cell), N_PRACTICES * N_MONTHS)
    start = np.datetime64("2022-01-01", "M")
    months = (start + month.astype("timedelta64[M]")).astype("datetime64[D]")
    drugs = pa.array(["codeine", "tramadol", "morphine", "oxycodone", "buprenorphine", "fentanyl"])
    table = pa.table({
        "patient_id": pc.binary_join_element_wise("P", pc.cast(pa.array(patient), pa.string()), ""),
        "practice_code": pc.binary_join_element_wise(
            "GP", pc.cast(pa.array(practice), pa.string()), ""),
        "month": pa.array(months),
        "drug": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 6, n).astype(np.int8)), drugs),
        "ome_mg_day": pa.array(np.round(np.minimum(np.exp(rng.normal(np.log(36.0), 0.95, n)), 1500.0), 1)),
        "gabapentinoid": pa.array(rng.random(n) < 0.22),
        "months_on_opioids": pa.array(rng.integers(1, 60, n).astype(np.int32)),
        "imd_quintile": pa.array(rng.integers(1, 6, n).astype(np.int32)),
    })
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
    return time.perf_counter() - t0


def project(root: Path) -> Path:
    """The opioid demo's params pointed at the synthetic file and its 1,000 practices."""
    from qieval.demo import opioids

    text = opioids.PARAMS
    sites = [f"GP{i}" for i in range(N_PRACTICES)]
    old_sites = next(line for line in text.splitlines() if line.startswith("sites:"))
    text = text.replace(old_sites, f"sites: [{', '.join(sites)}]")
    (root / "params").mkdir()
    (root / "params" / "bench.yaml").write_text(text.replace("dir: data/opioids", "dir: data"))
    data = root / "data"
    data.mkdir(exist_ok=True)
    (data / "sites.csv").write_text("site_id,site_name,network,list_size\n" + "".join(
        f"{s},{s},bench,{10_000 + i}\n" for i, s in enumerate(sites)))
    return root / "params" / "bench.yaml"


def child(step: str, root: Path) -> dict:
    """Run one step (in a fresh process); return seconds, rows and peak memory."""
    import pandas as pd

    t0 = time.perf_counter()
    if step.startswith("engine"):
        from qieval.config import load_config
        from qieval.records import derive

        config = load_config(root / "params" / "bench.yaml")
        sites = pd.read_csv(root / "data" / "sites.csv")
        res = derive(config, sites, today=dt.date(2030, 1, 1), check=step == "engine+checks")
        assert not res.problems, res.problems[:3]
        rows, out = res.rows, len(res.values) + len(res.breakdowns)
    else:
        f = pd.read_parquet(root / "data" / "prescribing.parquet",
                            columns=["patient_id", "practice_code", "month", "ome_mg_day",
                                     "gabapentinoid", "months_on_opioids", "imd_quintile"])
        f["core20"] = f["imd_quintile"].eq(1)
        keys = ["practice_code", "month"]
        out = 0
        # the same outputs as the engine: totals, then the IMD and Core20 breakdowns
        for by, measures in (([], ("high_dose", "long_term", "with_gabapentinoid")),
                             (["imd_quintile"], ("high_dose", "long_term")),
                             (["core20"], ("with_gabapentinoid",))):
            k = keys + by
            results = [f.groupby(k)["patient_id"].nunique()]
            where = {"high_dose": f["ome_mg_day"] > 120, "long_term": f["months_on_opioids"] > 6,
                     "with_gabapentinoid": f["gabapentinoid"]}
            results += [f.loc[where[m]].groupby(k)["patient_id"].nunique() for m in measures]
            if not by:
                results.append(f.groupby(k)["ome_mg_day"].median())
            out += len(pd.concat(results, axis=1))
        rows = len(f)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux → MiB
    return {"step": step, "seconds": seconds, "rows": rows, "out_rows": out, "peak_mib": peak}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=N_ROWS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, Path(args.root))))
        return 0
    root = Path(tempfile.mkdtemp(prefix="qieval-bench-records-"))
    try:
        project(root)
        gen = generate(root / "data" / "prescribing.parquet", args.rows)
        size = (root / "data" / "prescribing.parquet").stat().st_size / 2**20
        print(f"generated {args.rows:,} rows → Parquet ({size:.0f} MiB) in {gen:.1f} s (not counted below)")
        print(f"{'step':<15}{'seconds':>9}{'rows/second':>16}{'peak MiB':>10}  output rows")
        results = {}
        for step in ("engine", "engine+checks", "pandas"):
            done = subprocess.run([sys.executable, __file__, "--child", step, "--root", str(root)],
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            results[step] = r
            print(f"{step:<15}{r['seconds']:>9.2f}{r['rows'] / r['seconds']:>16,.0f}{r['peak_mib']:>10,.0f}"
                  f"  {r['out_rows']:,}")
        ratio = results["pandas"]["seconds"] / results["engine"]["seconds"]
        print(f"engine vs pandas: {ratio:.1f}× the speed (peak memory {results['engine']['peak_mib']:,.0f} vs "
              f"{results['pandas']['peak_mib']:,.0f} MiB); timings vary with the machine's load")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
