"""Seeded simulation of a multi-site QI programme with known effects (used by the validity tests).

4 sites x 36 months (2021-01 .. 2023-12), staggered starts of three categories with true odds ratios
``TRUE_OR``; site baselines, a common linear trend, mild seasonality and AR(1) extra-binomial noise on
the logit scale. ``shock`` adds a level shift that hits every site in the same month (2022-01).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SITES = ["A", "B", "C", "D"]
MONTHS = pd.date_range("2021-01-01", periods=36, freq="MS")
TRUE_OR = {"staffing": 0.70, "IT": 0.85, "education": 1.00}
STARTS = {  # category -> site -> start date (mid-month starts switch on in that month)
    "staffing": {"A": "2021-07-01", "B": "2021-10-15", "C": "2022-01-03", "D": "2022-04-20"},
    "IT": {"A": "2022-02-01", "B": "2021-07-09", "C": "2022-06-01", "D": "2021-11-11"},
    "education": {"A": "2022-03-01", "B": "2022-09-01", "C": "2021-09-01", "D": "2022-08-01"},
}
BASE = {"A": -1.0, "B": -0.6, "C": -1.3, "D": -0.8}


def interventions() -> pd.DataFrame:
    rows = [(s, pd.Timestamp(d), c) for c, by in STARTS.items() for s, d in by.items()]
    return pd.DataFrame(rows, columns=["site_id", "start", "category"])


def simulate(rng: np.random.Generator, *, rho: float = 0.4, sd: float = 0.08, n_mean: int = 300,
             shock: float = 0.0, trend: float = -0.004) -> pd.DataFrame:
    rows = []
    t = np.arange(len(MONTHS))
    for s in SITES:
        eta = BASE[s] + trend * t + 0.08 * np.cos(2 * np.pi * MONTHS.month.to_numpy() / 12)
        for c, by in STARTS.items():
            on = MONTHS >= pd.Timestamp(by[s]).to_period("M").to_timestamp()
            eta = eta + np.log(TRUE_OR[c]) * on
        eta = eta + shock * (MONTHS >= pd.Timestamp("2022-01-01"))
        e = np.empty(len(t))
        e[0] = rng.normal(0, sd / np.sqrt(1 - rho**2))
        for i in range(1, len(t)):
            e[i] = rho * e[i - 1] + rng.normal(0, sd)
        p = 1 / (1 + np.exp(-(eta + e)))
        n = rng.poisson(n_mean, len(t))
        y = rng.binomial(n, p)
        rows += [(s, m, int(yy), int(nn)) for m, yy, nn in zip(MONTHS, y, n)]
    return pd.DataFrame(rows, columns=["site_id", "period", "numerator", "denominator"])
