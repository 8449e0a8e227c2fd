"""``plot()``: draw any :func:`~qieval.spc.qic` or :func:`~qieval.spc.mdc` result, for an
analyst's own notebook (as ``plot(qic(...))`` in qicharts2).

Plotting never recomputes: the figure is drawn from the result's columns (and the chart type
kept in ``result.attrs``). The drawing lives in :mod:`qieval.figures`, imported only when
``plot`` is called, so importing :mod:`qieval.spc` stays free of matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..errors import argument_error

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

_QIC = {"x", "y", "cl", "lcl", "ucl", "sigma_signal", "runs_signal"}
_MDC = {"x", "y", "mean", "lpl", "upl", "nlpl", "nupl", "point_type", "rebase_group"}


def plot(result: pd.DataFrame, *, mr: pd.DataFrame | None = None, title: str = "", ylabel: str = "",
         improvement_direction: str | None = None, legend: bool = True) -> "Figure":
    """Draw a qic() or mdc() result; returns a matplotlib Figure (shown by Jupyter as is).

    Parameters
    ----------
    result
        The DataFrame returned by :func:`~qieval.spc.qic` (any chart, facets as panels) or
        :func:`~qieval.spc.mdc` (facets as panels).
    mr
        For an I chart, the :func:`~qieval.spc.qic` ``chart="mr"`` result of the same data, drawn
        underneath (a result from :mod:`qieval.spc.measure_chart` carries its moving ranges).
    title, ylabel
        Text of the chart.
    improvement_direction
        ``"increase"``, ``"decrease"`` or ``"neutral"``: colours special causes of a qic() result
        as improvement or concern (default neutral: purple). An mdc() result already knows it.
    legend
        Draw the legend (right of the chart).
    """
    if not isinstance(result, pd.DataFrame):
        raise argument_error("result", f"result must be the DataFrame returned by qic() or mdc(), not {type(result).__name__}")
    from .. import figures  # lazily: spc stays free of matplotlib imports until a plot is drawn

    columns = set(result.columns)
    if "mdc" in result.attrs or _MDC <= columns:
        facet = result.attrs.get("mdc", {}).get("facet_column")
        return figures.mdc_figure(result, facet_column=facet, title=title, ylabel=ylabel, legend=legend)
    if not _QIC <= columns:
        missing = sorted(_QIC - columns)
        raise argument_error("result", f"result lacks the columns {', '.join(missing)} of a qic() result (or those of an mdc() result)")
    direction = improvement_direction or "neutral"
    if direction not in ("increase", "decrease", "neutral"):
        raise argument_error("improvement_direction",
                             f"expected 'increase', 'decrease' or 'neutral', not {improvement_direction!r}")
    meta = result.attrs.get("qic", {})
    chart = meta.get("chart") or ("run" if result["ucl"].isna().all() else "i")
    facets = meta.get("facets") or [c for c in result.columns[: list(result.columns).index("x")]]
    if mr is not None and not {"x", "y", "cl", "ucl"} <= set(mr.columns):
        raise argument_error("mr", "mr must be the qic(chart='mr') result of the same data")
    if "x" in result.columns and result["x"].dtype == object and not facets:
        try:  # dates given as text: draw on a time axis
            result = result.assign(x=pd.to_datetime(result["x"]))
        except (ValueError, TypeError):
            pass
    if mr is not None and len(mr) != len(result):
        raise argument_error("mr", f"mr has {len(mr)} rows, result {len(result)}")
    return figures.qic_figure(result, chart=chart, improvement_direction=direction, facets=list(facets),
                              mr=mr, title=title, ylabel=ylabel, legend=legend)


__all__ = ["plot"]
