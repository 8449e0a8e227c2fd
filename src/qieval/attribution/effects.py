"""The ``effects`` table: per category a headline row (the average change over the site-months after
each site's start) and extra rows ``<category>:<something>`` (level and slope, or months since the
start), with honest gaps.

Separable categories get their estimate, interval, ratio, p-value, Holm-adjusted p-value (Holm 1979,
over the headline rows), the absolute change in the last month and the minimum detectable effect;
categories the data cannot separate (see :mod:`.identifiability`) or whose ratio is not estimable
(perfect separation) get NaN numbers and the reason in words in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import identifiability
from .counterfactual import change_in_last_month, model_arrays
from .inference import holm, minimum_detectable, t_interval
from .sentences import sentence
from .site_effects import SiteEffects

EFFECT_COLUMNS = ["category", "estimate", "std_error", "estimate_low", "estimate_high", "ratio", "ratio_low",
                  "ratio_high", "p_value", "p_adjusted", "abs_change", "abs_low", "abs_high", "mde", "mde_ratio",
                  "separable", "method", "horizon", "n_sites", "comparison_sites", "note", "sentence"]
NUMBERS = ["estimate", "std_error", "estimate_low", "estimate_high", "ratio", "ratio_low", "ratio_high", "p_value",
           "abs_change", "abs_low", "abs_high", "mde", "mde_ratio"]
TEXT = ("category", "method", "note", "sentence")
MAX_ABS_ESTIMATE = 15.0  # |log ratio| beyond this is separation, not an effect (ratio > 3 million)
MAX_SE = 5.0  # a log-ratio standard error this large means the term is not estimable in practice


@dataclass
class FittedTerms:
    """What the effects table needs from a fitted model."""

    data: pd.DataFrame
    X: pd.DataFrame
    params: pd.Series
    cov: pd.DataFrame  # the primary covariance
    df: float  # reference df for intervals (inf = normal)
    q: float  # two-sided critical value
    level: float
    family: str
    rate_per: float
    separation_warned: bool
    method: str = ""  # how the headline was estimated (words, for the ``method`` column)
    since: dict | None = None  # category -> months since its start per row (-1 off)
    headline: dict | None = None  # category -> {column: weight}
    se_floor: pd.DataFrame | None = None  # a second covariance: no interval narrower than this one
    rate_unit: str = ""  # Poisson: the unit of a change in words (default: per units of denominator)
    sites: SiteEffects | None = None  # absorbed site effects (None: they are columns of X)

    @cached_property
    def arrays(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Coefficient names, design columns in that order, coefficients and covariance as arrays."""
        return model_arrays(self.X, self.params, self.cov)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.arrays[0])}

    def combination(self, weights: dict[str, float]) -> tuple[float, float]:
        """Estimate and standard error of ``sum_j weights[j] * coefficient j``."""
        names, _, b, V = self.arrays
        ix = [self._index[n] for n in weights]
        w = np.array(list(weights.values()), float)
        est = float(w @ b[ix])
        se = float(np.sqrt(max(w @ V[np.ix_(ix, ix)] @ w, 0.0)))
        if self.se_floor is not None:
            F = self._floor[np.ix_(ix, ix)]
            se = max(se, float(np.sqrt(max(w @ F @ w, 0.0))))
        return est, se

    @cached_property
    def _floor(self) -> np.ndarray:
        """``se_floor`` as an array in the order of :attr:`arrays` (converted once)."""
        names = self.arrays[0]
        same = list(self.se_floor.index) == names and list(self.se_floor.columns) == names
        return (self.se_floor if same else self.se_floor.loc[names, names]).to_numpy(float)

    def estimate(self, name: str) -> tuple[float, float]:
        """Coefficient ``name`` and its standard error."""
        return self.combination({name: 1.0})

    def absolute_change(self, columns: list[str]) -> tuple[float, float, float]:
        """:func:`qieval.attribution.counterfactual.absolute_change` of ``columns`` for this fit."""
        period = self.data["period"].to_numpy()
        return change_in_last_month(*self.arrays, period == period.max(), self.data["n"].to_numpy(float), columns,
                                    self.family, self.q, self.rate_per, self.sites)


def empty_effects() -> pd.DataFrame:
    """An effects table with no rows and the documented columns."""
    return pd.DataFrame({c: pd.Series(dtype="object" if c in TEXT else
                                      ("bool" if c == "separable" else "float")) for c in EFFECT_COLUMNS})


def separated(est: float, se: float, warned: bool) -> bool:
    """A coefficient that has run off to infinity (perfect / quasi-complete separation)."""
    return (not np.isfinite(se) or not np.isfinite(est) or abs(est) > MAX_ABS_ESTIMATE or se > MAX_SE
            or (warned and abs(est) > 8))


def joint_text(weights: dict[str, float], f: FittedTerms) -> str:
    """"their combined change is odds ratio 0.80 (95% CI 0.70 to 0.91)" for a joint term."""
    est, se = f.combination(weights)
    lo, hi, _ = t_interval(est, se, f.df, f.level)
    pct = int(round(100 * f.level))
    if f.family == "gaussian":
        return f"their combined change is {est:.3f} ({pct}% CI {lo:.3f} to {hi:.3f})"
    kind = "odds ratio" if f.family == "binomial" else "rate ratio"
    return f"their combined change is {kind} {np.exp(est):.2f} ({pct}% CI {np.exp(lo):.2f} to {np.exp(hi):.2f})"


def _row(name: str, est: float, se: float, f: FittedTerms, **extra) -> dict:
    lo, hi, p = t_interval(est, se, f.df, f.level)
    row = {"category": name, "estimate": est, "std_error": se, "estimate_low": lo, "estimate_high": hi,
           "p_value": p, "separable": True, "note": "", "method": f.method, **extra}
    if f.family != "gaussian":
        row.update(ratio=np.exp(est), ratio_low=np.exp(lo), ratio_high=np.exp(hi))
    return row


