"""``qic()``: run and Shewhart control charts in the model of qicharts2 0.8.1, as a tidy table.

This module does the argument handling, the aggregation of rows sharing an x, the facet cells,
chart parts, freeze (baseline) and exclusions, and assembles the result. The chart arithmetic
lives in :mod:`qieval.spc.limits` and the Anhoej runs analysis in :mod:`qieval.spc.anhoej`.
Everything is computed for all facet cells and parts at once (no Python loop per point or per
series). The behaviour follows qicharts2's ``qic()`` and ``qic.agg()`` (``R/qic.R``,
``R/helper.functions.R``), including its conventions for missing values:

* rows with a missing x (or facet) are dropped; with a denominator, a row missing y or n has
  both set missing (``complete.cases``);
* rows sharing x within a facet cell are one subgroup: with ``n``, y = sum(y) / sum(n);
  without, y = ``agg`` of the non-missing y (``sum`` of none is 0, ``mean`` of none missing);
  the subgroup mean and SD (``xbar``/``s``) and the count sum (``c``) are kept as well;
* ``part`` numbers points within a facet cell; each part is analysed on its own;
* ``freeze`` k: points 1..k of the facet cell are the baseline, from which centre line and
  limits are estimated; the runs analysis covers the whole part. ``freeze`` is ignored when
  ``part`` is given (as in qicharts2);
* ``exclude``: points left out of the estimation *and* the runs analysis, but still returned
  with lines and tested against the 3-sigma limits;
* ``multiply`` scales y, the centre line and all limits after the analysis; ``target`` is
  returned as given (qicharts2 draws it as given, i.e. on the multiplied scale);
* limits that are not finite are reported missing; ``sigma_signal`` = y outside the 3-sigma
  limits; there is no runs signal for a categorical x (funnel) or an MR chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import argument_error
from .anhoej import runs_analysis
from .limits import CHARTS, NEEDS_N, ChartInput
from .qic_segments import seg_nanmedian

AGG_FUNCTIONS = ("mean", "median", "sum", "sd")

#: Columns of the result after the facet columns, in order.
RESULT_COLUMNS = (
    "x", "y", "n", "cl", "lcl", "ucl", "lcl_95", "ucl_95", "target", "part", "baseline",
    "include", "n_obs", "n_useful", "longest_run", "longest_run_max", "n_crossings",
    "n_crossings_min", "runs_signal", "sigma_signal",
)



@dataclass(frozen=True)
class QicOptions:
    """:func:`qic`'s keyword arguments (see its docstring), given once to :func:`qic_columns`.

    The defaults are :func:`qic`'s (a test keeps the two in step)."""

    chart: str = "run"
    facets: str | Sequence[str] | None = None
    freeze: int | None = None
    part: int | Sequence[int] | str | None = None
    exclude: int | Sequence[int] | None = None
    multiply: float = 1
    cl: float | str | Sequence[float] | None = None
    target: float | str | Sequence[float] | None = None
    y_neg: bool = True
    screen_mr: bool = True
    agg: str = "mean"


# ---------------------------------------------------------------------------------------------
# Argument handling
# ---------------------------------------------------------------------------------------------

def _column(data: pd.DataFrame, name: Any, arg: str) -> pd.Series:
    if not isinstance(name, str) or name not in data.columns:
        raise argument_error(arg, f"column {name!r} not found in data (columns: {', '.join(map(str, data.columns))})")
    return data[name]


def _numeric(s: pd.Series, arg: str) -> np.ndarray:
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiu":  # numeric already: just as float
        return s.to_numpy(dtype=float, copy=True)
    if isinstance(s.dtype, pd.CategoricalDtype):
        raise argument_error(arg, f"column {s.name!r} must be numeric, not categorical")
    try:
        out = pd.to_numeric(s, errors="raise")
    except (TypeError, ValueError) as exc:
        raise argument_error(arg, f"column {s.name!r} must be numeric ({exc})") from None
    return pd.Series(out).to_numpy(dtype=float, na_value=np.nan)


