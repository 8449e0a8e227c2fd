"""Attribution section of the site and network reports: fit once per measure, then show the
forest plot, observed vs counterfactual, one plain sentence per category and the diagnostics.

The model choice follows the measure's unit: percent → binomial (odds ratios), rate → Poisson
with log(denominator) offset (rate ratios), count → Poisson per period, continuous → gaussian.
"""

from __future__ import annotations

import warnings
from html import escape

import numpy as np
import pandas as pd

from ..attribution import Attribution, fit
from ..config import Measure
from ..disclosure import DisclosurePolicy
from ..errors import InputError
from . import figures
from .html import fmt_num, heading, para, table

FAMILY = {"percent": "binomial", "rate": "poisson", "count": "poisson", "continuous": "gaussian"}


def fit_measure(values: pd.DataFrame, cycles: pd.DataFrame, measure: Measure) -> Attribution | str:
    """Fit the attribution model for one measure (rows of one or several sites); a string says why not."""
    v = values.loc[values["measure_id"] == measure.id].copy()
    if measure.unit == "count":
        v["denominator"] = 1.0
    v = v.dropna(subset=["value"] if measure.unit == "continuous" else ["numerator", "denominator"])
    v = _to_months(v)
    interventions = cycles[["site_id", "start", "category"]]
    if v.empty or interventions.empty:
        return "no data or no PDSA cycles to attribute"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit(v[["site_id", "period", "numerator", "denominator", "value"]], interventions,
                       family=FAMILY[measure.unit],
                       rate_per=measure.per if measure.unit == "rate" else 1.0)
    except InputError as err:
        return "; ".join(p.message for p in err.problems)


def _to_months(v: pd.DataFrame) -> pd.DataFrame:
    """Weekly rows → monthly (``fit`` floors periods to months): numerators and denominators
    summed, continuous values averaged. Monthly rows are returned unchanged."""
    if v.empty:
        return v
    month = v["period"].dt.to_period("M").dt.to_timestamp()
    if month.eq(v["period"]).all():  # already monthly
        return v
    g = v.assign(period=month).groupby(["site_id", "period"], as_index=False)
    out = g.agg(numerator=("numerator", "sum"), denominator=("denominator", "sum"), value=("value", "mean"))
    return out.assign(measure_id=v["measure_id"].iloc[0])


def _unit(measure: Measure) -> str:
    """Label for absolute changes (the model reports percentage points for percent measures)."""
    return "percentage points" if measure.unit == "percent" else measure.label


def section(result: Attribution | str, measure: Measure, cycles: pd.DataFrame, where: str,
            anchor: str, policy: DisclosurePolicy | None = None) -> str:
    """HTML for one measure's attribution (heading level 3). With an enabled ``policy`` the
    observed points resting on small counts are not drawn (the model and intervals are shown)."""
    out = [heading(measure.title, 3, anchor)]
    if isinstance(result, str):
        return "".join(out) + para(f"Not analysed: {result}.")
    unit = _unit(measure)
    eff = result.effects.loc[~result.effects["category"].str.endswith(":slope")]
    d = measure.decimals
    sentences = dict.fromkeys(s for s in result.sentences if isinstance(s, str) and s)
    out.append("<ul>" + "".join(f"<li>{escape(s)}</li>" for s in sentences) + "</ul>")
    for w in dict.fromkeys(result.warnings):
        w = w.replace("in `sensitivity`", "under Model and diagnostics").replace(
            "compare with `sensitivity`", "compare with the robust intervals under Model and diagnostics")
        out.append(f'<p class="warning">{escape(w)}</p>')
    est = eff.loc[eff["separable"].astype(bool)]
    alt = (f"Forest plot of the change in {measure.title.lower()} associated with each PDSA category at "
           f"{where}, in {unit} with 95% confidence intervals. "
           + "; ".join(f"{r.category}: {fmt_num(r.abs_change, d)} ({fmt_num(r.abs_low, d)} to {fmt_num(r.abs_high, d)})"
                       for r in est.itertuples()) +
           ("; " if len(est) else "") +
           "; ".join(f"{r.category}: cannot be separated" for r in eff.loc[~eff['separable'].astype(bool)].itertuples()))
    if len(est):  # with nothing estimable the sentences above say why; an empty plot adds nothing
        out.append(figures.figure_html(figures.forest_plot(eff, unit=unit, title="Change associated with each category",
                                                           alt=alt)))
    cf = result.counterfactual
    if len(cf) and not np.allclose(cf["counterfactual"], cf["fitted"], equal_nan=True):
        pooled = cf.loc[cf["site_id"] == "ALL"] if (cf["site_id"] == "ALL").any() else cf
        pooled = pooled.sort_values("period")
        if policy is not None and policy.enabled and measure.unit != "continuous":
            counts = pooled["observed"] * pooled["denominator"]
            small = counts.map(policy.is_small) | pooled["denominator"].map(policy.is_small)
            pooled = pooled.assign(observed=pooled["observed"].where(~small.astype(bool)))
        mult = measure.multiplier if measure.unit == "percent" else 1.0
        last = pooled.iloc[-1]
        alt_cf = (f"Observed {measure.title.lower()} at {where} with the model's fit and the counterfactual "
                  f"(the model with every estimated change removed). In {last['period']:%b %Y}: observed "
                  f"{fmt_num(last['observed'] * mult, d)}, counterfactual {fmt_num(last['counterfactual'] * mult, d)} "
                  f"({fmt_num(last['counterfactual_low'] * mult, d)} to {fmt_num(last['counterfactual_high'] * mult, d)}) {measure.label}.")
        out.append(figures.figure_html(figures.counterfactual_chart(
            pooled, scale=mult, ylabel=measure.label, title="Observed vs counterfactual (no changes)",
            alt=alt_cf, cycles=cycles)))
    out.append(_diagnostics(result, d))
    return "".join(out)


