"""Runs analysis with the Anhoej rules, vectorised over many series.

Anhoej J, Olesen AV (2014). Run charts revisited: a simulation study of run chart rules for
detection of non-random variation in health care processes. PLoS ONE 9(11): e113825.
Implementation follows qicharts2 0.8.1 ``runs.analysis()`` / ``crsignal()``
(``R/helper.functions.R``):

* a point is *useful* when it is included (not excluded), not missing and not on the centre
  line; ``n_useful`` counts them, ``n_obs`` counts the included points;
* a *run* is a maximal sequence of useful points on the same side of the centre line;
  ``longest_run`` is the longest one and ``n_crossings`` = number of runs - 1;
* **unusually long run**: ``longest_run > round(log2(n_useful)) + 3`` (Schilling 2012);
* **unusually few crossings**: ``n_crossings < qbinom(0.05, n_useful - 1, 0.5)`` (Chen 2010);
* ``runs_signal`` when either rule fires; with no useful points every figure is missing and
  there is no signal.

R's ``round`` rounds half to even; ``log2`` of a positive integer is never exactly k + 0.5, so
:func:`numpy.round` gives the same thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

#: R's qbinom() searches for the smallest x with P(X <= x) >= p * (1 - 64 * DBL_EPSILON).
_QBINOM_FUZZ = 1 - 64 * np.finfo(float).eps


@dataclass(frozen=True)
class RunsResult:
    """Per-segment runs analysis (float arrays use NaN where qicharts2 gives NA)."""

    n_obs: np.ndarray
    n_useful: np.ndarray
    longest_run: np.ndarray
    longest_run_max: np.ndarray
    n_crossings: np.ndarray
    n_crossings_min: np.ndarray
    runs_signal: np.ndarray


def longest_run_max(n_useful: np.ndarray) -> np.ndarray:
    """Upper limit for the longest run: round(log2(n)) + 3; NaN for n = 0."""
    n = np.asarray(n_useful, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.round(np.log2(n)) + 3
    return np.where(n > 0, out, np.nan)


def crossings_min(n_useful: np.ndarray) -> np.ndarray:
    """Lower limit for the number of crossings: qbinom(0.05, max(n - 1, 0), 0.5); NaN for n = 0.

    The 5th percentile of Binomial(n - 1, 0.5), computed once per distinct n (and remembered)
    with scipy and checked against R's search rule so the integer agrees with R's ``qbinom``.
    """
    n = np.asarray(n_useful, dtype=np.int64)
    out = np.full(n.shape, np.nan)
    pos = n > 0
    if not pos.any():
        return out
    uniq, inv = np.unique(n[pos], return_inverse=True)
    todo = [u for u in uniq.tolist() if u not in _CROSSINGS_MIN]
    if todo:
        _CROSSINGS_MIN.update(zip(todo, _qbinom_05(np.array(todo, dtype=np.int64)).tolist()))
    out[pos] = np.array([_CROSSINGS_MIN[u] for u in uniq.tolist()], dtype=float)[inv]
    return out


#: crossings_min() of each n_useful met so far (a pure function of n).
_CROSSINGS_MIN: dict[int, float] = {}


def _qbinom_05(n: np.ndarray) -> np.ndarray:
    """qbinom(0.05, max(n - 1, 0), 0.5) for positive integers n, as R computes it."""
    trials = np.maximum(n - 1, 0)
    p = 0.05 * _QBINOM_FUZZ
    k = binom.ppf(p, trials, 0.5)
    k = np.where(np.isnan(k) | (k < 0), 0.0, k)
    # guard against an off-by-one between scipy's and R's search
    below = binom.cdf(k - 1, trials, 0.5) >= p
    k = np.where(below & (k > 0), k - 1, k)
    short = binom.cdf(k, trials, 0.5) < p
    return np.where(short, k + 1, k)


def long_run_rule(longest_run: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """True where the longest run exceeds its limit (missing figures never signal)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(longest_run > limit)


def few_crossings_rule(n_crossings: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """True where the number of crossings is below its limit (missing figures never signal)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(n_crossings < limit)


def runs_analysis(y: np.ndarray, cl: np.ndarray, include: np.ndarray, seg: np.ndarray,
                  nseg: int) -> RunsResult:
    """Anhoej runs analysis of every segment at once.

    ``y``, ``cl``, ``include`` and ``seg`` are per point, sorted so each segment is contiguous
    and in x order. Runs are counted on the useful points only (points on the centre line or
    missing are skipped, so a run continues across them).
    """
    with np.errstate(invalid="ignore"):
        side = np.sign(y - cl)
    n_obs = np.bincount(seg[include], minlength=nseg)
    useful = include & ~np.isnan(side) & (side != 0)
    s = seg[useful]
    d = side[useful]
    n_useful = np.bincount(s, minlength=nseg)
    # a new run starts at the first useful point of a segment or where the side changes
    new_run = np.ones(len(s), dtype=bool)
    new_run[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.append(starts, len(s)))
    run_seg = s[starts]
    n_runs = np.bincount(run_seg, minlength=nseg)
    longest = np.zeros(nseg, dtype=np.int64)
    if len(lengths):
        np.maximum.at(longest, run_seg, lengths)
    has = n_useful > 0
    longest_run = np.where(has, longest, np.nan)
    n_crossings = np.where(has, np.maximum(n_runs - 1, 0), np.nan)
    lr_max = longest_run_max(n_useful)
    cr_min = crossings_min(n_useful)
    signal = long_run_rule(longest_run, lr_max) | few_crossings_rule(n_crossings, cr_min)
    return RunsResult(n_obs=n_obs, n_useful=n_useful, longest_run=longest_run,
                      longest_run_max=lr_max, n_crossings=n_crossings, n_crossings_min=cr_min,
                      runs_signal=signal & has)
