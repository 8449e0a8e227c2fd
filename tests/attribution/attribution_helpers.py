"""Small hand-made data sets for the attribution tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit


def series(sites: list[str], months: int = 30, start: str = "2022-01-01", seed: int = 3, base: float = -1.0,
           effects: dict | None = None, n: int = 400) -> pd.DataFrame:
    """Binomial rows for ``sites``; ``effects``: {site: [(on_month_index, log_or), ...]}."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range(start, periods=months, freq="MS")
    rows = []
    for k, s in enumerate(sites):
        eta = base + 0.1 * k - 0.003 * np.arange(months)
        for on, b in (effects or {}).get(s, []):
            eta = eta + b * (np.arange(months) >= on)
        y = rng.binomial(n, expit(eta + rng.normal(0, 0.05, months)))
        rows += [(s, p, int(v), n) for p, v in zip(periods, y)]
    return pd.DataFrame(rows, columns=["site_id", "period", "numerator", "denominator"])


def iv(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([(s, pd.Timestamp(d), c) for s, d, c in rows], columns=["site_id", "start", "category"])
