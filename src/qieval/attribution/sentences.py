"""Plain-language sentences for each effect row.

"associated with" only when the interval excludes no change; otherwise "compatible with no change
and with changes from a to b", with the smallest change the analysis could reliably detect. Never
"caused": other changes at the same time could also explain an association.
"""

from __future__ import annotations

import math

import pandas as pd

#: ``method`` values (the effects table's column), and what each adds to a sentence.
CALENDAR = "calendar-adjusted"
ITS_TREND = "interrupted time series against a linear trend"
SINGLE_SITE = "interrupted time series at one site"
METHOD_WORDS = {
    CALENDAR: "comparing sites that had started with sites that had not (yet), month by month",
    ITS_TREND: ("an interrupted-time-series estimate against a linear trend, which assumes the trend before "
                "the start would have continued"),
    SINGLE_SITE: "against this site's own trend before the start (interrupted time series)",
}


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def _method_words(method: str) -> str:
    for key, words in METHOD_WORDS.items():
        if str(method).startswith(key):
            return words
    return ""


def sentence(row: pd.Series, family: str, rate_unit: str) -> str:
    """One sentence for one row of ``Attribution.effects`` (a Series, or a dict with the same keys and ``level``)."""
    cat = str(row["category"])
    if not row["separable"] or not math.isfinite(row["estimate"]):
        return str(row["note"])
    name, _, part = cat.partition(":")
    if part and not (part == "slope" or part == "level" or part.startswith("month_")):
        name, part = cat, ""
    level = row.get("level", 0.95)
    pct = int(round(100 * level))
    gaussian = family == "gaussian"
    kind = "difference" if gaussian else ("odds ratio" if family == "binomial" else "rate ratio")
    digits = 3 if gaussian else 2
    est, lo, hi = ((row["estimate"], row["estimate_low"], row["estimate_high"]) if gaussian
                   else (row["ratio"], row["ratio_low"], row["ratio_high"]))
    null = 0.0 if gaussian else 1.0
    crosses = lo <= null <= hi
    if part == "slope":
        what = f"a change in trend of {kind} {_fmt(est, digits)} per month"
        when = "after it started"
    elif part == "level":
        what = f"a change in level of {kind} {_fmt(est, digits)}"
        when = "in the month it started"
    elif part.startswith("month_"):
        h = int(part.split("_", 1)[1])
        what = f"{kind} {_fmt(est, digits)}"
        when = f"{h} month{'s' if h != 1 else ''} after it started"
    else:
        what = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} of {_fmt(est, digits)}"
        when = "on average over the months after it started"
    how = _method_words(row.get("method", ""))
    how = f", {how}" if how else ""
    ci = f"{pct}% CI {_fmt(lo, digits)} to {_fmt(hi, digits)}"
    if not crosses:
        text = f"{name} was associated with {what} ({ci}) {when}{how}"
    else:
        text = (f"{name}: the data are compatible with no change and with changes from {kind} {_fmt(lo, digits)} "
                f"to {_fmt(hi, digits)} ({pct}% CI; estimate {_fmt(est, digits)}) {when}{how}")
    if not part and math.isfinite(row.get("abs_change", float("nan"))) and not crosses:
        unit = {"binomial": "percentage points", "poisson": rate_unit, "gaussian": ""}[family]
        text += (f"; in the last month the difference from what was expected without it is "
                 f"{row['abs_change']:+.2f} {unit} ({pct}% CI {row['abs_low']:+.2f} to {row['abs_high']:+.2f})"
                 ).replace("  ", " ").replace(" )", ")")
    text += "."
    mde = row.get("mde", float("nan"))
    if not part and crosses and isinstance(mde, float) and math.isfinite(mde):
        if gaussian:
            text += (f" The smallest change this analysis could reliably detect (80% power) is a difference of "
                     f"about {_fmt(mde, digits)} either way.")
        else:
            text += (f" The smallest change this analysis could reliably detect (80% power) is {'an' if kind[0] in 'aeiou' else 'a'} "
                     f"{kind} of about {_fmt(math.exp(-mde))} or {_fmt(math.exp(mde))}.")
    if not crosses:
        text += " Other changes at the same time could also explain it."
    return text
