"""Bias, 95% coverage and false-claim rate of qieval.attribution.fit in the issue-13 simulation.

5 sites x 36 months; ``reviews`` staggered (true effect null, step OR 0.7, or a ramp growing towards
OR 0.5), ``education`` and ``focus group`` in the same month everywhere (truly null); a shared bend in
2022-01; persistent-cohort + AR(1) noise (dispersion < 1, Durbin–Watson ~0.4). See
tests/attribution/attribution_simulate.py and docs/attribution_methods.md.

    .venv/bin/python benchmarks/attribution_simulation.py [REPS]    # default 200 replicates

``false_claims``: share of replicates with an interval excluding no change when the truth is no change,
or on the wrong side of it. ``estimated``: share of replicates with a number at all (same-month
categories are not separable with calendar-month effects: never estimated, never claimed).
"""

import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # small matrices: one BLAS thread
    os.environ.setdefault(_var, "1")

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "attribution"))
import attribution_simulate as sim  # noqa: E402


def main(reps: int = 200, raw: str | None = None) -> None:
    t0 = time.time()
    parts = [sim.replicate5(effect, sim.ANALYSES, reps) for effect in sim.EFFECTS]
    df = pd.concat(parts, ignore_index=True)
    if raw:
        df.to_csv(raw, index=False)
    table = sim.summarise(df)
    print(f"{reps} replicates per setting (seed 2026), {time.time() - t0:.0f} s\n")
    print(table.to_string(float_format="{:.3f}".format))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, sys.argv[2] if len(sys.argv) > 2 else None)
