"""The ``effects`` table: one row per category (two with slope changes), with honest gaps.

Separable categories get their estimate, t (or z) interval, ratio, p-value, Holm-adjusted p-value
(Holm 1979, over all estimated rows) and the absolute change in the last month; categories the data
cannot separate (see :mod:`.identifiability`) or whose ratio is not estimable (perfect separation)
get NaN numbers and the reason in words in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import identifiability
from .counterfactual import change_in_last_month, model_arrays
from .inference import holm, t_interval
from .sentences import sentence

EFFECT_COLUMNS = ["category", "estimate", "std_error", "estimate_low", "estimate_high", "ratio", "ratio_low",
                  "ratio_high", "p_value", "p_adjusted", "abs_change", "abs_low", "abs_high", "separable", "note",
                  "sentence"]
NUMBERS = ["estimate", "std_error", "estimate_low", "estimate_high", "ratio", "ratio_low", "ratio_high", "p_value",
           "abs_change", "abs_low", "abs_high"]
MAX_ABS_ESTIMATE = 15.0  # |log ratio| beyond this is separation, not an effect (ratio > 3 million)
MAX_SE = 5.0  # a log-ratio standard error this large means the term is not estimable in practice


@dataclass
class FittedTerms:
    """What the effects table needs from a fitted model."""

    data: pd.DataFrame
    X: pd.DataFrame
    params: pd.Series
    cov: pd.DataFrame
    df: float  # reference df for intervals (inf = normal)
    q: float  # two-sided critical value
    level: float
    family: str
    rate_per: float
    separation_warned: bool

    @cached_property
    def arrays(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Coefficient names, design columns in that order, coefficients and covariance as arrays."""
        return model_arrays(self.X, self.params, self.cov)

    def estimate(self, name: str) -> tuple[float, float]:
        """Coefficient ``name`` and its standard error."""
        names, _, b, V = self.arrays
        i = names.index(name)
        return float(b[i]), float(np.sqrt(V[i, i]))

    def absolute_change(self, columns: list[str]) -> tuple[float, float, float]:
        """:func:`qieval.attribution.counterfactual.absolute_change` of ``columns`` for this fit."""
        period = self.data["period"].to_numpy()
        return change_in_last_month(*self.arrays, period == period.max(), self.data["n"].to_numpy(float), columns,
                                    self.family, self.q, self.rate_per)


def empty_effects() -> pd.DataFrame:
    """An effects table with no rows and the documented columns."""
    return pd.DataFrame({c: pd.Series(dtype="object" if c in ("category", "note", "sentence") else
                                      ("bool" if c == "separable" else "float")) for c in EFFECT_COLUMNS})


def separated(est: float, se: float, warned: bool) -> bool:
    """A coefficient that has run off to infinity (perfect / quasi-complete separation)."""
    return (not np.isfinite(se) or not np.isfinite(est) or abs(est) > MAX_ABS_ESTIMATE or se > MAX_SE
            or (warned and abs(est) > 8))


def joint_text(cols: list[str], f: FittedTerms) -> str:
    """"their combined change is odds ratio 0.80 (95% CI 0.70 to 0.91)" for a joint term."""
    est, se = f.estimate(cols[0])
    lo, hi, _ = t_interval(est, se, f.df, f.level)
    pct = int(round(100 * f.level))
    if f.family == "gaussian":
        return f"their combined change is {est:.3f} ({pct}% CI {lo:.3f} to {hi:.3f})"
    kind = "odds ratio" if f.family == "binomial" else "rate ratio"
    return f"their combined change is {kind} {np.exp(est):.2f} ({pct}% CI {np.exp(lo):.2f} to {np.exp(hi):.2f})"


def _estimated_rows(cat: str, names: list[str], terms: list[str], f: FittedTerms) -> list[dict]:
    abs_c = f.absolute_change(terms)
    rows = []
    for i, name in enumerate(names):
        est, se = f.estimate(name)
        lo, hi, p = t_interval(est, se, f.df, f.level)
        row = {"category": name, "estimate": est, "std_error": se, "estimate_low": lo, "estimate_high": hi,
               "p_value": p, "separable": True, "note": ""}
        if f.family != "gaussian":
            row.update(ratio=np.exp(est), ratio_low=np.exp(lo), ratio_high=np.exp(hi))
        if i == 0:
            row.update(abs_change=abs_c[0], abs_low=abs_c[1], abs_high=abs_c[2])
        else:
            row["note"] = "abs_change for this category (level and slope together) is on its level row."
        rows.append(row)
    return rows


def _reason(cat: str, verdict: identifiability.Verdict, joint: dict[str, list[str]], f: FittedTerms) -> str:
    reason = verdict.reasons.get(cat, f"{cat} could not be estimated.")
    group = next((g for g in verdict.groups if cat in g), None)
    if group is None:
        return reason
    jname = " + ".join(group)
    base = reason.removesuffix(identifiability.GROUP_TAIL)
    if jname in joint:
        return base + "; " + joint_text(joint[jname], f) + ", but the data cannot separate them."
    return base + "; the data cannot separate them, and even their combined change is not identified."


def effects_table(cats: list[str], keep: list[str], terms: dict[str, list[str]], verdict: identifiability.Verdict,
                  joint: dict[str, list[str]], not_estimable: dict[str, str], f: FittedTerms,
                  slope_change: bool) -> tuple[pd.DataFrame, list[str]]:
    """Build the effects table (columns :data:`EFFECT_COLUMNS`) and any warnings it raises."""
    rows: list[dict] = []
    warns: list[str] = []
    for cat in cats:
        names = [cat, f"{cat}:slope"] if slope_change else [cat]
        if cat in keep:
            cat_rows = _estimated_rows(cat, names, terms[cat], f)
            if f.family != "gaussian" and any(separated(r["estimate"], r["std_error"], f.separation_warned)
                                              for r in cat_rows):
                warns.append(f"The ratio for {cat} is not estimable (perfect separation); it is reported "
                             "as missing rather than as a huge number.")
                for row in cat_rows:
                    row.update({k: np.nan for k in NUMBERS})
                    row["separable"] = False
                    row["note"] = (f"The ratio for {cat} is not estimable: the fitted rate is at 0 or 100% on one "
                                   "side of the change (perfect separation), so any number would be misleading.")
            rows.extend(cat_rows)
        else:
            reason = not_estimable.get(cat) or _reason(cat, verdict, joint, f)
            rows.extend({"category": name, "separable": False, "note": reason} for name in names)
    unit = f"per {f.rate_per:g} units of denominator" if f.rate_per != 1 else "per unit of denominator"
    if not rows:
        eff = empty_effects()
        eff["p_adjusted"] = []
        eff["level"] = f.level
        eff["sentence"] = []
        return eff[EFFECT_COLUMNS], warns
    # complete every row (missing numbers are NaN), then build the table once
    rows = [{c: r.get(c, np.nan) for c in EFFECT_COLUMNS} for r in rows]
    for r, p in zip(rows, holm(np.array([r["p_value"] for r in rows], dtype=float))):
        r["separable"] = bool(r["separable"])
        r["p_adjusted"] = p
        r["sentence"] = sentence({**r, "level": f.level}, f.family, unit)
    return pd.DataFrame({c: [r[c] for r in rows] for c in EFFECT_COLUMNS}), warns
