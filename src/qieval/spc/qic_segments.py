"""Vectorised reductions over contiguous segments (one segment = one facet cell x chart part).

Every chart quantity in :mod:`qieval.spc.limits` and :mod:`qieval.spc.anhoej` is a per-segment
sum, mean, median, moving range or run length. Rows are sorted so that each segment is a
contiguous block and carry an integer segment id ``seg`` in ``0 .. nseg - 1``; the helpers here
reduce over those blocks with :func:`numpy.bincount` / sorting, so a call on 10,000 series costs
the same Python overhead as a call on one.

Missing values follow R's ``na.rm = TRUE`` conventions used by qicharts2 (``sum`` of nothing is
0, ``mean`` of nothing is NaN) unless a function says otherwise.
"""

from __future__ import annotations

import numpy as np

FloatArray = np.ndarray
IntArray = np.ndarray
BoolArray = np.ndarray


def seg_nansum(values: FloatArray, seg: IntArray, nseg: int, mask: BoolArray | None = None) -> FloatArray:
    """Per-segment ``sum(values[mask], na.rm = TRUE)`` (0 for an empty segment)."""
    keep = ~np.isnan(values)
    if mask is not None:
        keep &= mask
    return np.bincount(seg[keep], weights=values[keep], minlength=nseg)


def seg_count(values: FloatArray, seg: IntArray, nseg: int, mask: BoolArray | None = None) -> FloatArray:
    """Per-segment number of non-missing ``values[mask]``."""
    keep = ~np.isnan(values)
    if mask is not None:
        keep &= mask
    return np.bincount(seg[keep], minlength=nseg).astype(float)


def seg_nanmean(values: FloatArray, seg: IntArray, nseg: int, mask: BoolArray | None = None) -> FloatArray:
    """Per-segment ``mean(values[mask], na.rm = TRUE)``; NaN when nothing is left."""
    total = seg_nansum(values, seg, nseg, mask)
    count = seg_count(values, seg, nseg, mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)


def seg_sd(values: FloatArray, seg: IntArray, nseg: int, mask: BoolArray | None = None,
           na_rm: bool = True) -> FloatArray:
    """Per-segment sample standard deviation (R ``stats::sd``; n - 1 denominator).

    With ``na_rm=False`` a segment holding any NaN gives NaN (R's ``sd(z)`` without ``na.rm``,
    as qicharts2 uses it for the funnel P'/U' charts). Fewer than two values give NaN.
    """
    sel = np.ones(len(values), dtype=bool) if mask is None else mask.copy()
    has_nan = np.bincount(seg[sel & np.isnan(values)], minlength=nseg) > 0
    mean = seg_nanmean(values, seg, nseg, sel)
    keep = sel & ~np.isnan(values)
    resid = values[keep] - mean[seg[keep]]
    ss = np.bincount(seg[keep], weights=resid * resid, minlength=nseg)
    count = np.bincount(seg[keep], minlength=nseg)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 1, np.sqrt(ss / np.maximum(count - 1, 1)), np.nan)
    if not na_rm:
        out[has_nan] = np.nan
    return out


def seg_nanmedian(values: FloatArray, seg: IntArray, nseg: int, mask: BoolArray | None = None) -> FloatArray:
    """Per-segment ``median(values[mask], na.rm = TRUE)``; NaN for an empty segment.

    Sorts once by (segment, value) and averages the one or two middle values, as R's
    ``stats::median`` does.
    """
    keep = ~np.isnan(values)
    if mask is not None:
        keep &= mask
    v = values[keep]
    s = seg[keep]
    order = np.lexsort((v, s))
    v = v[order]
    count = np.bincount(s, minlength=nseg)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    out = np.full(nseg, np.nan)
    has = count > 0
    lo = start[has] + (count[has] - 1) // 2
    hi = start[has] + count[has] // 2
    out[has] = (v[lo] + v[hi]) / 2.0
    return out


def seg_minmax(values: FloatArray, seg: IntArray, nseg: int) -> tuple[FloatArray, FloatArray]:
    """Per-segment minimum and maximum of ``values`` (all rows; NaN for an empty segment)."""
    lo = np.full(nseg, np.inf)
    hi = np.full(nseg, -np.inf)
    order_ok = len(seg) == 0 or bool(np.all(seg[1:] >= seg[:-1]))
    if order_ok and len(seg):
        starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
        ids = seg[starts]
        lo[ids] = np.minimum.reduceat(values, starts)
        hi[ids] = np.maximum.reduceat(values, starts)
    elif len(seg):
        np.minimum.at(lo, seg, values)
        np.maximum.at(hi, seg, values)
    lo[np.isinf(lo) & (lo > 0)] = np.nan
    hi[np.isinf(hi) & (hi < 0)] = np.nan
    return lo, hi


def seg_diffs(values: FloatArray, seg: IntArray, mask: BoolArray | None = None) -> tuple[FloatArray, IntArray, IntArray]:
    """Absolute successive differences within segments, over the rows in ``mask``.

    Mirrors R's ``abs(diff(v[mask]))`` applied to each segment separately: rows outside the mask
    are skipped (so a difference may span them), and no difference crosses a segment boundary.
    Returns (differences, their segment ids, row index of the later point of each pair).
    """
    idx = np.arange(len(values)) if mask is None else np.flatnonzero(mask)
    v = values[idx]
    s = seg[idx]
    same = s[1:] == s[:-1]
    d = np.abs(v[1:] - v[:-1])[same]
    return d, s[1:][same], idx[1:][same]


def screened_mean_mr(mr: FloatArray, mr_seg: IntArray, nseg: int, screen: bool,
                     factor: float = 3.267) -> FloatArray:
    """Mean moving range per segment, optionally screened once (qicharts2 ``qic.screenedmr``).

    Screening (Nelson 1982, as in qicharts2 ``qic.i``): drop moving ranges not strictly below
    ``factor * mean(MR)`` and take the mean again. Missing moving ranges are ignored.
    """
    amr = seg_nanmean(mr, mr_seg, nseg)
    if screen:
        with np.errstate(invalid="ignore"):
            keep = ~(mr >= factor * amr[mr_seg])  # NaN comparisons keep the (missing) value
        amr = seg_nanmean(mr[keep], mr_seg[keep], nseg)
    return amr
