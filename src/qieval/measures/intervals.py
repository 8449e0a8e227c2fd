"""Confidence intervals and two-sample tests for baseline-vs-intervention summaries.

Each function is one published formula, vectorised over numpy arrays:

- :func:`wilson` — Wilson score interval for a proportion (Wilson 1927; Newcombe 1998 method 3).
- :func:`newcombe_difference` — hybrid score interval for a difference of proportions
  (Newcombe 1998, method 10), built from the two Wilson intervals.
- :func:`poisson_exact` — exact (Garwood 1936) interval for a Poisson count, via χ² quantiles.
- :func:`rate_ratio` — ratio of two Poisson rates with the exact conditional (binomial)
  interval and test (e.g. Rothman & Greenland, Modern Epidemiology, ch. 14).
- :func:`two_proportion_test` — Pearson χ² (no continuity correction), or Fisher's exact test when
  an expected cell count is below 5 (Cochran's rule).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


def wilson(x: np.ndarray | float, n: np.ndarray | float, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for x successes out of n: (p + z²/2n ± z√(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    x = np.asarray(x, float)
    n = np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe_difference(x1, n1, x2, n2, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Interval for p2 − p1 (Newcombe 1998, method 10): δ − √((p2−l2)² + (u1−p1)²) … δ + √((u2−p2)² + (p1−l1)²)."""
    p1, p2 = np.asarray(x1, float) / n1, np.asarray(x2, float) / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p2 - p1
    return d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


def poisson_exact(x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact interval for a Poisson count x: [χ²(α/2, 2x)/2, χ²(1−α/2, 2x+2)/2] (Garwood 1936)."""
    x = np.asarray(x, float)
    a = 1 - level
    low = np.where(x > 0, stats.chi2.ppf(a / 2, 2 * x) / 2, 0.0)
    high = stats.chi2.ppf(1 - a / 2, 2 * x + 2) / 2
    return low, high


def rate_ratio(x1: float, e1: float, x2: float, e2: float, level: float = 0.95) -> dict[str, float]:
    """Rate ratio (x2/e2)/(x1/e1) with the exact conditional interval and two-sided test.

    Given x1 + x2 events, x2 ~ Binomial(x1 + x2, π) with π = e2·RR/(e1 + e2·RR); a Clopper–Pearson
    interval for π maps to the RR interval, and H0: RR = 1 is the binomial test of π = e2/(e1+e2).
    """
    total = x1 + x2
    if total == 0:
        return {"ratio": np.nan, "low": np.nan, "high": np.nan, "p_value": 1.0}
    test = stats.binomtest(int(x2), int(total), e2 / (e1 + e2))
    ci = test.proportion_ci(level, method="exact")  # Clopper–Pearson: does not depend on the tested π
    odds = lambda p: p / (1 - p) if p < 1 else np.inf  # noqa: E731
    scale = e1 / e2
    ratio = (x2 / e2) / (x1 / e1) if x1 > 0 else np.inf
    p_value = test.pvalue
    return {"ratio": ratio, "low": odds(ci.low) * scale, "high": odds(ci.high) * scale, "p_value": p_value}


def two_proportion_test(x1: float, n1: float, x2: float, n2: float) -> dict[str, float | str]:
    """Pearson χ² test of a 2×2 table (Fisher's exact test when an expected count < 5)."""
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]], float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    if (table.sum(0) == 0).any():
        return {"test": "none (no variation)", "statistic": np.nan, "p_value": 1.0}
    if (expected < 5).any():
        return {"test": "Fisher's exact test", "statistic": np.nan,
                "p_value": float(stats.fisher_exact(table.astype(int)).pvalue)}
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return {"test": "chi-squared test", "statistic": float(chi2), "p_value": float(p)}


def welch(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Difference of means b − a with the Welch–Satterthwaite t interval and test."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = stats.t.ppf(0.5 + level / 2, df)
    d = b.mean() - a.mean()
    res = stats.ttest_ind(b, a, equal_var=False)
    return {"diff": d, "low": d - t * se, "high": d + t * se, "statistic": float(res.statistic),
            "p_value": float(res.pvalue), "df": float(df)}


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean with a t interval."""
    v = np.asarray(values, float)
    m = v.mean()
    if len(v) < 2:
        return m, np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return m, m - half, m + half
