"""The state of every point of the chart shown, and the Making Data Count icons read from it.

One analysis per measure: the icons beside a chart describe that chart, with its own centre
line and limits. The Making Data Count rules (NHS England 2019; the precedence of
NHSRplotthedots 0.2.2, :mod:`qieval.spc.mdc_rules`) are applied to the chart's lines:

1. a point outside the 3-sigma limits (``lcl``/``ucl``);
2. part of a run of 7 points all rising or all falling;
3. two of three consecutive points beyond the 2-sigma limits (``lcl_95``/``ucl_95``) on one side;
4. part of a run of 7 points on one side of the centre line;

each within its chart part (a recalculated phase starts afresh); otherwise common cause. A run
chart has no limits, so only rules 2 and 4 (around the median) apply. Points without a value (a
missing month) are skipped: runs are counted over the points shown.

The variation icon is the state of the latest point; the assurance icon compares the target with
the latest point's limits (none for a run chart or a measure without a direction or target).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import mdc_rules as rules
from .icons import VARIATION_OF_POINT_TYPE

_DIRECTIONS = {"increase": 1, "neutral": 0, "decrease": -1}

#: point_type -> last_point word (the contract of ``sites/<site>.json``).
LAST_POINT = {
    "common_cause": "common_cause",
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neutral_high": "neutral",
    "special_cause_neutral_low": "neutral",
}


def point_types(result: pd.DataFrame, improvement_direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Special-cause label and MDC point type of every point of a :func:`~qieval.spc.qic` result
    (columns y, cl, lcl, ucl, lcl_95, ucl_95, part), in its row order. Rows without a value get
    ``""`` for both."""
    if improvement_direction not in _DIRECTIONS:
        raise ValueError(f"improvement_direction must be one of {list(_DIRECTIONS)}, not {improvement_direction!r}")
    y = result["y"].to_numpy(dtype=float)
    ok = ~np.isnan(y)
    labels = np.full(len(y), "", dtype=object)
    types = np.full(len(y), "", dtype=object)
    if not ok.any():
        return labels, types

    def col(name: str) -> np.ndarray:
        return result[name].to_numpy(dtype=float)[ok] if name in result else np.full(int(ok.sum()), np.nan)

    yy, cl = y[ok], col("cl")
    part = result["part"].to_numpy()[ok] if "part" in result else np.zeros(int(ok.sum()), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        outside = np.asarray(rules.outside_limits(yy, col("lcl"), col("ucl")), dtype=bool)
        diff = yy - cl
    rtm = np.where(np.isnan(diff), 0, np.sign(diff)).astype(np.int64)
    close = rules.close_to_limits(yy, col("lcl_95"), col("ucl_95"), outside)
    sc = rules.special_cause_type(yy, rtm, close, outside, part)
    labels[ok] = sc
    types[ok] = rules.point_type(sc, _DIRECTIONS[improvement_direction])
    return labels, types


def last_point_state(point_type: np.ndarray) -> tuple[str, str]:
    """(point type, last_point word) of the latest point with a value; ``("", "")`` if none."""
    shown = [p for p in point_type if p]
    if not shown:
        return "", ""
    return str(shown[-1]), LAST_POINT[str(shown[-1])]


def variation_icon(point_type: str, improvement_direction: str) -> str:
    """MDC variation icon name of a point type (``""`` for no point)."""
    return VARIATION_OF_POINT_TYPE.get(point_type, {}).get(improvement_direction, "") if point_type else ""


def assurance_icon(result: pd.DataFrame, target: float | None, improvement_direction: str) -> str:
    """``pass``/``fail``/``inconsistent`` from the target and the latest shown point's limits
    (``ptd_calculate_assurance_type``; comparisons strict), or ``""`` without a target, a direction
    or limits."""
    if target is None or improvement_direction == "neutral" or not len(result):
        return ""
    shown = result.loc[result["y"].notna()]
    if shown.empty:
        return ""
    lcl, ucl = float(shown["lcl"].iloc[-1]), float(shown["ucl"].iloc[-1])
    if np.isnan(lcl) or np.isnan(ucl):
        return ""
    if improvement_direction == "increase":
        return "fail" if target > ucl else "pass" if target < lcl else "inconsistent"
    return "pass" if target > ucl else "fail" if target < lcl else "inconsistent"


__all__ = ["point_types", "last_point_state", "variation_icon", "assurance_icon", "LAST_POINT"]
