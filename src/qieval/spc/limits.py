"""Control chart constants and centre-line / limit formulas, one small function per chart type.

Each function reproduces the matching ``qic.<chart>()`` function in qicharts2 0.8.1
(``R/helper.functions.R``) for many series at once: it receives a :class:`ChartInput` whose
arrays hold every aggregated point of every facet cell and chart part (a "segment"), and returns
the plotted value and the lines for each point as a :class:`ChartLines`. Estimates use only the
*baseline* points of a segment (``base`` = within ``freeze`` and not excluded) and are then applied
to the whole segment, as qicharts2 does.

Sources: Montgomery, *Introduction to Statistical Quality Control* (6th ed.) sections 6.3-6.4
(Xbar/S, I/MR charts, eqs. 6.29-6.33), 7.2-7.3 (p, c, u charts, eqs. 7.17, 7.19) and p. 319
(g chart); Laney (2002) *Improved control charts for attributes*, Quality Engineering 14(4)
(P' and U'); Nelson (1982) for the moving-range screening; Provost & Murray (2011) p. 228 (g
chart centre line); Nelson (1994), J. Qual. Technol. 26(3), for the t chart's 1/3.6 power
transform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import gammaln

from .qic_segments import (
    seg_diffs,
    seg_minmax,
    seg_nanmean,
    seg_nanmedian,
    seg_nansum,
    seg_sd,
    screened_mean_mr,
)

#: d2 for n = 2, the bias constant turning a mean moving range into sigma (Montgomery 6.33).
D2 = 1.128
#: D4 for n = 2: upper limit of the moving range chart and the screening cut-off (Nelson 1982).
D4 = 3.267
#: qicharts2's I' chart screens its scaled moving ranges at 3.2665 (sic) times their mean.
D4_IP = 3.2665
#: Provost & Murray's theoretical median of the geometric distribution as a fraction of its mean.
G_MEDIAN_FRACTION = 0.693
#: Power transform of the t chart (time between events, Nelson 1994).
T_POWER = 3.6


@dataclass(frozen=True)
class ChartInput:
    """Aggregated points of all segments, sorted so that each segment is contiguous.

    ``y`` is the plotted value per subgroup (``sum(y)/sum(n)`` with a denominator, else the
    ``agg`` of y); ``y_sum``, ``y_len``, ``y_mean``, ``y_sd`` describe the raw values of the
    subgroup; ``cl_user`` is the user's centre line (NaN where none); ``base`` marks points used
    for estimation; ``categorical`` says that x is categorical (funnel: P'/U' use the SD of z).
    """

    y: np.ndarray
    y_sum: np.ndarray
    y_len: np.ndarray
    y_mean: np.ndarray
    y_sd: np.ndarray
    n: np.ndarray
    cl_user: np.ndarray
    base: np.ndarray
    seg: np.ndarray
    nseg: int
    categorical: bool = False
    screen_mr: bool = True


@dataclass(frozen=True)
class ChartLines:
    """Plotted value, denominator, centre line and 3- and 2-sigma limits for every point."""

    y: np.ndarray
    n: np.ndarray
    cl: np.ndarray
    lcl: np.ndarray
    ucl: np.ndarray
    lcl_95: np.ndarray
    ucl_95: np.ndarray


# ---------------------------------------------------------------------------------------------
# Constants (exact forms, as qicharts2 >= 0.5.1 computes them)
# ---------------------------------------------------------------------------------------------

def c4(n: np.ndarray) -> np.ndarray:
    """c4(n) = sqrt(2/(n-1)) * Gamma(n/2) / Gamma((n-1)/2); NaN for n <= 1 (Montgomery App. VI)."""
    n = np.where(np.asarray(n, dtype=float) <= 1, np.nan, n)
    with np.errstate(invalid="ignore"):
        return np.sqrt(2.0 / (n - 1.0)) * np.exp(gammaln(n / 2.0) - gammaln((n - 1.0) / 2.0))


def c5(n: np.ndarray) -> np.ndarray:
    """c5(n) = sqrt(1 - c4(n)^2), the relative SD of the sample SD."""
    return np.sqrt(1.0 - c4(n) ** 2)


def a3(n: np.ndarray, k: float = 3.0) -> np.ndarray:
    """A3 = k / (c4(n) sqrt(n)): Xbar limits from the mean SD (Montgomery 6.29, k = 3)."""
    n = np.where(np.asarray(n, dtype=float) <= 1, np.nan, n)
    return k / (c4(n) * np.sqrt(n))


def b3(n: np.ndarray, k: float = 3.0) -> np.ndarray:
    """B3 = max(0, 1 - k c5/c4): lower S chart factor (NaN stays NaN, as R's pmax)."""
    with np.errstate(invalid="ignore"):
        val = 1.0 - k * c5(n) / c4(n)
    return np.where(np.isnan(val), np.nan, np.maximum(0.0, val))


def b4(n: np.ndarray, k: float = 3.0) -> np.ndarray:
    """B4 = 1 + k c5/c4: upper S chart factor."""
    return 1.0 + k * c5(n) / c4(n)


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------

def _centre(inp: ChartInput, computed: np.ndarray) -> np.ndarray:
    """Per-point centre line: the user's value in segments where it has no gap (qicharts2:
    ``if (anyNA(x$cl))`` recompute), else the per-segment estimate."""
    user_ok = np.bincount(inp.seg[np.isnan(inp.cl_user)], minlength=inp.nseg) == 0
    return np.where(user_ok[inp.seg], inp.cl_user, computed[inp.seg])


def _user_segments(inp: ChartInput) -> np.ndarray:
    """Per-point flag: the user's centre line is used in this point's segment."""
    user_ok = np.bincount(inp.seg[np.isnan(inp.cl_user)], minlength=inp.nseg) == 0
    return user_ok[inp.seg]


def _sym(y: np.ndarray, n: np.ndarray, cl: np.ndarray, sd: np.ndarray) -> ChartLines:
    """cl -/+ 3 sd and cl -/+ 2 sd."""
    return ChartLines(y, n, cl, cl - 3 * sd, cl + 3 * sd, cl - 2 * sd, cl + 2 * sd)


def _floor0(lines: ChartLines) -> ChartLines:
    """Lower limits below 0 set to 0 (only finite values, as qicharts2's ``is.finite`` guard)."""
    lcl = np.where(np.isfinite(lines.lcl) & (lines.lcl < 0), 0.0, lines.lcl)
    lcl95 = np.where(np.isfinite(lines.lcl_95) & (lines.lcl_95 < 0), 0.0, lines.lcl_95)
    return replace(lines, lcl=lcl, lcl_95=lcl95)


def _cap1(lines: ChartLines) -> ChartLines:
    """Upper limits above 1 set to 1 (proportions)."""
    ucl = np.where(np.isfinite(lines.ucl) & (lines.ucl > 1), 1.0, lines.ucl)
    ucl95 = np.where(np.isfinite(lines.ucl_95) & (lines.ucl_95 > 1), 1.0, lines.ucl_95)
    return replace(lines, ucl=ucl, ucl_95=ucl95)


def _i_sigma(inp: ChartInput, y: np.ndarray, cl: np.ndarray) -> np.ndarray:
    """Per-segment sigma of an individuals series: mean(|diff(y - cl)|) over the baseline points
    (optionally screened once at 3.267 x mean MR) / 1.128 (Montgomery 6.33, Nelson 1982)."""
    mr, mr_seg, _ = seg_diffs(y - cl, inp.seg, inp.base)
    return screened_mean_mr(mr, mr_seg, inp.nseg, inp.screen_mr, D4) / D2


def _proportion_sigma(cl: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(cl * (1 - cl) / n)


def _rate_sigma(cl: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(cl / n)


def _laney_sigma_z(inp: ChartInput, cl: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Laney (2002) sigma_z per segment from the baseline z-scores z = (y - cl) / sd.

    Time-ordered x: mean moving range of z (screened when ``screen_mr``) / 1.128.
    Categorical x (funnel): ``sd(z)`` - any missing z makes it missing, as in qicharts2.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (inp.y - cl) / sd
    if inp.categorical:
        return seg_sd(z, inp.seg, inp.nseg, inp.base, na_rm=False)
    mr, mr_seg, _ = seg_diffs(z, inp.seg, inp.base)
    with np.errstate(invalid="ignore"):
        return screened_mean_mr(mr, mr_seg, inp.nseg, inp.screen_mr, D4) / D2


# ---------------------------------------------------------------------------------------------
# One function per chart
# ---------------------------------------------------------------------------------------------

def run_chart(inp: ChartInput) -> ChartLines:
    """Run chart: centre line = median of the baseline values; no limits (qicharts2 qic.run)."""
    cl = _centre(inp, seg_nanmedian(inp.y, inp.seg, inp.nseg, inp.base))
    nan = np.full(len(inp.y), np.nan)
    return ChartLines(inp.y, inp.n, cl, nan, nan.copy(), nan.copy(), nan.copy())


def i_chart(inp: ChartInput) -> ChartLines:
    """I chart: cl = mean of baseline values, sigma = mean MR / 1.128 (Montgomery 6.33)."""
    cl = _centre(inp, seg_nanmean(inp.y, inp.seg, inp.nseg, inp.base))
    sd = _i_sigma(inp, inp.y, cl)[inp.seg]
    return _sym(inp.y, inp.n, cl, sd)


def mr_chart(inp: ChartInput) -> ChartLines:
    """MR chart: y = |y_i - y_{i-1}| within the part (first point missing); cl = mean baseline
    MR; UCL = 3.267 cl (D4, n = 2), 2-sigma UCL = 3.267/3 * 2 cl; LCL = 0."""
    y = np.full(len(inp.y), np.nan)
    d, _, later = seg_diffs(inp.y, inp.seg)
    y[later] = d
    cl = _centre(inp, seg_nanmean(y, inp.seg, inp.nseg, inp.base))
    zero = np.zeros(len(y))
    return ChartLines(y, inp.n, cl, zero, D4 * cl, zero.copy(), (D4 / 3) * 2 * cl)


def ip_chart(inp: ChartInput) -> ChartLines:
    """I' chart (qicharts2 0.8 ``qic.ip``): individuals of subgroup means/rates with varying n.

    cl = sum(y n) / sum(n) over the baseline; s_i = sqrt(pi/2) |y_i - y_{i-1}| /
    sqrt(1/n_{i-1} + 1/n_i) over *all* points of the part (screened once at 3.2665 x mean);
    sigma_i = mean(s) sqrt(1/n_i). Without n, n = number of values in the subgroup.
    """
    n = inp.n if not np.all(np.isnan(inp.n)) else inp.y_len.astype(float)
    yn = inp.y * n
    num = seg_nansum(yn, inp.seg, inp.nseg, inp.base)
    den = seg_nansum(n, inp.seg, inp.nseg, inp.base)
    with np.errstate(invalid="ignore", divide="ignore"):
        cl = _centre(inp, num / den)
        inv = 1.0 / n
    d1, d_seg, later = seg_diffs(inp.y, inp.seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(np.pi / 2) * d1 / np.sqrt(inv[later - 1] + inv[later])
    as_ = screened_mean_mr(s, d_seg, inp.nseg, inp.screen_mr, D4_IP)
    with np.errstate(invalid="ignore"):
        sd = as_[inp.seg] * np.sqrt(inv)
    return _sym(inp.y, n, cl, sd)


def _pooled_sd(inp: ChartInput) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: pooled SD sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1)) (Montgomery 6.31) and
    mean SD (6.29), over the baseline; and whether subgroup sizes vary within the segment
    (qicharts2 ``var.n``, judged on all points of the part)."""
    ln = inp.y_len.astype(float)
    lo, hi = seg_minmax(ln, inp.seg, inp.nseg)
    var_n = lo != hi
    w = (ln - 1) * inp.y_sd ** 2
    num = seg_nansum(w, inp.seg, inp.nseg, inp.base)
    den = np.bincount(inp.seg[inp.base], weights=ln[inp.base] - 1, minlength=inp.nseg)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt(num / den)
    mean_sd = seg_nanmean(inp.y_sd, inp.seg, inp.nseg, inp.base)
    return np.where(var_n, pooled, mean_sd), var_n


def xbar_chart(inp: ChartInput) -> ChartLines:
    """Xbar chart: cl = sum(n_i xbar_i) / sum(n_i) (Montgomery 6.30); limits cl -/+ A3(n_i) s,
    s = pooled SD for varying subgroup sizes (6.31) else mean SD (6.29)."""
    ln = inp.y_len.astype(float)
    num = seg_nansum(ln * inp.y_mean, inp.seg, inp.nseg, inp.base)
    den = np.bincount(inp.seg[inp.base], weights=ln[inp.base], minlength=inp.nseg)
    with np.errstate(invalid="ignore", divide="ignore"):
        cl = _centre(inp, num / den)
    s, _ = _pooled_sd(inp)
    sd = s[inp.seg]
    A3, A3_95 = a3(ln), a3(ln, 2.0)
    return ChartLines(inp.y, inp.n, cl, cl - A3 * sd, cl + A3 * sd, cl - A3_95 * sd, cl + A3_95 * sd)


def s_chart(inp: ChartInput) -> ChartLines:
    """S chart: y = subgroup SD; cl = pooled SD (varying n, Montgomery 6.31) or mean SD (6.29);
    limits B3 cl, B4 cl with the exact c4-based constants."""
    s, _ = _pooled_sd(inp)
    cl = _centre(inp, s)
    ln = inp.y_len.astype(float)
    return ChartLines(inp.y_sd, inp.n, cl, b3(ln) * cl, b4(ln) * cl, b3(ln, 2.0) * cl, b4(ln, 2.0) * cl)


def t_chart(inp: ChartInput) -> ChartLines:
    """T chart (time between events): I chart of y^(1/3.6), all lines back-transformed by ^3.6;
    a negative or undefined LCL becomes 0 (the 2-sigma LCL is left undefined, as qicharts2)."""
    with np.errstate(invalid="ignore"):
        ty = inp.y ** (1 / T_POWER)
    # As in qicharts2, a user-given centre line is used as is on the transformed scale.
    lines = i_chart(replace(inp, y=ty))
    with np.errstate(invalid="ignore"):
        y = lines.y ** T_POWER
        cl = lines.cl ** T_POWER
        ucl = lines.ucl ** T_POWER
        ucl95 = lines.ucl_95 ** T_POWER
        lcl = lines.lcl ** T_POWER
        lcl95 = lines.lcl_95 ** T_POWER
    lcl = np.where((lcl < 0) | np.isnan(lcl), 0.0, lcl)
    return ChartLines(y, inp.n, cl, lcl, ucl, lcl95, ucl95)


def _ratio_centre(inp: ChartInput) -> np.ndarray:
    """Centre line of p, p′, u and u′ charts: Σ counts / Σ denominators over each part's baseline
    (qicharts2; Montgomery 7.2, 7.19), unless a fixed ``cl`` was given."""
    num = seg_nansum(inp.y_sum, inp.seg, inp.nseg, inp.base)
    den = seg_nansum(inp.n, inp.seg, inp.nseg, inp.base)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _centre(inp, num / den)


def p_chart(inp: ChartInput) -> ChartLines:
    """P chart: cl = sum(events) / sum(n) over the baseline; sigma_i = sqrt(cl (1 - cl) / n_i)
    (Montgomery 7.2); limits clipped to [0, 1]."""
    cl = _ratio_centre(inp)
    return _cap1(_floor0(_sym(inp.y, inp.n, cl, _proportion_sigma(cl, inp.n))))


def pp_chart(inp: ChartInput) -> ChartLines:
    """Laney P' chart: p chart sigma times sigma_z (Laney 2002); limits clipped to [0, 1]."""
    cl = _ratio_centre(inp)
    sd = _proportion_sigma(cl, inp.n)
    sd = sd * _laney_sigma_z(inp, cl, sd)[inp.seg]
    return _cap1(_floor0(_sym(inp.y, inp.n, cl, sd)))


def c_chart(inp: ChartInput) -> ChartLines:
    """C chart: y = subgroup count (sum); cl = mean baseline count; sigma = sqrt(cl)
    (Montgomery 7.17); negative LCL -> 0."""
    y = inp.y_sum
    cl = _centre(inp, seg_nanmean(y, inp.seg, inp.nseg, inp.base))
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(cl)
    return _floor0(_sym(y, inp.n, cl, sd))


def u_chart(inp: ChartInput) -> ChartLines:
    """U chart: cl = sum(counts) / sum(n) over the baseline; sigma_i = sqrt(cl / n_i)
    (Montgomery 7.19); negative LCL -> 0."""
    cl = _ratio_centre(inp)
    return _floor0(_sym(inp.y, inp.n, cl, _rate_sigma(cl, inp.n)))


def up_chart(inp: ChartInput) -> ChartLines:
    """Laney U' chart: u chart sigma times sigma_z (Laney 2002); negative LCL -> 0."""
    cl = _ratio_centre(inp)
    sd = _rate_sigma(cl, inp.n)
    sd = sd * _laney_sigma_z(inp, cl, sd)[inp.seg]
    return _floor0(_sym(inp.y, inp.n, cl, sd))


def g_chart(inp: ChartInput) -> ChartLines:
    """G chart (opportunities between events): limits from the geometric distribution,
    mean -/+ 3 sqrt(mean (mean + 1)) (Montgomery p. 319), negative LCL -> 0; the plotted centre
    line is then the baseline median, or 0.693 x a user-given centre line (Provost & Murray)."""
    mean = seg_nanmean(inp.y, inp.seg, inp.nseg, inp.base)
    m = _centre(inp, mean)
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(m * (m + 1))
    lines = _sym(inp.y, inp.n, m, sd)
    with np.errstate(invalid="ignore"):
        lcl = np.where(lines.lcl < 0, 0.0, lines.lcl)
        lcl95 = np.where(lines.lcl_95 < 0, 0.0, lines.lcl_95)
    median = seg_nanmedian(inp.y, inp.seg, inp.nseg, inp.base)[inp.seg]
    cl = np.where(_user_segments(inp), G_MEDIAN_FRACTION * m, median)
    return replace(lines, cl=cl, lcl=lcl, lcl_95=lcl95)


#: Chart name -> limit function.
CHARTS: dict[str, Callable[[ChartInput], ChartLines]] = {
    "run": run_chart,
    "i": i_chart,
    "mr": mr_chart,
    "ip": ip_chart,
    "xbar": xbar_chart,
    "s": s_chart,
    "t": t_chart,
    "p": p_chart,
    "pp": pp_chart,
    "c": c_chart,
    "u": u_chart,
    "up": up_chart,
    "g": g_chart,
}

#: Charts that need a denominator column.
NEEDS_N = frozenset({"p", "pp", "u", "up"})

__all__ = ["ChartInput", "ChartLines", "CHARTS", "NEEDS_N", "c4", "c5", "a3", "b3", "b4"]
