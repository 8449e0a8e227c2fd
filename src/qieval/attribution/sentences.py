"""Plain-language sentences for each effect row ("associated with", never "caused")."""

from __future__ import annotations

import math

import pandas as pd


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def sentence(row: pd.Series, family: str, rate_unit: str) -> str:
    """One sentence for one row of ``Attribution.effects`` (a Series, or a dict with the same keys and ``level``)."""
    cat = str(row["category"])
    if not row["separable"] or not math.isfinite(row["estimate"]):
        return str(row["note"])
    is_slope = cat.endswith(":slope")
    name = cat[: -len(":slope")] if is_slope else cat
    level = row.get("level", 0.95)
    pct = int(round(100 * level))
    if family == "gaussian":
        what = (f"a change in trend of {_fmt(row['estimate'], 3)} per month" if is_slope
                else f"a change in level of {_fmt(row['estimate'], 3)}")
        ci = f"({pct}% CI {_fmt(row['estimate_low'], 3)} to {_fmt(row['estimate_high'], 3)})"
        crosses = row["estimate_low"] <= 0 <= row["estimate_high"]
    else:
        kind = "odds ratio" if family == "binomial" else "rate ratio"
        article = "an" if kind[0] in "aeiou" else "a"
        what = f"{article} {kind} of {_fmt(row['ratio'])}" + (" per month (change in trend)" if is_slope else "")
        ci = f"({pct}% CI {_fmt(row['ratio_low'])} to {_fmt(row['ratio_high'])})"
        crosses = row["ratio_low"] <= 1 <= row["ratio_high"]
    text = f"{name} is associated with {what} {ci}, against the trend before it started"
    if not is_slope and math.isfinite(row.get("abs_change", float("nan"))):
        unit = {"binomial": "percentage points", "poisson": rate_unit, "gaussian": ""}[family]
        text += (f"; in the last month the difference from what was expected without it is "
                 f"{row['abs_change']:+.2f} {unit} ({pct}% CI {row['abs_low']:+.2f} to {row['abs_high']:+.2f})"
                 ).replace("  ", " ").replace(" )", ")")
    text += "."
    if crosses:
        text += " The interval includes no change."
    text += " Other changes at the same time could also explain it."
    return text
