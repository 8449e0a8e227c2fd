"""NHS England "Making Data Count" XmR charts: the NHSRplotthedots 0.2.2 model.

:func:`mdc` computes, for every point, the process limits, the near (2-sigma) limits, the
special-cause rules and the MDC point type; :func:`mdc_icons` summarises each facet as the MDC
variation and assurance icons. The arithmetic mirrors the R package NHSRplotthedots 0.2.2
(NHS-R Community; files ``R/ptd_spc.R``, ``R/ptd_add_rebase_column.R``, ``R/ptd_spc_standard.R``,
``R/ptd_calculate_point_type.R``, ``R/ptd_add_short_group_warnings.R``,
``R/ptd_add_target_column.R``, ``R/ptd_calculate_assurance_type.R``, ``R/geom_ptd_icon.R``),
which implements NHS England's *Making data count* guidance. Like that package (and the MDC Excel
tool) the limits use the constant 2.66 (not 3/1.128), so results agree with NHSRplotthedots, not
with a textbook I chart.

Conventions carried over from NHSRplotthedots:

* rows are sorted by facet then date; a rebase date starts a new ``rebase_group`` (a running
  count per facet, so it starts at 0, or at 1 when the first date is a rebase date);
* per (facet, rebase group): ``mean`` of the first ``fix_after_n_points`` values (all when
  ``None``); moving ranges of those same values only (the first point of a group has none, so
  no moving range spans a rebase); mean moving range; with ``screen_outliers`` moving ranges not
  strictly below 3.267 x mean MR are dropped and the mean re-taken, once;
* ``lpl``/``upl`` = mean -/+ 2.66 x mean MR; ``nlpl``/``nupl`` = mean -/+ 2 x (2.66 / 3) x mean MR;
* groups of 12 or fewer points still get limits but trigger a warning (R's threshold ``n < 13``).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, argument_error
from . import mdc_rules as rules
from .icons import VARIATION_OF_POINT_TYPE

__all__ = ["mdc", "mdc_icons", "r_mean", "LIMIT", "LIMIT_CLOSE", "SCREEN", "NO_FACET"]

#: Process-limit multiplier of mean moving range (NHSRplotthedots ``limit``; MDC Excel tool).
LIMIT = 2.66
#: Near-limit (2-sigma) multiplier, computed exactly as NHSRplotthedots does: ``2 * (limit / 3)``.
LIMIT_CLOSE = 2 * (LIMIT / 3)
#: Moving-range screening multiplier (NHSRplotthedots ``3.267``, the D4 constant for n = 2).
SCREEN = 3.267
#: Pseudo-facet value when no facet column is given (NHSRplotthedots ``"no facet"``).
NO_FACET = "no facet"
#: A group with fewer points than this triggers a warning (NHSRplotthedots 0.2.2 default 13).
WARNING_THRESHOLD = 13

_DIRECTIONS = {"increase": 1, "neutral": 0, "decrease": -1}
_OUTPUT = [
    "x", "y", "mean", "lpl", "upl", "nlpl", "nupl", "rebase_group", "outside_limits",
    "close_to_limits", "relative_to_mean", "special_cause_flag", "point_type", "target",
]
_ATTRS_KEY = "mdc"
_NS = np.dtype("datetime64[ns]")


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and bool(np.isfinite(v))


def _to_dates(values: Any, arg: str) -> pd.DatetimeIndex:
    """Parse one date or a sequence of dates (R's ``to_datetime``); InputError if unparseable."""
    if isinstance(values, (str, pd.Timestamp, np.datetime64)) or not np.iterable(values):
        values = [values]
    try:
        out = pd.DatetimeIndex(pd.to_datetime(list(values)))
    except (ValueError, TypeError) as exc:
        raise argument_error(arg, f"expected dates, got {values!r} ({exc})") from None
    if out.hasnans:
        raise argument_error(arg, "dates must not be missing")
    return out.as_unit("ns")


def _validate(
    data: Any, value: Any, date: Any, facet: Any, rebase: Any, fix_after_n_points: Any,
    improvement_direction: Any, target: Any, screen_outliers: Any,
) -> None:
    if not isinstance(data, pd.DataFrame):
        raise argument_error("data", f"data must be a pandas DataFrame, not {type(data).__name__}")
    for arg, col in (("value", value), ("date", date), ("facet", facet)):
        if arg == "facet" and col is None:
            continue
        if not isinstance(col, str):
            raise argument_error(arg, f"{arg} must be a column name (str), not {col!r}")
        if col not in data.columns:
            raise argument_error(arg, f"'{col}' must be a column of data (columns: {', '.join(map(str, data.columns))})")
    if facet is not None and facet in _OUTPUT:
        raise argument_error("facet", f"facet column name '{facet}' clashes with an output column; rename it")
    if improvement_direction not in _DIRECTIONS:
        raise argument_error(
            "improvement_direction",
            f"improvement_direction must be one of 'increase', 'neutral', 'decrease', not {improvement_direction!r}",
        )
    if not isinstance(screen_outliers, (bool, np.bool_)):
        raise argument_error("screen_outliers", f"screen_outliers must be True or False, not {screen_outliers!r}")
    if fix_after_n_points is not None and not (_is_number(fix_after_n_points) and fix_after_n_points >= 12):
        raise argument_error(
            "fix_after_n_points",
            f"fix_after_n_points must be a single number >= 12 (NHSRplotthedots rule), not {fix_after_n_points!r}",
        )
    facets: set[Any] = set() if facet is None else set(data[facet].dropna().unique().tolist())
    if isinstance(rebase, Mapping):
        if facet is None:
            raise argument_error("rebase", "rebase must be a list of dates (not a dict) when facet is not set")
        unknown = [k for k in rebase if k not in facets]
        if unknown:
            raise argument_error("rebase", f"rebase keys {unknown!r} are not values of the facet column '{facet}'")
    if target is not None:
        if isinstance(target, Mapping):
            if facet is None:
                raise argument_error("target", "target must be a single number (not a dict) when facet is not set")
            unknown = [k for k in target if k not in facets]
            if unknown:
                raise argument_error("target", f"target keys {unknown!r} are not values of the facet column '{facet}'")
            bad = {k: v for k, v in target.items() if not _is_number(v)}
            if bad:
                raise argument_error("target", f"target values must be numbers, got {bad!r}")
        elif not _is_number(target):
            raise argument_error("target", f"target must be a number or a dict facet -> number, not {target!r}")


def _dates(column: pd.Series, date: str) -> np.ndarray:
    """The date column as a ``datetime64[ns]`` array (tz dropped); InputError if not dates."""
    if isinstance(column.dtype, np.dtype) and column.dtype == _NS:
        x = column.to_numpy()  # already naive nanosecond dates: nothing to convert
        if np.isnat(x).any():
            raise argument_error("date", f"date column '{date}' has a missing date")
        return x
    try:
        x = pd.to_datetime(column)
    except (ValueError, TypeError) as exc:
        raise argument_error("date", f"date column '{date}' must hold dates ({exc})") from None
    if not pd.api.types.is_datetime64_any_dtype(x):
        raise argument_error("date", f"date column '{date}' must hold dates")
    if getattr(x.dt, "tz", None) is not None:
        x = x.dt.tz_localize(None)
    x = x.astype("datetime64[ns]")
    if x.isna().any():
        raise argument_error("date", f"date column '{date}' has a missing date")
    return x.to_numpy()


def _duplicate_error(f: np.ndarray, x: np.ndarray, date: str, facet: str | None) -> InputError | None:
    """The error for the first row (in data order) repeating an earlier (facet, date), if any."""
    df = pd.DataFrame({"f": f, "x": x})
    dup = df.duplicated(["f", "x"])
    if not dup.any():
        return None
    where = df.loc[dup].iloc[0]
    which = "" if facet is None else f" for facet {where['f']!r}"
    return argument_error("date", f"duplicate rows found in '{date}': {where['x'].date()}{which}")


def _prepare(data: pd.DataFrame, value: str, date: str, facet: str | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick f, x, y; check types, missing values and duplicates; sort by facet then date.

    Returns the facet (``"no facet"`` when ``facet`` is None), date (``datetime64[ns]``) and value
    (``float64``) arrays in R's ``arrange(f, x)`` order.
    """
    y = data[value]
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        raise argument_error("value", f"value column '{value}' must be numeric (it is {y.dtype})")
    if not (isinstance(y.dtype, np.dtype) and y.dtype == np.float64):
        y = y.astype("float64")
    y = y.to_numpy()
    missing = np.isnan(y)
    if missing.any():
        at = int(np.flatnonzero(missing)[0])
        raise argument_error("value", f"value column '{value}' has a missing value (data row position {at}); "
                             "Making Data Count charts need a value for every date")
    if not np.isfinite(y).all():
        raise argument_error("value", f"value column '{value}' has an infinite value")
    x = _dates(data[date], date)
    if facet is None:
        f = np.full(len(y), NO_FACET, dtype=object)
        # one facet: a stable sort by date; equal neighbours after sorting are duplicates
        order = np.argsort(x, kind="stable")
        xs = x[order]
        if len(xs) > 1 and (xs[1:] == xs[:-1]).any():
            raise _duplicate_error(f, x, date, facet)
        return f[order], xs, y[order]
    fc = data[facet]
    if fc.isna().any():
        raise argument_error("facet", f"facet column '{facet}' has a missing value")
    f = fc.to_numpy()
    error = _duplicate_error(f, x, date, facet)
    if error is not None:
        raise error
    # R: arrange(f, x). Stable sort so ties cannot occur (duplicates were rejected).
    order = pd.DataFrame({"f": f, "x": x}).sort_values(["f", "x"], kind="mergesort").index.to_numpy()
    return f[order], x[order], y[order]


def _rebase_flags(f: np.ndarray, x: np.ndarray, rebase: Any) -> np.ndarray:
    """1 where a row's date is a rebase date for its facet (``ptd_add_rebase_column``)."""
    flags = np.zeros(len(x), dtype=np.int64)
    if rebase is None:
        return flags
    if isinstance(rebase, Mapping):
        for key, dates in rebase.items():
            d = _to_dates(dates, "rebase")
            mine = (pd.Series(f, dtype=object) == key).to_numpy()
            hit = mine & np.isin(x, d.to_numpy())
            _warn_unmatched(d, x[mine], f"facet {key!r}")
            flags |= hit.astype(np.int64)
        return flags
    d = _to_dates(rebase, "rebase")
    _warn_unmatched(d, x, "the data")
    return np.isin(x, d.to_numpy()).astype(np.int64)


def _warn_unmatched(dates: pd.DatetimeIndex, x: np.ndarray, where: str) -> None:
    missing = dates[~dates.isin(pd.DatetimeIndex(x))]
    if len(missing):
        warnings.warn(
            f"rebase date(s) {', '.join(str(m.date()) for m in missing)} not found in {where}; ignored",
            UserWarning, stacklevel=4,
        )


def _groups(f: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rebase_group`` of each row (a running count of rebase dates within its facet, so 0 — or
    1 when the facet's first date is a rebase date) and the row where each (facet, rebase group)
    starts, followed by the number of rows. Rows are sorted by facet then date, so each facet and
    each of its rebase groups is a contiguous block."""
    n = len(f)
    new_facet = np.zeros(n, dtype=bool)
    new_facet[:1] = True
    if n > 1:
        new_facet[1:] = f[1:] != f[:-1]
    counted = np.cumsum(flags)
    facet_start = np.flatnonzero(new_facet)
    before = (counted - flags)[facet_start]  # rebase dates counted before each facet starts
    rebase_group = counted - np.repeat(before, np.diff(np.append(facet_start, n)))
    bounds = np.append(np.flatnonzero(new_facet | (flags == 1)), n)
    return rebase_group.astype(np.int64), bounds


def r_mean(values: np.ndarray | pd.Series) -> float:
    """Arithmetic mean of the non-missing values, computed the way R's ``mean()`` does.

    R (``summary.c``) sums sequentially in long double, divides by n, then adds the long-double
    mean of the residuals as a correction. Mirroring it (numpy's ``longdouble`` is the same x87
    80-bit type as R's on x86-64) keeps the mean, and so ``relative_to_mean`` for points lying on
    the mean, bit-identical to NHSRplotthedots. ``nan`` when there are no values (R's ``NaN``).
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)].astype(np.longdouble)
    n = x.size
    if n == 0:
        return float("nan")
    s = np.cumsum(x)[-1] / n  # cumsum: strictly sequential, like R's loop
    if np.isfinite(s):
        s = s + np.cumsum(x - s)[-1] / n
    return float(s)


def _group_limits(y: np.ndarray, fix_after_n_points: float | None, screen: bool) -> tuple[float, float]:
    """Mean and mean moving range of one (facet, rebase group) (``ptd_spc_standard``).

    Only the first ``fix_after_n_points`` values count (all when ``None``); moving ranges are taken
    between those values only (the first point has none); with ``screen`` moving ranges not
    strictly below 3.267 x mean MR are dropped and the mean re-taken, once.
    """
    if fix_after_n_points is not None:
        y = np.where(np.arange(len(y)) < fix_after_n_points, y, np.nan)
    mr = np.full(len(y), np.nan)
    mr[1:] = np.abs(y[1:] - y[:-1])
    amr = r_mean(mr)
    if screen:
        mr = np.where(mr < SCREEN * amr, mr, np.nan)  # NaN comparisons are False: NaN stays NaN, as in R
        amr = r_mean(mr)
    return r_mean(y), amr


def _limits(y: np.ndarray, bounds: np.ndarray, fix_after_n_points: float | None,
            screen: bool) -> dict[str, np.ndarray]:
    """Mean and limits of every row from its (facet, rebase group) (``ptd_spc_standard``).

    ``bounds``: the first row of each group (groups are contiguous blocks), then the number of
    rows. ``lpl``/``upl`` = mean -/+ 2.66 x mean MR, ``nlpl``/``nupl`` = mean -/+ 2 x (2.66 / 3) x
    mean MR.
    """
    per_group = [_group_limits(y[a:b], fix_after_n_points, screen) for a, b in zip(bounds[:-1], bounds[1:])]
    sizes = np.diff(bounds)
    mean = np.repeat(np.array([m for m, _ in per_group], dtype=np.float64), sizes)
    amr = np.repeat(np.array([a for _, a in per_group], dtype=np.float64), sizes)
    return {
        "mean": mean,
        "lpl": mean - (LIMIT * amr),
        "upl": mean + (LIMIT * amr),
        "nlpl": mean - (LIMIT_CLOSE * amr),
        "nupl": mean + (LIMIT_CLOSE * amr),
    }


def _target_column(f: np.ndarray, target: Any) -> np.ndarray:
    if target is None:
        return np.full(len(f), np.nan)
    if isinstance(target, Mapping):
        return np.array([float(target[k]) if k in target else np.nan for k in f.tolist()], dtype=np.float64)
    return np.full(len(f), float(target))


def mdc(
    data: pd.DataFrame,
    value: str,
    date: str,
    *,
    facet: str | None = None,
    rebase: Any = None,
    fix_after_n_points: float | None = None,
    improvement_direction: str = "increase",
    target: float | Mapping[Any, float] | None = None,
    screen_outliers: bool = True,
) -> pd.DataFrame:
    """Making Data Count XmR chart values for every point (NHSRplotthedots 0.2.2 ``ptd_spc``).

    Parameters
    ----------
    data, value, date, facet
        The data frame and the names of its value, date and (optional) facet columns. Each facet
        is a separate chart; dates must be unique within a facet.
    rebase
        Dates on which a new phase (rebase group) starts: a date or list of dates for every facet,
        or a dict facet -> date(s).
    fix_after_n_points
        Base the mean and limits of each rebase group on its first *n* points (n >= 12).
    improvement_direction
        ``"increase"``, ``"decrease"`` or ``"neutral"``.
    target
        A number for every facet, or a dict facet -> number.
    screen_outliers
        Drop moving ranges >= 3.267 x mean moving range before the final mean moving range
        (NHSRplotthedots default). ``False`` reproduces the MDC Excel tool.

    Returns
    -------
    One row per point, sorted by facet then date, with columns: the facet column (named as in
    ``data``; ``f`` holding ``"no facet"`` when ``facet`` is None), ``x, y, mean, lpl, upl, nlpl,
    nupl, rebase_group, outside_limits, close_to_limits, relative_to_mean, special_cause_flag,
    point_type, target``. The call's options are kept in ``result.attrs["mdc"]`` for
    :func:`mdc_icons`.

    Examples
    --------
    Sixteen months alternating around 2, every moving range 1: the limits are 2 ± 2.66 × 1.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=16, freq="MS"),
    ...                   "value": [1, 2, 3, 2] * 4})
    >>> mdc(d, "value", "month")[["mean", "lpl", "upl"]].iloc[0].round(2).tolist()
    [2.0, -0.66, 4.66]
    """
    _validate(data, value, date, facet, rebase, fix_after_n_points, improvement_direction, target,
              screen_outliers)
    f, x, y = _prepare(data, value, date, facet)
    rebase_group, bounds = _groups(f, _rebase_flags(f, x, rebase))
    lim = _limits(y, bounds, fix_after_n_points, bool(screen_outliers))

    group = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))  # (facet, rebase group) id
    outside = rules.outside_limits(y, lim["lpl"], lim["upl"])
    rtm = rules.relative_to_mean(y, lim["mean"])
    close = rules.close_to_limits(y, lim["nlpl"], lim["nupl"], outside)
    sc_type = rules.special_cause_type(y, rtm, close, outside, group)

    if (np.diff(bounds) < WARNING_THRESHOLD).any():
        warnings.warn(
            "Some groups have 'n < 12' observations. These have trial limits, which will be revised "
            "with each additional observation until 'n = fix_after_n_points' has been reached.",
            UserWarning, stacklevel=2,
        )

    facet_col = "f" if facet is None else facet
    out = pd.DataFrame({
        facet_col: f, "x": x, "y": y,
        **lim,  # mean, lpl, upl, nlpl, nupl
        "rebase_group": rebase_group,
        "outside_limits": outside,
        "close_to_limits": close,
        "relative_to_mean": rtm,
        "special_cause_flag": sc_type != rules.COMMON_CAUSE,
        "point_type": pd.Series(rules.point_type(sc_type, _DIRECTIONS[improvement_direction]), dtype="str"),
        "target": _target_column(f, target),
    })
    out.attrs[_ATTRS_KEY] = {
        "facet_column": facet_col,
        "improvement_direction": improvement_direction,
        "target_set": target is not None,
    }
    return out


# --- icons -------------------------------------------------------------------------------------


def _infer_direction(result: pd.DataFrame) -> str | None:
    pt = set(result["point_type"].astype(str))
    if pt & {"special_cause_neutral_high", "special_cause_neutral_low"}:
        return "neutral"
    return None


def mdc_icons(result: pd.DataFrame, improvement_direction: str | None = None) -> pd.DataFrame:
    """One row per facet: the MDC ``variation`` and ``assurance`` icon names.

    ``variation`` comes from the point type of each facet's last point (``ptd_get_icons`` in
    ``R/geom_ptd_icon.R``): common_cause, improvement_high/low, concern_high/low, neutral_high/low
    (high/low says which side of the mean the special cause lies, given the improvement
    direction). ``assurance`` compares the facet's target with the limits of its last point
    (last rebase group; ``ptd_calculate_assurance_type``): for "increase", ``pass`` when the
    target is below the lower process limit, ``fail`` when above the upper one, else
    ``inconsistent`` (mirrored for "decrease"; comparisons strict). It is ``""`` when the facet has
    no target or the direction is neutral.

    ``improvement_direction`` is read from ``result.attrs["mdc"]`` (set by :func:`mdc`); pass it
    explicitly if the attributes were lost.

    Examples
    --------
    A target of 5 lies above the upper process limit (4.66) of an "increase" measure: it will not
    be met without a change to the process.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=16, freq="MS"),
    ...                   "value": [1, 2, 3, 2] * 4})
    >>> mdc_icons(mdc(d, "value", "month", target=5)).to_dict("records")
    [{'f': 'no facet', 'variation': 'common_cause', 'assurance': 'fail'}]
    """
    facet_col, facets, variation, assurance = _icon_names(result, improvement_direction)
    return pd.DataFrame({
        facet_col: facets,
        "variation": pd.Series(variation, dtype="str"),
        "assurance": pd.Series(assurance, dtype="str"),
    })


def _icon_names(result: pd.DataFrame, improvement_direction: str | None = None
                ) -> tuple[str, np.ndarray, list[str], np.ndarray]:
    """:func:`mdc_icons` before it becomes a table: the facet column name, and per facet (in
    facet order) the facet value, the variation icon and the assurance icon."""
    if not isinstance(result, pd.DataFrame):
        raise argument_error("result", "result must be the DataFrame returned by mdc()")
    meta = result.attrs.get(_ATTRS_KEY, {})
    facet_col = meta.get("facet_column", result.columns[0] if len(result.columns) else "f")
    missing = [c for c in (facet_col, "x", "point_type", "lpl", "upl", "target") if c not in result.columns]
    if missing:
        raise argument_error("result", f"result lacks columns {missing}; pass the DataFrame returned by mdc()")
    direction = improvement_direction or meta.get("improvement_direction") or _infer_direction(result)
    if direction is None:
        if (result["point_type"].isin(["special_cause_improvement", "special_cause_concern"]).any()
                or result["target"].notna().any()):
            raise argument_error("improvement_direction",
                        "cannot tell the improvement direction: pass improvement_direction=")
        direction = "increase"
    if direction not in _DIRECTIONS:
        raise argument_error("improvement_direction",
                    f"improvement_direction must be 'increase', 'neutral' or 'decrease', not {direction!r}")

    last = _last_points(result, facet_col)
    variation = [VARIATION_OF_POINT_TYPE[str(p)].get(direction, "") for p in result["point_type"].to_numpy()[last]]

    t, lpl, upl = (result[c].to_numpy(dtype=np.float64)[last] for c in ("target", "lpl", "upl"))
    with np.errstate(invalid="ignore"):
        above, below = t > upl, t < lpl
    if direction == "neutral":
        assurance = np.full(len(last), "", dtype=object)
    else:
        high, low = ("fail", "pass") if direction == "increase" else ("pass", "fail")
        assurance = np.select([above, below], [high, low], default="inconsistent").astype(object)
        assurance[np.isnan(t)] = ""
    return facet_col, result[facet_col].to_numpy()[last], variation, assurance


def _last_points(result: pd.DataFrame, facet_col: str) -> np.ndarray:
    """Row positions of each facet's last point (latest ``x``), in facet order.

    Rows of mdc() are sorted by facet, date, but a result may have been reordered, so this sorts
    anyway (stable: of equal dates the later row counts).
    """
    f = result[facet_col].to_numpy()
    x = result["x"].to_numpy()
    if len(x) and x.dtype.kind == "M" and not np.isnat(x).any() and _all_equal(f):
        return np.array([len(x) - 1 - int(np.argmax(x[::-1]))])  # one facet: the latest date
    rows = result[[facet_col, "x"]].set_axis(pd.RangeIndex(len(result)))
    last = rows.sort_values([facet_col, "x"], kind="mergesort").groupby(facet_col, sort=True, dropna=False).tail(1)
    return last.index.to_numpy()


def _all_equal(values: np.ndarray) -> bool:
    """True when every value equals the first (missing values never do)."""
    try:
        return bool(np.all(values == values[0]))
    except (TypeError, ValueError):
        return False
