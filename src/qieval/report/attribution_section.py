"""Attribution section of the site and network reports: fit once per measure, then show the
forest plot, observed vs counterfactual, one plain sentence per category and the diagnostics.

The model choice follows the measure's unit: percent → binomial (odds ratios), rate → Poisson
with log(denominator) offset (rate ratios), count → Poisson per period, continuous → gaussian.
"""

from __future__ import annotations

import warnings
import weakref
from html import escape

import numpy as np
import pandas as pd

from ..attribution import Attribution, fit
from ..config import AttributionSettings, Measure
from ..disclosure import DisclosurePolicy, small_mask
from ..errors import InputError
from .. import figures
from .html import heading, para, table
from ..format import fmt_num
from .plain_summary import measure_value

FAMILY = {"percent": "binomial", "rate": "poisson", "count": "poisson", "continuous": "gaussian"}


def settings_for(config, measure: Measure) -> AttributionSettings:
    """The params' ``attribution:`` settings for ``measure`` (the project's, with the measure's own keys)."""
    base = getattr(config, "attribution", None) or AttributionSettings()
    return base.merged(measure.attribution)


def fit_measure(values: pd.DataFrame, cycles: pd.DataFrame, measure: Measure,
                settings: AttributionSettings | None = None) -> Attribution | str:
    """Fit the attribution model for one measure (rows of one or several sites); a string says why not.
    ``settings``: the params' ``attribution:`` block for this measure (:func:`settings_for`)."""
    s = settings or measure.attribution or AttributionSettings()
    v = values.loc[values["measure_id"].to_numpy() == measure.id]
    if measure.unit == "count":
        v = v.assign(denominator=1.0)
    v = _dropna(v, ["value"] if measure.unit == "continuous" else ["numerator", "denominator"])
    v = _to_months(v)
    interventions = _select(cycles, ["site_id", "start", "category"])
    if v.empty or interventions.empty:
        return "no data or no PDSA cycles to attribute"
    constant = _constant(v, "value" if measure.unit == "continuous" else None)
    if constant:
        return constant
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit(_select(v, ["site_id", "period", "numerator", "denominator", "value"]), interventions,
                       family=FAMILY[measure.unit],
                       rate_per=measure.per if measure.unit == "rate" else 1.0,
                       rate_unit=_rate_unit(measure, values), impact=s.impact, time_effects=s.time_effects,
                       interval=_interval(s, v), harmonics=s.harmonics, min_points=s.min_points)
    except InputError as err:
        return "; ".join(p.message for p in err.problems)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:  # degenerate data
        return f"the model could not be fitted to these data ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"


def _interval(s: AttributionSettings, v: pd.DataFrame) -> str:
    """The params' interval; "auto" for one site's series (a site report) is the wider of the
    quasi-likelihood and the Newey–West interval, as one practice's months are autocorrelated."""
    if s.interval == "auto" and v["site_id"].nunique() == 1:
        return "model+hac"
    return s.interval


def _constant(v: pd.DataFrame, column: str | None) -> str:
    """Why a series cannot be modelled because it never varies ("" when it does): a continuous
    measure with the same value in every period (the gaussian GLM's first guess is then NaN)."""
    if column is not None:
        x = pd.to_numeric(v[column], errors="coerce").dropna().to_numpy()
        if len(x) and np.all(x == x[0]):
            return (f"the measure has the same value ({x[0]:g}) in every period, so there is no variation "
                    "for a model to attribute")
    return ""