def _per_row(value: Any, data: pd.DataFrame, arg: str) -> np.ndarray:
    """A scalar, a column name or a sequence aligned with the rows -> float array (NaN = none)."""
    nrow = len(data)
    if value is None:
        return np.full(nrow, np.nan)
    if isinstance(value, str):
        return _numeric(_column(data, value, arg), arg)
    if np.isscalar(value):
        try:
            return np.full(nrow, float(value))
        except (TypeError, ValueError):
            raise argument_error(arg, f"{arg} must be a number, got {value!r}") from None
    arr = np.asarray(value, dtype=float)
    if arr.shape != (nrow,):
        raise argument_error(arg, f"{arg} must be a number or have one value per row of data ({nrow})")
    return arr


def _positions(value: Any, arg: str) -> np.ndarray:
    """``freeze`` / ``part`` / ``exclude`` positions (counted from 1) as a float array."""
    vals = [value] if np.isscalar(value) else list(value)
    out = []
    for v in vals:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise argument_error(arg, f"{arg} must be point positions counted from 1 (integers), got {v!r}")
        if not np.isfinite(v):
            raise argument_error(arg, f"{arg} must be finite, got {v!r}")
        out.append(float(v))
    return np.asarray(out, dtype=float)


def _facet_names(facets: Any) -> list[str]:
    if facets is None:
        return []
    names = [facets] if isinstance(facets, str) else list(facets)
    if not 1 <= len(names) <= 2 or not all(isinstance(f, str) for f in names):
        raise argument_error("facets", "facets must be one column name or a list of two column names")
    return names


def _x_kind(s: pd.Series) -> tuple[pd.Series, bool]:
    """Return x (object dates converted) and whether it is categorical (qicharts2 ``dots.only``:
    a factor or anything not numeric - strings, Categorical, booleans)."""
    if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s):
        return s, True
    if (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)
            or pd.api.types.is_timedelta64_dtype(s)):
        return s, False
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("date", "datetime", "datetime64"):
        return pd.to_datetime(s), False
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(s), False
    return s, True