def intro() -> str:
    """What the attribution section does and does not claim."""
    return para(
        "Segmented regression estimates the change in each measure associated with each category of "
        "PDSA cycle (a step from the month of its first cycle), against the trend before it. "
        "Associations are not proof of cause: other things changed at the same time. Where two "
        "categories started together the data cannot separate them, and the report says so instead "
        "of giving a misleading number.")


def _diagnostics(result: Attribution, decimals: int) -> str:
    diag = result.diagnostics
    rows = [[r.check, r.site_id if isinstance(r.site_id, str) else "", r.category if isinstance(r.category, str) else "",
             fmt_num(r.value, 3), r.note if isinstance(r.note, str) else ""] for r in diag.itertuples(index=False)]
    eff = result.effects
    effect_rows = [[r.category, fmt_num(r.estimate, 4), fmt_num(r.std_error, 4), fmt_num(r.ratio, 3),
                    f"{fmt_num(r.ratio_low, 3)} to {fmt_num(r.ratio_high, 3)}", fmt_num(r.p_value, 4),
                    fmt_num(r.p_adjusted, 4), "yes" if r.separable else "no"] for r in eff.itertuples(index=False)]
    sens = result.sensitivity
    sens_rows = [[r.category, r.method, f"{fmt_num(r.ratio_low, 3)} to {fmt_num(r.ratio_high, 3)}", fmt_num(r.p_value, 4)]
                 for r in sens.itertuples(index=False)]
    ratio = {"binomial": "odds ratio", "poisson": "rate ratio"}.get(result.family, "ratio")
    return ("<details><summary>Model and diagnostics</summary>"
            + para(f"{result.family} GLM, time adjustment: {result.time_effects}; dispersion "
                   f"{fmt_num(result.dispersion, 3)} (Pearson χ²/df), {result.n_obs} site-months, "
                   f"{fmt_num(result.df_resid, 0)} residual df; t-based 95% intervals; Holm-adjusted p-values.")
            + table(["Category", "Estimate", "SE", ratio.capitalize(), "95% CI", "p", "p (Holm)", "Separable"],
                    effect_rows, "Model coefficients (log scale) and ratios")
            + (table(["Category", "Method", "95% CI of the ratio", "p"], sens_rows,
                     "Sensitivity: robust standard errors") if sens_rows else "")
            + table(["Check", "Site", "Category", "Value", "Note"], rows,
                    "Durbin–Watson, Ljung–Box, points before/after each change, variance inflation")
            + "</details>")