def _select(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame[columns]``, taking the columns by position (pandas' lookup of the labels costs
    several times the copy on these small frames)."""
    names = list(frame.columns)
    if len(set(names)) < len(names) or not set(columns) <= set(names):
        return frame[columns]
    return frame.take([names.index(c) for c in columns], axis=1)


def _dropna(v: pd.DataFrame, subset: list[str]) -> pd.DataFrame:
    """``v.dropna(subset=subset)`` (the same rows and index) without pandas' per-call overhead."""
    keep = np.ones(len(v), dtype=bool)
    for c in subset:
        keep &= ~pd.isna(v[c].to_numpy())
    return v.copy(deep=False) if keep.all() else v.loc[keep]


def _rows(frame: pd.DataFrame, *columns: str):
    """The values of ``columns`` row by row, as ``itertuples`` gives them (without its per-call
    cost of a new tuple class and a read of every column). An empty table has no rows."""
    return zip(*(frame[c].tolist() for c in columns)) if len(frame) else iter(())


def _rate_unit(measure: Measure, values: pd.DataFrame) -> str | None:
    """The unit of a change in a count or rate, in words: a count has no denominator, so its
    changes are per period ("per month", or "per week" for weekly data summed into months)."""
    if measure.unit == "count":
        period = values["period"] if "period" in values else pd.Series(dtype="datetime64[ns]")
        weekly = bool(len(period)) and not period.dt.is_month_start.all()
        return "per week" if weekly else "per month"
    return None


def _to_months(v: pd.DataFrame) -> pd.DataFrame:
    """Weekly rows → monthly (``fit`` floors periods to months): numerators and denominators
    summed, continuous values averaged. Monthly rows are returned unchanged."""
    if v.empty:
        return v
    period = v["period"].to_numpy()
    if period.dtype.kind == "M" and (period.astype("datetime64[M]") == period).all():  # already monthly
        return v
    month = v["period"].dt.to_period("M").dt.to_timestamp()
    if month.eq(v["period"]).all():
        return v
    g = v.assign(period=month).groupby(["site_id", "period"], as_index=False)
    out = g.agg(numerator=("numerator", "sum"), denominator=("denominator", "sum"), value=("value", "mean"))
    return out.assign(measure_id=v["measure_id"].iloc[0])


_DETAIL = (":slope", ":level")


def _is_detail(category) -> bool:
    """A ``<category>:level``, ``:slope`` or ``:month_<h>`` row (not a headline)."""
    c = str(category)
    return c.endswith(_DETAIL) or (":month_" in c and c.rsplit(":month_", 1)[1].isdigit())


def _without_slopes(effects: pd.DataFrame) -> pd.DataFrame:
    """The headline rows (one per category): not ``:level``, ``:slope`` or ``:month_<h>`` rows."""
    return effects.loc[np.array([not _is_detail(c) for c in effects["category"].to_numpy()], dtype=bool)]


_POOLED: dict[int, dict] = {}


def pooled_fit(data, measure: Measure, shared_dir=None) -> Attribution | str:
    """The all-sites fit of ``measure`` for a project's data (``ProjectData``), computed once per
    data object and measure (a site report shows it where its own series cannot separate a category).
    With ``shared_dir`` (the project's report folder) it is computed once per *project*: the first
    report to need it fits and stores it, the others (every site report's kernel, then the network
    report and the abstract) read it (:mod:`qieval.report.shared_results`); at hundreds of sites the
    pooled fit costs far more than a site report, so fitting it per kernel or per site would not scale."""
    key = id(data)
    if key not in _POOLED:
        _POOLED[key] = {}
        weakref.finalize(data, _POOLED.pop, key, None)
    cache = _POOLED[key]
    if measure.id not in cache:
        if shared_dir is not None:
            from . import shared_results  # (it imports this module)

            cache[measure.id] = shared_results.fit_measure(data.measure_values, data.pdsa_cycles, measure, shared_dir,
                                                           settings_for(data.config, measure), wait=True)
        else:
            cache[measure.id] = fit_measure(data.measure_values, data.pdsa_cycles, measure,
                                            settings_for(data.config, measure))
    return cache[measure.id]


def _by_period(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.sort_values("period")``; a shallow copy, as pandas returns, when already in order."""
    period = frame["period"].to_numpy()
    if period.dtype.kind == "M" and (np.diff(period) > np.timedelta64(0)).all():
        return frame.copy(deep=False)
    return frame.sort_values("period")


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
    eff = _without_slopes(result.effects)
    d = measure.decimals
    sentences = dict.fromkeys(s for s in eff["sentence"] if isinstance(s, str) and s)
    out.append("<ul>" + "".join(f"<li>{escape(s)}</li>" for s in sentences) + "</ul>")
    for w in dict.fromkeys(result.warnings):
        w = w.replace("in `sensitivity`", "under Model and diagnostics").replace(
            "compare with `sensitivity`", "compare with the robust intervals under Model and diagnostics")
        out.append(f'<p class="warning">{escape(w)}</p>')
    separable = eff["separable"].to_numpy().astype(bool)
    rows = list(_rows(eff, "category", "abs_change", "abs_low", "abs_high"))
    est = [r for r, ok in zip(rows, separable) if ok]
    alt = (f"Forest plot of the change in {measure.title.lower()} associated with each PDSA category at "
           f"{where}, in {unit} with 95% confidence intervals. "
           + "; ".join(f"{category}: {fmt_num(change, d)} ({fmt_num(low, d)} to {fmt_num(high, d)})"
                       for category, change, low, high in est) +
           ("; " if len(est) else "") +
           "; ".join(f"{r[0]}: cannot be separated" for r, ok in zip(rows, separable) if not ok))
    if len(est):  # with nothing estimable the sentences above say why; an empty plot adds nothing
        out.append(figures.figure_html(figures.forest_plot(eff, unit=unit, title="Change associated with each category",
                                                           alt=alt)))
    out += _event_time_charts(result, eff, measure, where)
    cf = result.counterfactual
    if len(cf) and not np.allclose(cf["counterfactual"], cf["fitted"], equal_nan=True):
        pooled_rows = cf["site_id"].to_numpy() == "ALL"
        pooled = _by_period(cf.loc[pooled_rows] if pooled_rows.any() else cf)
        if policy is not None and policy.enabled and measure.unit != "continuous":
            counts = pooled["observed"] * pooled["denominator"]
            small = small_mask(policy, counts) | small_mask(policy, pooled["denominator"])
            pooled = pooled.assign(observed=pooled["observed"].where(~small))
        mult = measure.multiplier if measure.unit == "percent" else 1.0
        last = pooled.iloc[-1]
        alt_cf = (f"Observed {measure.title.lower()} at {where} with the model's fit and the counterfactual "
                  f"(the model with every estimated change removed). In {last['period']:%b %Y}: observed "
                  f"{measure_value(measure, last['observed'] * mult)}, counterfactual "
                  f"{measure_value(measure, last['counterfactual'] * mult)} (interval "
                  f"{measure_value(measure, last['counterfactual_low'] * mult)} to "
                  f"{measure_value(measure, last['counterfactual_high'] * mult)}).")
        out.append(figures.figure_html(figures.counterfactual_chart(
            pooled, scale=mult, ylabel=measure.label, title="Observed vs counterfactual (no changes)",
            alt=alt_cf, cycles=cycles)))
    out.append(_diagnostics(result, d))
    return "".join(out)


def _event_time_charts(result: Attribution, eff: pd.DataFrame, measure: Measure, where: str) -> list[str]:
    """One chart per estimated category: its effect by month since the start, saying which months
    had sites without it to compare with."""
    out = []
    ratio = result.family != "gaussian"
    kind = {"binomial": "odds ratio", "poisson": "rate ratio"}.get(result.family, f"difference ({measure.label})")
    for category, separable in _rows(eff, "category", "separable"):
        months = result.effects.loc[result.effects["category"].astype(str).str.startswith(f"{category}:month_")]
        if not separable or months.empty:
            continue
        compared = months.loc[months["comparison_sites"] > 0, "horizon"]
        last = int(compared.max()) if len(compared) else -1
        words = (f"months 0 to {last} since the start were compared with sites that had not started yet; later "
                 "months rest on the assumption that the effect at each month since the start is the same at every "
                 "site" if last >= 0 else "no month had a site without it to compare with")
        alt = (f"Effect of {category} on {measure.title.lower()} at {where} by month since its start ({kind}, 95% "
               f"confidence intervals), with the average over the months after the start as a line: {words}.")
        out.append(figures.figure_html(figures.event_time_chart(
            result.effects, str(category), ratio=ratio, ylabel=kind, alt=alt,
            title=f"{category}: change by month since the start")))
        out.append(para(f"{category[:1].upper()}{category[1:]}: {words}.", "notes"))
    return out


def site_section(result: Attribution | str, pooled: Attribution | str, measure: Measure, cycles: pd.DataFrame,
                 where: str, anchor: str, policy: DisclosurePolicy | None = None, min_points: int = 8) -> str:
    """One site's attribution: one practice's series cannot separate several categories, so a category
    gets a claim from the site's own series only when that series identifies it with at least
    ``min_points`` months before and after its start; otherwise the network's pooled estimate is shown
    (labelled as such) and the site's series is described by its control chart above."""
    out = [heading(measure.title, 3, anchor)]
    site_cats = sorted(set(cycles["category"]))
    if isinstance(result, str) and isinstance(pooled, str):
        return "".join(out) + para(f"Not analysed: {result}.")
    own = {}
    if not isinstance(result, str):
        diag = result.diagnostics
        points = {(c, k): v for k, c, v in _rows(diag, "check", "category", "value")}
        for category, separable in _rows(_without_slopes(result.effects), "category", "separable"):
            enough = min(points.get((category, "points_before"), 0), points.get((category, "points_after"), 0))
            if separable and enough >= min_points:
                own[category] = True
    items = []
    pooled_eff = None if isinstance(pooled, str) else _without_slopes(pooled.effects).set_index("category")
    for category in site_cats:
        if category in own:
            row = result.effects.set_index("category").loc[category]
            items.append(f"At this site (its own series against its trend before): {row['sentence']}")
        elif pooled_eff is not None and category in pooled_eff.index:
            items.append(f"This site's series alone cannot separate {category} (fewer than {min_points} months "
                         f"on one side of its start, or other changes at the same time), so no claim is made for "
                         f"this site. All sites pooled: {pooled_eff.loc[category, 'sentence']}")
        else:
            items.append(f"{category}: not analysed here.")
    out.append("<ul>" + "".join(f"<li>{escape(s)}</li>" for s in items) + "</ul>")
    if not own:
        out.append(para("The site's series is shown descriptively in its control chart above.", "notes"))
    elif not isinstance(result, str):
        out.append(_diagnostics(result, measure.decimals))
    return "".join(out)


def intro() -> str:
    """What the attribution section does and does not claim."""
    return para(
        "Regression estimates the change in each measure associated with each category of PDSA cycle, "
        "on average over the months after each site's first cycle of it, letting the change build up "
        "month by month. With several sites it compares sites that had started with sites that had "
        "not (yet), month by month, so changes over time shared by all sites are not mistaken for "
        "effects. Associations are not proof of cause: other things changed at the same time. A "
        "category that started in the same month everywhere, or together with another, cannot be "
        "separated, and the report says so instead of giving a misleading number.")


PER_SITE_SHOWN = 12  # per-site diagnostics rows shown one by one; beyond it one summary row per check


def _diagnostic_rows(diag: pd.DataFrame) -> list[list[str]]:
    """The diagnostics table's rows as text. With many sites the per-site checks (Ljung–Box, sites
    left out) become one summary row each: 6,500 rows of p-values are not read, a count is (every
    site's value stays in the fit's ``diagnostics`` table)."""
    str_or_blank = lambda x: x if isinstance(x, str) else ""  # noqa: E731
    rows = list(_rows(diag, "check", "site_id", "category", "value", "note"))
    per_site = {c: [r for r in rows if r[0] == c] for c in ("ljung_box_p", "left_out")}
    out, summarised = [], set()
    for check, site_id, category, value, note in rows:
        many = per_site.get(check) or []
        if len(many) <= PER_SITE_SHOWN:
            out.append([check, str_or_blank(site_id), str_or_blank(category), fmt_num(value, 3), str_or_blank(note)])
            continue
        if check in summarised:
            continue
        summarised.add(check)
        where = "the pooled fit's diagnostics table (qieval.attribution.fit) has one row per site"
        if check == "ljung_box_p":
            p = np.array([r[3] for r in many], float)
            ok = ~np.isnan(p)
            low = int(np.nanargmin(p)) if ok.any() else None
            text = (f"p < 0.05 at {int(np.sum(p[ok] < 0.05)):,} of {int(ok.sum()):,} sites"
                    + (f"; smallest at {many[low][1]}" if low is not None else "") + f"; {where}")
            out.append([check, f"{len(many):,} sites", "", fmt_num(p[low] if low is not None else np.nan, 3), text])
        else:
            out.append([check, f"{len(many):,} sites", "", "", f"left out of the model, e.g. {str_or_blank(many[0][4])}; "
                        + where])
    return out


def _diagnostics(result: Attribution, decimals: int) -> str:
    diag = result.diagnostics
    rows = _diagnostic_rows(diag)
    effect_rows = [[category, fmt_num(estimate, 4), fmt_num(se, 4), fmt_num(ratio, 3),
                    f"{fmt_num(low, 3)} to {fmt_num(high, 3)}", fmt_num(p, 4), fmt_num(p_adjusted, 4),
                    "yes" if separable else "no"]
                   for category, estimate, se, ratio, low, high, p, p_adjusted, separable in _rows(
                       result.effects, "category", "estimate", "std_error", "ratio", "ratio_low", "ratio_high",
                       "p_value", "p_adjusted", "separable")]
    sens_rows = [[category, method, f"{fmt_num(low, 3)} to {fmt_num(high, 3)}", fmt_num(p, 4)]
                 for category, method, low, high, p in _rows(
                     result.sensitivity, "category", "method", "ratio_low", "ratio_high", "p_value")]
    ratio = {"binomial": "odds ratio", "poisson": "rate ratio"}.get(result.family, "ratio")
    return ("<details><summary>Model and diagnostics</summary>"
            + para(f"{result.family} GLM, time adjustment: {result.time_effects}; dispersion "
                   f"{fmt_num(result.dispersion, 3)} (Pearson χ²/df), {result.n_obs} site-months, "
                   f"{fmt_num(result.df_resid, 0)} residual df; impact model: {result.impact}; 95% intervals: "
                   f"{result.interval}; Holm-adjusted p-values over the categories.")
            + table(["Category", "Estimate", "SE", ratio.capitalize(), "95% CI", "p", "p (Holm)", "Separable"],
                    effect_rows, "Model coefficients (log scale) and ratios")
            + (table(["Category", "Method", "95% CI of the ratio", "p"], sens_rows,
                     "Sensitivity: robust standard errors") if sens_rows else "")
            + table(["Check", "Site", "Category", "Value", "Note"], rows,
                    "Durbin–Watson, Ljung–Box, points before/after each change, variance inflation")
            + "</details>")