def _codes(s: pd.Series) -> np.ndarray:
    """Sort codes (R factor-level order): categories order for a Categorical, else sorted values."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return np.asarray(s.cat.codes, dtype=np.int64)
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiuM":
        v = s.to_numpy()
        if len(v) < 2 or bool((v[1:] > v[:-1]).all()):  # strictly increasing (no NaN/NaT): codes 0..n-1
            return np.arange(len(v), dtype=np.int64)
    try:
        codes, _ = pd.factorize(s, sort=True)
    except TypeError:  # mixed types: sort on their text
        codes, _ = pd.factorize(s.astype(str).where(s.notna()), sort=True)
    return np.asarray(codes, dtype=np.int64)


def _part_breaks(part: Any, data: pd.DataFrame, x: str) -> np.ndarray:
    """Break points (0-based position after which a new part starts), qicharts2 style.

    Positions: ``as.integer(part)``. A label column: the label of each x at its first row in the
    data; a new part starts at the first occurrence of each label after the first.
    """
    if part is None:
        return np.zeros(0)
    if isinstance(part, str):
        labels = _column(data, part, "part")
        first = ~data[x].duplicated(keep="first").to_numpy()
        lab = pd.Series(labels.to_numpy()[first])
        firstpos = lab.drop_duplicates(keep="first").index.to_numpy()
        return firstpos[1:].astype(float)
    return np.trunc(_positions(part, "part"))


# ---------------------------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------------------------

def _aggregate(y: np.ndarray, n: np.ndarray, got_n: bool, keys_new: np.ndarray, agg: str
               ) -> dict[str, np.ndarray]:
    """Collapse sorted rows into subgroups (``keys_new`` marks each subgroup's first row).

    Returns per subgroup: y_sum (``sum(y, na.rm = length(y) > 1)``), y_len, y_mean, y_sd, n and
    the plotted y, as in qicharts2 ``qic.agg``.
    """
    ynan = np.isnan(y)
    if keys_new.all():  # every subgroup is one row
        y0 = np.where(ynan, 0.0, y)
        n_sum = np.where(np.isnan(n), 0.0, n) if got_n else np.full(len(y), np.nan)
        out = {
            "y_sum": y.copy(),
            "y_len": (~ynan).astype(float),
            "y_mean": y.copy(),
            "y_sd": np.full(len(y), np.nan),
            "n": n_sum,
        }
        if got_n:
            with np.errstate(invalid="ignore", divide="ignore"):
                out["y"] = y0 / n_sum
        else:
            out["y"] = {"mean": y, "median": y, "sum": y0, "sd": out["y_sd"]}[agg].copy()
        return out

    gid = np.cumsum(keys_new) - 1
    ng = int(gid[-1]) + 1 if len(gid) else 0
    starts = np.flatnonzero(keys_new)
    size = np.diff(np.append(starts, len(y)))
    ok = ~ynan
    y_len = np.bincount(gid[ok], minlength=ng).astype(float)
    y_sum_narm = np.bincount(gid[ok], weights=y[ok], minlength=ng)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_mean = np.where(y_len > 0, y_sum_narm / np.maximum(y_len, 1), np.nan)
        resid = y[ok] - y_mean[gid[ok]]
        ss = np.bincount(gid[ok], weights=resid * resid, minlength=ng)
        y_sd = np.where(y_len > 1, np.sqrt(ss / np.maximum(y_len - 1, 1)), np.nan)
    y_sum = np.where(size == 1, y[starts], y_sum_narm)
    if got_n:
        nok = ~np.isnan(n)
        n_sum = np.bincount(gid[nok], weights=n[nok], minlength=ng)
        with np.errstate(invalid="ignore", divide="ignore"):
            yv = y_sum_narm / n_sum
    else:
        n_sum = np.full(ng, np.nan)
        if agg == "median":
            yv = seg_nanmedian(y, gid, ng)
        else:
            yv = {"mean": y_mean, "sum": y_sum_narm, "sd": y_sd}[agg]
    return {"y_sum": y_sum, "y_len": y_len, "y_mean": y_mean, "y_sd": y_sd, "n": n_sum, "y": yv}


# ---------------------------------------------------------------------------------------------
# Public function
# ---------------------------------------------------------------------------------------------

def qic(
    data: pd.DataFrame,
    x: str,
    y: str,
    n: str | None = None,
    *,
    chart: str = "run",
    facets: str | Sequence[str] | None = None,
    freeze: int | None = None,
    part: int | Sequence[int] | str | None = None,
    exclude: int | Sequence[int] | None = None,
    multiply: float = 1,
    cl: float | str | Sequence[float] | None = None,
    target: float | str | Sequence[float] | None = None,
    y_neg: bool = True,
    screen_mr: bool = True,
    agg: str = "mean",
) -> pd.DataFrame:
    """Run chart or Shewhart control chart with Anhoej runs analysis, one row per point.

    Parameters follow qicharts2 0.8.1 ``qic()``: ``x``, ``y``, ``n`` are column names of
    ``data``; ``chart`` one of run, i, mr, ip, xbar, s, t, p, pp, c, u, up, g; ``facets`` one
    column name or a list of two (each cell analysed on its own); ``freeze`` the number of
    baseline points; ``part`` the positions (from 1) where each phase ends, or the name of a
    column of phase labels; ``exclude`` positions (from 1) left out of the estimation and the
    runs analysis; ``multiply`` scales y, centre line and limits; ``cl`` a fixed centre line;
    ``target`` carried through; ``y_neg=False`` truncates negative lower limits at 0 when no y is
    negative; ``screen_mr`` is qicharts2's ``qic.screenedmr`` option (default on); ``agg`` the
    function aggregating y over rows sharing x when there is no ``n``.

    Returns a DataFrame ordered by facet then x, with the facet columns under their own names
    followed by :data:`RESULT_COLUMNS`. Part-level figures (n_obs ... runs_signal) repeat on every
    point of the part; ``result.attrs["qic"]`` keeps the chart type and facet names (for
    :func:`qieval.spc.plot`). Raises :class:`~qieval.errors.InputError` for unusable arguments.

    Examples
    --------
    A u chart of infections per 1,000 bed-days: the centre line is the pooled rate, 18 / 600 × 1,000,
    and the upper limit 30 + 3 × √(0.03 / 100) × 1,000; a run chart's centre line is the median.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"month": range(1, 7), "infections": [2, 4, 3, 5, 1, 3], "days": [100] * 6})
    >>> u = qic(d, "month", "infections", n="days", chart="u", multiply=1000)
    >>> float(u["cl"].iloc[0]), round(float(u["ucl"].iloc[0]), 2)
    (30.0, 81.96)
    >>> float(qic(d, "month", "infections")["cl"].iloc[0])
    3.0
    """
    out = pd.DataFrame(qic_columns(data, x, y, n, QicOptions(
        chart=chart, facets=facets, freeze=freeze, part=part, exclude=exclude, multiply=multiply,
        cl=cl, target=target, y_neg=y_neg, screen_mr=screen_mr, agg=agg)))
    out.attrs["qic"] = {"chart": chart, "facets": _facet_names(facets), "y": y}  # read by spc.plot
    return out


def qic_columns(data: pd.DataFrame, x: str, y: str, n: str | None = None,
                options: QicOptions = QicOptions()) -> dict[str, Any]:
    """The columns of :func:`qic`'s result, in order, before they become a DataFrame (callers
    adding columns of their own build the frame once). ``options``: :func:`qic`'s keyword
    arguments."""
    chart, facets, freeze, part, exclude = (options.chart, options.facets, options.freeze,
                                            options.part, options.exclude)
    multiply, cl, target, y_neg, screen_mr, agg = (options.multiply, options.cl, options.target,
                                                   options.y_neg, options.screen_mr, options.agg)
    # --- arguments ---------------------------------------------------------------------------
    if not isinstance(data, pd.DataFrame):
        raise argument_error("data", "data must be a pandas DataFrame")
    if not isinstance(chart, str) or chart not in CHARTS:
        raise argument_error("chart", f"unknown chart {chart!r}; use one of {', '.join(CHARTS)}")
    if agg not in AGG_FUNCTIONS:
        raise argument_error("agg", f"unknown agg {agg!r}; use one of {', '.join(AGG_FUNCTIONS)}")
    if chart in NEEDS_N and n is None:
        raise argument_error("n", f"a {chart} chart needs a denominator column n")
    if isinstance(multiply, (bool, np.bool_)) or not isinstance(multiply, (int, float, np.integer, np.floating)):
        raise argument_error("multiply", f"multiply must be a number, got {multiply!r}")
    facet_names = _facet_names(facets)
    clash = [f for f in facet_names if f in RESULT_COLUMNS]
    if clash:
        raise argument_error("facets", f"facet column name {clash[0]!r} clashes with a result column; rename it")
    xs, categorical = _x_kind(_column(data, x, "x"))
    ys = _numeric(_column(data, y, "y"), "y")
    got_n = n is not None
    ns = _numeric(_column(data, n, "n"), "n") if got_n else np.full(len(data), np.nan)
    fs = [_column(data, f, "facets") for f in facet_names]
    cl_user = _per_row(cl, data, "cl")
    target_v = _per_row(target, data, "target")
    breaks = _part_breaks(part, data, x)
    if part is not None or freeze is None:
        freeze_at = np.inf
    else:
        fz = _positions(freeze, "freeze")
        if len(fz) != 1:
            raise argument_error("freeze", "freeze must be one position")
        freeze_at = float(fz[0])
    excl = np.zeros(0) if exclude is None else _positions(exclude, "exclude")

    # --- rows: drop missing x / facets, complete cases, sort by facet then x -----------------
    keep = xs.notna().to_numpy().copy()
    for f in fs:
        keep &= f.notna().to_numpy()
    if got_n:
        bad = np.isnan(ys) | np.isnan(ns)
        ys = np.where(bad, np.nan, ys)
        ns = np.where(bad, np.nan, ns)
    idx = np.flatnonzero(keep)
    xk = xs if len(idx) == len(xs) else xs.iloc[idx]
    keycodes = [_codes(f.iloc[idx]) for f in fs] + [_codes(xk)]
    order = np.lexsort(tuple(reversed(keycodes))) if len(idx) else np.zeros(0, dtype=np.int64)
    rows = idx[order]
    sorted_codes = [c[order] for c in keycodes]

    def changes(codes: list[np.ndarray]) -> np.ndarray:
        new = np.zeros(len(rows), dtype=bool)
        if len(rows):
            new[0] = True
            for c in codes:
                new[1:] |= c[1:] != c[:-1]
        return new

    new_group = changes(sorted_codes)
    new_facet = changes(sorted_codes[:-1])
    agg_vals = _aggregate(ys[rows], ns[rows], got_n, new_group, agg)
    first = rows[new_group]  # data row of each subgroup's first row
    new_facet = new_facet[new_group]
    npts = len(first)

    if chart == "t" and np.nanmin(np.append(agg_vals["y"], np.inf)) <= 0:
        raise argument_error("y", "time between events (t chart) must be greater than zero")

    # --- positions, parts, baseline, exclusions, segments ------------------------------------
    fid = np.cumsum(new_facet) - 1
    fstart = np.flatnonzero(new_facet)
    xx = np.arange(npts) - (fstart[fid] if npts else 0) + 1
    brk = np.unique(np.append(breaks[breaks >= 0], 0.0))
    part_no = np.searchsorted(brk, xx - 1, side="right").astype(np.int64)
    baseline = xx <= freeze_at
    include = ~np.isin(xx, excl)
    new_seg = new_facet.copy()
    if npts:
        new_seg[1:] |= part_no[1:] != part_no[:-1]
    seg = np.cumsum(new_seg) - 1
    nseg = int(seg[-1]) + 1 if npts else 0

    # --- chart lines and runs analysis --------------------------------------------------------
    inp = ChartInput(
        y=agg_vals["y"], y_sum=agg_vals["y_sum"], y_len=agg_vals["y_len"],
        y_mean=agg_vals["y_mean"], y_sd=agg_vals["y_sd"], n=agg_vals["n"],
        cl_user=cl_user[first], base=baseline & include, seg=seg, nseg=nseg,
        categorical=categorical, screen_mr=bool(screen_mr),
    )
    lines = CHARTS[chart](inp)
    runs = runs_analysis(lines.y, lines.cl, include, seg, nseg)

    # --- scale, tidy limits, signals -----------------------------------------------------------
    m = float(multiply)
    yv = lines.y * m
    clv = lines.cl * m

    def limit(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float) * m
        return np.where(np.isfinite(v), v, np.nan)

    lcl, ucl, lcl95, ucl95 = limit(lines.lcl), limit(lines.ucl), limit(lines.lcl_95), limit(lines.ucl_95)
    with np.errstate(invalid="ignore"):
        sigma_signal = (yv > ucl) | (yv < lcl)
    runs_signal = runs.runs_signal[seg] if npts else np.zeros(0, dtype=bool)
    if categorical or chart == "mr":
        runs_signal = np.zeros(npts, dtype=bool)
    finite_y = yv[~np.isnan(yv)]
    if not y_neg and (len(finite_y) == 0 or finite_y.min() >= 0):
        lcl = np.where(lcl < 0, 0.0, lcl)
        lcl95 = np.where(lcl95 < 0, 0.0, lcl95)

    # --- assemble -------------------------------------------------------------------------------
    out: dict[str, Any] = {}
    for name, f in zip(facet_names, fs):
        out[name] = f.iloc[first].reset_index(drop=True)
    out["x"] = xs.iloc[first].reset_index(drop=True)
    out.update({
        "y": yv, "n": lines.n, "cl": clv, "lcl": lcl, "ucl": ucl, "lcl_95": lcl95,
        "ucl_95": ucl95, "target": target_v[first], "part": part_no, "baseline": baseline,
        "include": include,
        "n_obs": runs.n_obs[seg].astype(np.int64),
        "n_useful": runs.n_useful[seg].astype(np.int64),
        "longest_run": runs.longest_run[seg], "longest_run_max": runs.longest_run_max[seg],
        "n_crossings": runs.n_crossings[seg], "n_crossings_min": runs.n_crossings_min[seg],
        "runs_signal": np.asarray(runs_signal, dtype=bool),
        "sigma_signal": np.asarray(sigma_signal, dtype=bool),
    })
    return out


__all__ = ["qic", "RESULT_COLUMNS", "AGG_FUNCTIONS"]