def _comparison_sites(since: np.ndarray, period: np.ndarray, site: np.ndarray, h: int) -> tuple[int, int]:
    """Sites observed ``h`` months after the start, and sites without the category (not yet started
    or never) in any month where some site is ``h`` months after its start."""
    at_h = since == h
    months = np.unique(period[at_h])
    off = (since < 0) & np.isin(period, months)
    return len(np.unique(site[at_h])), len(np.unique(site[off]))


def _estimated_rows(cat: str, terms: list[str], f: FittedTerms) -> list[dict]:
    abs_c = f.absolute_change(terms)
    weights = (f.headline or {}).get(cat, {terms[0]: 1.0})
    est, se = f.combination(weights)
    site = f.data["site_id"].to_numpy()
    since = (f.since or {}).get(cat)
    n_sites = float(len(np.unique(site[since >= 0]))) if since is not None else np.nan
    head = _row(cat, est, se, f, abs_change=abs_c[0], abs_low=abs_c[1], abs_high=abs_c[2], n_sites=n_sites)
    head["mde"] = minimum_detectable(se, f.df, f.level)
    head["mde_ratio"] = np.exp(head["mde"]) if f.family != "gaussian" else np.nan
    rows = [head]
    if len(terms) > 1 and terms[1].endswith(":slope"):  # ramp: level and slope rows
        for name, label in ((terms[0], f"{cat}:level"), (terms[1], f"{cat}:slope")):
            e, s = f.estimate(name)
            rows.append(_row(label, e, s, f))
        rows[-1]["note"] = "change in trend per month after the start (ratio per month)."
        rows[-2]["note"] = "change in level in the month of the start."
    elif terms and ":month_" in terms[0]:  # event time
        period = f.data["period"].to_numpy()
        for name in terms:
            h = int(name.rsplit(":month_", 1)[1])
            e, s = f.estimate(name)
            n_h, comp = _comparison_sites(since, period, site, h) if since is not None else (np.nan, np.nan)
            row = _row(f"{cat}:month_{h}", e, s, f, horizon=float(h), n_sites=float(n_h), comparison_sites=float(comp))
            if comp == 0:
                row["note"] = (f"no site was without {cat} when a site was {h} months after its start: this month "
                               "is estimated only through the other months since the start (it assumes the effect "
                               "at each month since the start is the same at every site).")
            rows.append(row)
    return rows


def _reason(cat: str, verdict: identifiability.Verdict, joint: dict[str, list[str]], f: FittedTerms,
            joint_weights: dict[str, dict[str, float]]) -> str:
    reason = verdict.reasons.get(cat, f"{cat} could not be estimated.")
    group = next((g for g in verdict.groups if cat in g), None)
    if group is None:
        return reason
    jname = " + ".join(group)
    base = reason.removesuffix(identifiability.GROUP_TAIL)
    if jname in joint:
        return base + "; " + joint_text(joint_weights[jname], f) + ", but the data cannot separate them."
    return base + "; the data cannot separate them, and even their combined change is not identified."


def effects_table(cats: list[str], keep: list[str], terms: dict[str, list[str]], verdict: identifiability.Verdict,
                  joint: dict[str, list[str]], not_estimable: dict[str, str], f: FittedTerms,
                  slope_change: bool, joint_weights: dict[str, dict[str, float]] | None = None
                  ) -> tuple[pd.DataFrame, list[str]]:
    """Build the effects table (columns :data:`EFFECT_COLUMNS`) and any warnings it raises."""
    rows: list[dict] = []
    warns: list[str] = []
    for cat in cats:
        if cat in keep:
            cat_rows = _estimated_rows(cat, terms[cat], f)
            if f.family != "gaussian" and any(separated(r["estimate"], r["std_error"], f.separation_warned)
                                              for r in cat_rows[:1] + [r for r in cat_rows[1:] if ":month_" not in
                                                                       r["category"]]):
                warns.append(f"The ratio for {cat} is not estimable (perfect separation); it is reported "
                             "as missing rather than as a huge number.")
                cat_rows = cat_rows[:1]
                for row in cat_rows:
                    row.update({k: np.nan for k in NUMBERS})
                    row["separable"] = False
                    row["note"] = (f"The ratio for {cat} is not estimable: the fitted rate is at 0 or 100% on one "
                                   "side of the change (perfect separation), so any number would be misleading.")
            rows.extend(cat_rows)
        else:
            reason = not_estimable.get(cat) or _reason(cat, verdict, joint, f, joint_weights or {})
            rows.append({"category": cat, "separable": False, "note": reason, "method": f.method})
    unit = f.rate_unit or (f"per {f.rate_per:g} units of denominator" if f.rate_per != 1
                           else "per unit of denominator")
    if not rows:
        return empty_effects(), warns
    # complete every row (missing numbers are NaN), then build the table once
    rows = [{c: r.get(c, np.nan) for c in EFFECT_COLUMNS} for r in rows]
    headline = np.array([r["category"] in cats for r in rows])
    p = np.array([r["p_value"] for r in rows], dtype=float)
    adjusted = np.full(len(rows), np.nan)
    adjusted[headline] = holm(p[headline])
    for r, pa in zip(rows, adjusted):
        r["separable"] = bool(r["separable"])
        r["p_adjusted"] = pa
        r["sentence"] = sentence({**r, "level": f.level}, f.family, unit)
    return pd.DataFrame({c: [r[c] for r in rows] for c in EFFECT_COLUMNS}), warns
