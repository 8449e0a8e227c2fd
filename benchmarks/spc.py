"""Benchmark: qieval.spc.qic against clinical-qikit 0.5.0 (``qikit.qic``) on the same data.

(a) p charts with Anhoej runs analysis on 10,000 series x 60 points, one call with
    ``facets=<series id>``;
(b) one p chart of 100,000 points.

clinical-qikit analyses facets one at a time (a Python loop over facet values, each selecting
its rows from the whole frame), so on 10,000 series it takes about 40 s; it is timed once on the
full data (qieval: best of 3). With ``--quick`` the peer is timed on the first ``PEER_SUBSET``
series and extrapolated linearly to 10,000 instead; because every facet scans the whole frame,
its true cost grows faster than linearly, so that extrapolation flatters the peer.

Run: ``.venv/bin/python benchmarks/spc.py [--quick]``  (about 45 s; ``--quick`` about 5 s)
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from qieval.spc import qic

SEED = 20260101
N_SERIES, N_POINTS = 10_000, 60
N_LONG = 100_000
PEER_SUBSET = 500
REPEATS = 3


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Best wall time (seconds) of ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def make_many(rng: np.random.Generator) -> pd.DataFrame:
    sid = np.repeat(np.arange(N_SERIES), N_POINTS)
    n = rng.integers(40, 400, N_SERIES * N_POINTS)
    p = np.repeat(rng.uniform(0.05, 0.3, N_SERIES), N_POINTS)
    y = rng.binomial(n, p)
    return pd.DataFrame({"series": sid, "x": np.tile(np.arange(1, N_POINTS + 1), N_SERIES),
                         "y": y, "n": n})


def make_long(rng: np.random.Generator) -> pd.DataFrame:
    n = rng.integers(40, 400, N_LONG)
    return pd.DataFrame({"x": np.arange(1, N_LONG + 1), "y": rng.binomial(n, 0.12), "n": n})


def main(quick: bool = False) -> None:
    import qikit  # clinical-qikit

    rng = np.random.default_rng(SEED)
    many = make_many(rng)
    long = make_long(rng)
    subset = many[many.series < PEER_SUBSET] if quick else many

    print(f"qieval.spc.qic vs clinical-qikit {qikit.__version__}; seed {SEED}; best of {REPEATS}")
    print()

    # (a) many short series ---------------------------------------------------------------------
    ours_a = best_of(lambda: qic(many, "x", "y", "n", chart="p", facets="series"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer_sub = best_of(lambda: qikit.qic(x="x", y="y", n="n", data=subset, chart="p",
                                             facets="series"), repeats=1)
    print(f"(a) p chart + Anhoej rules, {N_SERIES:,} series x {N_POINTS} points "
          f"({N_SERIES * N_POINTS:,} rows), facets=series")
    print(f"    qieval  : {ours_a:8.3f} s")
    if quick:
        peer_a = peer_sub * N_SERIES / PEER_SUBSET
        ours_sub = best_of(lambda: qic(subset, "x", "y", "n", chart="p", facets="series"))
        print(f"    qikit   : {peer_a:8.3f} s  (EXTRAPOLATED linearly x{N_SERIES // PEER_SUBSET} from "
              f"{peer_sub:.3f} s on the first {PEER_SUBSET} series; qieval on the same subset: "
              f"{ours_sub:.3f} s)")
    else:
        peer_a = peer_sub
        print(f"    qikit   : {peer_a:8.3f} s  (one run, all {N_SERIES:,} series)")
    print(f"    speed-up: {peer_a / ours_a:8.1f} x")
    print()

    # (b) one long series -----------------------------------------------------------------------
    ours_b = best_of(lambda: qic(long, "x", "y", "n", chart="p"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer_b = best_of(lambda: qikit.qic(x="x", y="y", n="n", data=long, chart="p"))
        peer_res = qikit.qic(x="x", y="y", n="n", data=long, chart="p").data
    print(f"(b) p chart + Anhoej rules, one series of {N_LONG:,} points")
    print(f"    qieval  : {ours_b:8.3f} s")
    print(f"    qikit   : {peer_b:8.3f} s")
    print(f"    speed-up: {peer_b / ours_b:8.1f} x")

    # same answer? (centre line and limits of the long series)
    mine = qic(long, "x", "y", "n", chart="p")
    for col in ("cl", "ucl", "lcl"):
        if col in peer_res:
            diff = np.nanmax(np.abs(mine[col].to_numpy() - peer_res[col].to_numpy(dtype=float)))
            print(f"    max |qieval - qikit| {col}: {diff:.3g}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
