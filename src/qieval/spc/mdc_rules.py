"""Making Data Count special-cause rules, one small vectorised function per rule.

Each function mirrors one helper of NHSRplotthedots 0.2.2, ``R/ptd_calculate_point_type.R``
(``ptd_seven_point_one_side_mean``, ``ptd_part_of_seven_trend``, ``ptd_seven_point_trend``,
``ptd_two_in_three``, ``ptd_part_of_two_in_three``, ``ptd_special_cause_type``,
``ptd_point_type``) and the per-point tests of ``R/ptd_spc_standard.R`` (``outside_limits``,
``relative_to_mean``, ``close_to_limits``). The rules are those of NHS England's "Making Data
Count" guidance (*Making data count: strengthening your decision making*, 2019).

The R package applies each helper to one ``(facet, rebase_group)`` group at a time. Here every
function works on whole columns at once: the rows must be sorted so that each group is a
contiguous block, and ``group`` is an integer array naming each row's group (equal values =
same group). Nothing looks across a group boundary, exactly as in R where each group is its own
vector (the R helpers pad the ends of each vector with zeros, which we reproduce by treating
positions outside the group as "not there").
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Labels of ``ptd_special_cause_type`` (NHSRplotthedots 0.2.2), in rule-precedence order.
COMMON_CAUSE = "Common Cause"


# --- group bookkeeping -------------------------------------------------------------------------


def group_positions(group: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """0-based position of each row inside its contiguous group, and that group's size."""
    g = np.asarray(group)
    n = g.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.ones(n, dtype=bool)
    new[1:] = g[1:] != g[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(starts, append=n)
    start_of_row = np.repeat(starts, sizes)
    pos = np.arange(n, dtype=np.int64) - start_of_row
    return pos, np.repeat(sizes, sizes).astype(np.int64)


def _window_count(flags: BoolArray, pos: IntArray, size: IntArray, back: int, ahead: int) -> IntArray:
    """Number of true ``flags`` in rows ``i-back .. i+ahead`` of the same group (clipped)."""
    n = flags.size
    idx = np.arange(n)
    cs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(flags, dtype=np.int64, out=cs[1:])
    lo = idx - np.minimum(back, pos)
    hi = idx + np.minimum(ahead, size - 1 - pos)
    return cs[hi + 1] - cs[lo]


# --- per-point tests (ptd_spc_standard.R) ----------------------------------------------------


def outside_limits(y: FloatArray, lpl: FloatArray, upl: FloatArray) -> BoolArray:
    """A point strictly above the upper or strictly below the lower process limit.

    Missing limits (a one-point group) compare false, as R's ``NA`` falls through ``case_when``.
    """
    with np.errstate(invalid="ignore"):
        return (y > upl) | (y < lpl)


def relative_to_mean(y: FloatArray, mean: FloatArray) -> IntArray:
    """``sign(y - mean)``: 1 above, -1 below, 0 on the mean (a point on the mean breaks runs)."""
    return np.sign(y - mean).astype(np.int64)


def close_to_limits(y: FloatArray, nlpl: FloatArray, nupl: FloatArray, outside: BoolArray) -> BoolArray:
    """A point beyond the 2-sigma ("near") limits but not outside the process limits."""
    with np.errstate(invalid="ignore"):
        return ~outside & ((y < nlpl) | (y > nupl))


# --- run rules (ptd_calculate_point_type.R) ----------------------------------------------------


def seven_point_one_side_mean(rtm: IntArray, group: npt.ArrayLike) -> IntArray:
    """1 at the 7th (and every later) consecutive point on the same side of the mean, else 0.

    Mirrors ``ptd_seven_point_one_side_mean``: point *i* scores when ``rtm[i] != 0`` and the six
    points before it in its group have the same sign. Only the point that *completes* a run of 7
    scores; :func:`part_of_seven` spreads it back over the run.
    """
    rtm = np.asarray(rtm, dtype=np.int64)
    pos, size = group_positions(group)
    above = _window_count(rtm == 1, pos, size, back=6, ahead=0)
    below = _window_count(rtm == -1, pos, size, back=6, ahead=0)
    return ((above == 7) | (below == 7)).astype(np.int64)


def seven_point_trend(y: FloatArray, group: npt.ArrayLike) -> IntArray:
    """+1 / -1 at the 7th point of 7 strictly increasing / decreasing points, else 0.

    Mirrors ``ptd_seven_point_trend``: seven points = six consecutive rises (or falls), so a
    repeated value breaks a trend. Like :func:`seven_point_one_side_mean` only the completing
    point scores.
    """
    y = np.asarray(y, dtype=np.float64)
    pos, size = group_positions(group)
    step = np.zeros(y.size, dtype=np.int64)
    if y.size > 1:
        step[1:] = np.sign(np.diff(y)).astype(np.int64)
    step[pos == 0] = 0  # no step across a group boundary
    rises = _window_count(step == 1, pos, size, back=5, ahead=0)
    falls = _window_count(step == -1, pos, size, back=5, ahead=0)
    out = np.zeros(y.size, dtype=np.int64)
    enough = pos >= 6
    out[enough & (rises == 6)] = 1
    out[enough & (falls == 6)] = -1
    return out


def part_of_seven(v: IntArray, group: npt.ArrayLike) -> BoolArray:
    """True for a point that is, or is one of the 6 points before, a scoring point of ``v``.

    Mirrors ``ptd_part_of_seven_trend`` (used for both the trend and the one-side-of-mean rule):
    a point belongs to a run of 7 if any of itself and the next six points (same group) scores.
    """
    v = np.asarray(v)
    pos, size = group_positions(group)
    return _window_count(v != 0, pos, size, back=0, ahead=6) > 0


def two_in_three(close: BoolArray, rtm: IntArray, group: npt.ArrayLike) -> BoolArray:
    """True for a point in some window of 3 consecutive points (same group) in which at least two
    points are close to the limits and all three lie on the same side of the mean.

    Mirrors ``ptd_two_in_three`` (0.2.x, after the fix for issue #143): the R code pads each group
    with zeros, so only windows lying wholly inside the group can qualify. "Close" points exclude
    points outside the limits (see :func:`close_to_limits`).
    """
    close = np.asarray(close, dtype=bool)
    rtm = np.asarray(rtm, dtype=np.int64)
    n = close.size
    pos, size = group_positions(group)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    c = close.astype(np.int64)
    # window starting at row k covers k, k+1, k+2
    wc = c[:-2] + c[1:-1] + c[2:]
    wr = rtm[:-2] + rtm[1:-1] + rtm[2:]
    ok = np.zeros(n, dtype=bool)
    ok[:-2] = (wc >= 2) & (np.abs(wr) == 3) & (pos[:-2] + 2 < size[:-2])
    # a point is in windows starting at i-2, i-1, i (each within its own group by construction)
    out |= ok
    out[1:] |= ok[:-1] & (pos[1:] >= 1)
    out[2:] |= ok[:-2] & (pos[2:] >= 2)
    return out


def part_of_two_in_three(two3: BoolArray, close: BoolArray) -> BoolArray:
    """Only the close-to-limit points of a qualifying window are flagged (``ptd_part_of_two_in_three``)."""
    return np.asarray(two3, dtype=bool) & np.asarray(close, dtype=bool)


def trend_direction(y: FloatArray, part_trend: BoolArray, group: npt.ArrayLike) -> IntArray:
    """Direction used to label a point of a 7-point trend, as ``ptd_special_cause_type`` does.

    The sign of the step to the *next* point when this point and the next are both part of a
    trend, otherwise the sign of the step from the previous point (0 for a group's first point).
    R then labels +1 "Increasing" and anything else "Decreasing".
    """
    y = np.asarray(y, dtype=np.float64)
    part_trend = np.asarray(part_trend, dtype=bool)
    pos, size = group_positions(group)
    n = y.size
    back = np.zeros(n, dtype=np.int64)
    fwd = np.zeros(n, dtype=np.int64)
    next_part = np.zeros(n, dtype=bool)
    if n > 1:
        d = np.sign(np.diff(y)).astype(np.int64)
        back[1:] = d
        fwd[:-1] = d
        next_part[:-1] = part_trend[1:]
    back[pos == 0] = 0
    last = pos == size - 1
    next_part[last] = False
    return np.where(next_part & part_trend, fwd, back)


def special_cause_type(
    y: FloatArray,
    rtm: IntArray,
    close: BoolArray,
    outside: BoolArray,
    group: npt.ArrayLike,
) -> npt.NDArray[np.object_]:
    """The NHSRplotthedots 0.2.2 special-cause label of each point, applying rule precedence.

    Precedence (``ptd_special_cause_type``): outside the limits > 7-point trend > two of three
    close to a limit on one side > 7 points one side of the mean; otherwise "Common Cause".
    """
    part_trend = part_of_seven(seven_point_trend(y, group), group)
    part_2of3 = part_of_two_in_three(two_in_three(close, rtm, group), close)
    part_side = part_of_seven(seven_point_one_side_mean(rtm, group), group)
    sdy = trend_direction(y, part_trend, group)
    above = rtm > 0
    return np.select(
        [outside, part_trend, part_2of3, part_side],
        [
            np.where(rtm == 1, "Above UCL", "Below LCL"),
            np.where(sdy == 1, "7 Point Trend (Increasing)", "7 Point Trend (Decreasing)"),
            np.where(above, "2 in 3 Above CL", "2 in 3 Below CL"),
            np.where(above, "7 Points Above CL", "7 Points Below CL"),
        ],
        default=COMMON_CAUSE,
    ).astype(object)


def special_cause_direction(sc_type: npt.ArrayLike) -> IntArray:
    """+1 for an "Above"/"Increasing" label, -1 for "Below"/"Decreasing", 0 for common cause."""
    t = np.asarray(sc_type, dtype=str)
    up = (np.char.find(t, "Above") >= 0) | (np.char.find(t, "Increasing") >= 0)
    down = (np.char.find(t, "Below") >= 0) | (np.char.find(t, "Decreasing") >= 0)
    return np.select([up, down], [1, -1], default=0).astype(np.int64)


def point_type(sc_type: npt.ArrayLike, improvement_direction: int) -> npt.NDArray[np.object_]:
    """Map special-cause labels to MDC point types (``ptd_point_type``).

    ``improvement_direction`` is 1 (increase), -1 (decrease) or 0 (neutral).
    """
    v = special_cause_direction(sc_type)
    if improvement_direction == 0:
        labels = ("special_cause_neutral_high", "special_cause_neutral_low")
    else:
        v = v * improvement_direction
        labels = ("special_cause_improvement", "special_cause_concern")
    return np.select([v > 0, v < 0], list(labels), default="common_cause").astype(object)
