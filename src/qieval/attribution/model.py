"""Segmented (interrupted time series) regression of one measure on intervention categories.

Public API: :func:`fit` and the result dataclass :class:`Attribution`.

Sources: Wagner et al. (2002) segmented regression; Bernal, Cummins & Gasparrini (2017) ITS tutorial
(Poisson/quasi-Poisson with offset, Fourier seasonality, autocorrelation checks); Penfold & Zhang (2013)
and Turner et al. (2021) on what short series can show; Holm (1979) for multiplicity.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from qieval.errors import InputError, Problem

from . import identifiability
from .counterfactual import counterfactual_table
from .design import Design, build_design
from .diagnostics import diagnostics_table
from .effects import EFFECT_COLUMNS, FittedTerms, effects_table, empty_effects
from .inference import t_quantile
from .inputs import tidy_interventions, tidy_measure
from .sensitivity import SENSITIVITY_COLUMNS, sensitivity_table



@dataclass
class Attribution:
    """Result of :func:`fit`. All tables are tidy pandas DataFrames; :func:`fit` documents every column.

    Fields: ``effects`` (one row per category, or two with slope changes), ``dispersion`` (Pearson
    X^2 / residual df; residual variance for gaussian), ``diagnostics`` (long table of checks),
    ``counterfactual`` (observed, fitted and counterfactual series with intervals), ``sensitivity``
    (sandwich standard errors), ``warnings`` (plain sentences), ``family``, ``time_effects``
    ("single-site trend", "calendar", "trend" or "none" when nothing was fitted), ``df_resid``,
    ``n_obs`` (site-months fitted), ``level`` and ``model`` (the statsmodels GLM results, for
    inspection). ``sentences`` is ``effects["sentence"]`` as a list.
    """

    effects: pd.DataFrame
    dispersion: float
    diagnostics: pd.DataFrame
    counterfactual: pd.DataFrame
    sensitivity: pd.DataFrame
    warnings: list[str]
    family: str
    time_effects: str
    df_resid: float
    n_obs: int
    level: float = 0.95
    model: Any = field(default=None, repr=False)  # the statsmodels GLM result (None if nothing was fitted)

    @property
    def sentences(self) -> list[str]:
        """One plain-language sentence per row of :attr:`effects`."""
        return list(self.effects["sentence"])


# ----------------------------------------------------------------------------------------------------------
def _glm(data: pd.DataFrame, X: pd.DataFrame, family: str) -> sm.GLM:
    if family == "binomial":
        return sm.GLM(data["y"] / data["n"], X, family=sm.families.Binomial(), var_weights=data["n"])
    if family == "poisson":
        return sm.GLM(data["y"], X, family=sm.families.Poisson(), offset=np.log(data["n"]))
    return sm.GLM(data["y"], X, family=sm.families.Gaussian())


def pearson_dispersion(data: pd.DataFrame, mu: np.ndarray, family: str, df_resid: float) -> float:
    """Pearson X^2 / residual df, computed directly (not via statsmodels' ``scale``).

    binomial: sum n (y/n - p)^2 / (p (1 - p)); poisson: sum (y - mu)^2 / mu; gaussian: residual variance.
    """
    y, n = data["y"].to_numpy(float), data["n"].to_numpy(float)
    if family == "binomial":
        x2 = np.sum(n * (y / n - mu) ** 2 / (mu * (1 - mu)))
    elif family == "poisson":
        x2 = np.sum((y - mu) ** 2 / mu)
    else:
        x2 = np.sum((y - mu) ** 2)
    return float(x2 / df_resid)


def _zero_baseline_sites(data: pd.DataFrame, starts: pd.DataFrame, family: str) -> dict[str, str]:
    """Sites whose baseline (before any change) has no events (or, binomial, only events)."""
    if family == "gaussian":
        return {}
    first_on: dict[str, np.datetime64] = {}  # first on month of any category, per site
    for s, p in zip(starts["site_id"].tolist(), starts["on_period"].to_numpy()):
        first_on[s] = min(first_on[s], p) if s in first_on else p
    sites, code = np.unique(data["site_id"].to_numpy(dtype=object), return_inverse=True)
    period, y, n = data["period"].to_numpy(), data["y"].to_numpy(float), data["n"].to_numpy(float)
    out = {}
    for i, site in enumerate(sites):
        base = code == i
        if site in first_on:
            base &= period < first_on[site]
        months = int(base.sum())
        if months == 0:
            continue
        if y[base].sum() == 0:
            out[site] = f"site {site} had no events in the {months} month(s) before any change"
        elif family == "binomial" and (n[base] - y[base]).sum() == 0:
            out[site] = f"site {site} had events in every case in the {months} month(s) before any change"
    return out


def _choose_time_effects(data: pd.DataFrame, starts: pd.DataFrame, *, harmonics: int, slope_change: bool,
                         min_points: int, time_effects: str) -> tuple[Design, identifiability.Verdict, list[str]]:
    notes: list[str] = []
    if data["site_id"].nunique() == 1:
        d = build_design(data, starts, harmonics=harmonics, slope_change=slope_change, time_effects="trend")
        return d, identifiability.check(data, d, starts, min_points), notes
    if time_effects in ("calendar", "trend"):
        d = build_design(data, starts, harmonics=harmonics, slope_change=slope_change, time_effects=time_effects)
        return d, identifiability.check(data, d, starts, min_points), d.notes
    cal = build_design(data, starts, harmonics=harmonics, slope_change=slope_change, time_effects="calendar")
    vc = identifiability.check(data, cal, starts, min_points)
    tr = build_design(data, starts, harmonics=harmonics, slope_change=slope_change, time_effects="trend")
    vt = identifiability.check(data, tr, starts, min_points)
    lost = [c for c in vt.separable if vt.separable[c] and not vc.separable[c]]
    if not lost:
        return cal, vc, cal.notes
    notes.append("Calendar-month effects were not used because " + ", ".join(lost) + " started in the same month "
                 "at every site, which they would absorb; a common linear trend was used instead, so a shock that "
                 "hit every site at once could be mistaken for an intervention effect.")
    return tr, vt, notes + tr.notes


def _joint_columns(design: Design, verdict: identifiability.Verdict, keep: list[str]) -> dict[str, list[str]]:
    """Add one joint term per collinear group when it is identified; returns name -> columns."""
    joint: dict[str, list[str]] = {}
    if not verdict.groups:
        return joint
    N = design.matrix(design.nuisance + [c for k in keep for c in design.terms[k]])
    for g in verdict.groups:
        name = " + ".join(g)
        cols = design.terms[g[0]]
        new = [c.replace(g[0], name, 1) for c in cols]
        block = design.matrix(cols)
        if identifiability.adds_rank(np.column_stack([N, design.matrix([c for cs in joint.values() for c in cs])]),
                                     block):
            for old, nw in zip(cols, new):
                design.X[nw] = design.X[old]
            joint[name] = new
    return joint


def _nan_result(data: pd.DataFrame, cats: list[str], slope_change: bool, reason: str, family: str,
                level: float, extra_warnings: list[str], reasons: dict[str, str] | None = None) -> Attribution:
    rows = []
    for c in cats:
        why = (reasons or {}).get(c, reason)
        for name in [c, f"{c}:slope"] if slope_change else [c]:
            rows.append({"category": name, "separable": False, "note": why, "sentence": why})
    eff = pd.DataFrame(rows, columns=EFFECT_COLUMNS) if rows else empty_effects()
    eff["separable"] = eff["separable"].astype(bool)
    return Attribution(effects=eff, dispersion=float("nan"), diagnostics=pd.DataFrame(
        columns=["check", "site_id", "category", "value", "note"]), counterfactual=pd.DataFrame(),
        sensitivity=pd.DataFrame(columns=SENSITIVITY_COLUMNS), warnings=extra_warnings + [reason], family=family,
        time_effects="none", df_resid=float("nan"), n_obs=len(data), level=level)


# ----------------------------------------------------------------------------------------------------------
def fit(measure_values: pd.DataFrame, interventions: pd.DataFrame | None, *, family: str = "binomial",
        harmonics: int = 0, slope_change: bool = False, time_effects: str = "auto", overdispersion: bool = True,
        min_points: int = 8, rate_per: float = 1.0, level: float = 0.95, ci_distribution: str = "t"
        ) -> Attribution:
    """Estimate what each intervention category changed, with honest uncertainty.

    Model (a GLM fitted with statsmodels; Wagner et al. 2002, Bernal et al. 2017)
        g(E[y]) = nuisance terms + sum_c beta_c * step_c (+ gamma_c * slope_c)
    with g = logit (``family="binomial"``: numerator successes out of denominator, fitted as the
    proportion with ``var_weights=denominator``), log with offset log(denominator)
    (``"poisson"``: counts per population / bed-days), or identity (``"gaussian"``: ``value``, or
    numerator/denominator if there is no ``value`` column).

    Parameters
    ----------
    measure_values : rows ``site_id, period, numerator, denominator`` (or ``value`` for gaussian);
        ``period`` is floored to the month start.
    interventions : rows ``site_id, start, category``; ``site_id == "ALL"`` means every site. Only the
        first start of a category at a site counts (later PDSA cycles of the same category do not add
        steps). **Timing rule:** the step switches on in the calendar month that contains ``start``
        (a start on 2005-01-10 is "on" for 2005-01). This matches how PDSA starts and the Bernal et al.
        tutorial code the intervention month; if a start late in a month should count from the next
        month, move the start date.
    family : "binomial" (odds ratios), "poisson" (rate ratios) or "gaussian" (differences; ratio NaN).
    harmonics : k pairs of sin/cos terms of the calendar month (period 12) for seasonality
        (``harmonics=2`` is the tutorial's ``harmonic(month, 2, 12)``). Not used with calendar-month
        effects, which already absorb seasonality.
    slope_change : add a change in trend per category (row ``"<category>:slope"``, its ratio per month;
        the slope term is months since the on month, 0 in the on month itself).
    time_effects : several sites only. "auto" (default) uses site fixed effects plus calendar-month
        fixed effects, falling back to site fixed effects plus a common linear trend (and harmonics)
        when the calendar effects would absorb a category (a category starting in the same month at
        every site — calendar effects are identified only with staggered starts); "calendar" or
        "trend" force one. One site: intercept + linear trend (+ harmonics) always.
    overdispersion : True (default) estimates the dispersion as Pearson X^2 / residual df
        (quasi-likelihood, as Bernal et al. 2017 and most ITS analyses do) and uses t intervals and
        p-values on the residual df. False fixes the dispersion at 1 with z intervals (plain
        binomial / Poisson likelihood; gaussian always estimates its variance).
    min_points : a category needs at least this many months after its start at some site (default 8;
        Penfold & Zhang 2013) to be estimated.
    rate_per : poisson only: rates (counterfactual table and ``abs_change``) are per this many units of
        denominator (e.g. 1000 for per 1,000 bed-days).
    level : confidence level of all intervals.
    ci_distribution : "t" (default; t on the residual df when the dispersion is estimated) or "normal"
        (z quantiles, as R's ``Epi::ci.exp`` prints for quasi-Poisson fits; for reproducing published
        R output).

    Identifiability first: categories with too few points after their start, with no before period,
    or whose columns are linearly dependent on the rest of the design (rank check) are reported with
    ``separable=False``, NaN estimates and the reason in ``note``; the model is refitted without them.
    Categories with identical indicators (same month everywhere) are refitted as one joint term and
    their combined change is given in the note. Binomial/poisson sites with no events before any
    change (perfect separation: a ratio against a zero baseline is not estimable) are left out of the
    fit, with a note and a warning; a category that ran only at such sites is not estimated.

    Defaults, and the evidence for them (``tests/attribution/test_attribution_simulation.py`` and
    ``attribution_simulate.py``: 4 sites x 36 months, staggered starts, three categories with true
    odds ratios 0.70, 0.85 and 1.00, site baselines, a linear trend, mild seasonality and AR(1) extra-binomial
    noise on the logit scale, rho = 0.4; 200 seeded replicates per setting when the defaults were
    chosen, 60 in the test suite):

    * Calendar-month fixed effects vs a common linear trend. Calendar effects: mean error within
      0.12 SE of the truth and 95% interval coverage 0.905-0.925 per category; with a shock that
      hits every site in 2022-01 (+0.25 on the logit scale) still within 0.08 SE, coverage
      0.895-0.955. Common linear trend: within 0.38 SE without a shock (the unmodelled seasonality
      leaks in), but with the shock biased by 1.2-1.9 SE with coverage 0.54-0.75. Default:
      calendar effects whenever they are identified (staggered starts), else the common trend.
    * Standard errors. Quasi-likelihood (Pearson dispersion, t on the residual df) coverage is
      about 0.87-0.95 per category (0.89-0.93 pooled) under this autocorrelation (slightly below nominal: the empirical SD of the
      estimates was ~1.1x the mean SE). Cluster-robust by site (t on sites - 1 df) covered
      0.87-0.97 but with 4 clusters its width is very unstable; panel HAC (lag min(12, n/4))
      under-covered (0.82-0.87). So the default is quasi-likelihood; both sandwich versions are in
      ``sensitivity``, and autocorrelation (Ljung–Box p < 0.05, Durbin–Watson outside 1.5-2.5) is
      flagged in ``warnings``.

    Returns
    -------
    Attribution with

    ``effects`` — one row per category (two with ``slope_change``: ``"<category>"`` then
    ``"<category>:slope"``), sorted by category:
        ``category``; ``estimate`` (log odds ratio / log rate ratio / difference in the measure's
        units; for slope rows the same per month); ``std_error``; ``estimate_low``/``estimate_high``
        (interval for ``estimate``); ``ratio``, ``ratio_low``, ``ratio_high`` (exp of the above; NaN
        for gaussian); ``p_value`` (two-sided, t on the residual df); ``p_adjusted`` (Holm 1979 over
        all estimated rows, level and slope rows together); ``abs_change``, ``abs_low``,
        ``abs_high``: the change in the last month of the series versus the counterfactual without
        this category's terms (level and slope), averaged over the sites where it is in place then,
        weighted by denominator — percentage points (binomial), rate per ``rate_per`` (poisson) or
        measure units (gaussian); on the level row only (NaN on slope rows); ``separable`` (bool);
        ``note`` (why not estimated, joint estimates, separation); ``sentence`` (plain language,
        "associated with").
    ``dispersion`` — Pearson X^2 / residual df (1.0 when ``overdispersion=False``, except gaussian).
    ``diagnostics`` — long table ``check, site_id, category, value, note`` with checks
        ``durbin_watson`` (within-site Pearson residuals), ``ljung_box_p`` (per site, lag
        min(12, n//4)), ``points_before``/``points_after`` (per category) and ``vif`` (per
        intervention column).
    ``counterfactual`` — ``site_id, period, denominator, observed, fitted, counterfactual,
        counterfactual_low, counterfactual_high``: one row per site and month, plus (several sites)
        pooled rows with ``site_id == "ALL"`` (denominator-weighted means). Values are proportions
        (0-1, binomial), rates per ``rate_per`` (poisson) or values (gaussian). The counterfactual
        sets every estimated intervention term (including joint terms) to 0: the pre-existing trend
        continued (one site / common trend) or, with calendar-month effects, the site's level plus
        the month-to-month pattern shared by all sites. Categories that were not estimated stay in
        the background (they are not removed from the counterfactual). Intervals are for the
        expected value (not prediction intervals).
    ``sensitivity`` — ``category, method, std_error, estimate_low, estimate_high, ratio_low,
        ratio_high, p_value`` for alternative standard errors: "HAC (Newey-West, lag L)" for one site;
        "cluster-robust by site" and "panel HAC (lag L)" for several sites.
    ``warnings`` — plain sentences (autocorrelation, dropped sites, fallbacks, separation).
    ``sentences`` — property: ``effects["sentence"]`` as a list.
    """
    _check_options(family=family, harmonics=harmonics, time_effects=time_effects, min_points=min_points,
                   rate_per=rate_per, level=level, ci_distribution=ci_distribution)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _fit(measure_values, interventions, family=family, harmonics=harmonics, slope_change=slope_change,
                    time_effects=time_effects, overdispersion=overdispersion, min_points=min_points,
                    rate_per=rate_per, level=level, ci_distribution=ci_distribution)


def _check_options(*, family: str, harmonics: int, time_effects: str, min_points: int, rate_per: float,
                   level: float, ci_distribution: str) -> None:
    """Reject impossible options with an InputError naming the argument."""
    checks = [
        ("family", family in ("binomial", "poisson", "gaussian"), "must be 'binomial', 'poisson' or 'gaussian'"),
        ("harmonics", isinstance(harmonics, (int, np.integer)) and 0 <= harmonics <= 5,
         "must be a whole number from 0 to 5 (pairs of monthly sin/cos terms; 6 would include sin(pi*month) = 0)"),
        ("time_effects", time_effects in ("auto", "calendar", "trend"), "must be 'auto', 'calendar' or 'trend'"),
        ("min_points", isinstance(min_points, (int, np.integer)) and min_points >= 1, "must be a whole number >= 1"),
        ("rate_per", np.isfinite(rate_per) and rate_per > 0, "must be a positive number"),
        ("level", 0 < level < 1, "must be between 0 and 1"),
        ("ci_distribution", ci_distribution in ("t", "normal"), "must be 't' or 'normal'"),
    ]
    for name, ok, message in checks:
        if not ok:
            raise InputError(Problem(file=name, row=None, column=None, message=f"{name} {message}"))


def _fit(measure_values: pd.DataFrame, interventions: pd.DataFrame | None, *, family: str, harmonics: int,
         slope_change: bool, time_effects: str, overdispersion: bool, min_points: int, rate_per: float,
         level: float, ci_distribution: str) -> Attribution:
    """The work of :func:`fit` (floating-point warnings from separated fits are handled, not printed)."""
    data = tidy_measure(measure_values, family)
    sites = sorted(data["site_id"].unique())
    starts = tidy_interventions(interventions, sites)
    warns: list[str] = []
    cats = sorted(starts["category"].unique())
    if not cats:
        warns.append("No interventions were given, so there is nothing to attribute; the model describes the "
                     "trend only.")

    # sites with a zero baseline: ratio against a zero rate is not estimable
    zero = _zero_baseline_sites(data, starts, family)
    starts_all = starts
    site_notes = {}
    if zero:
        for site, why in zero.items():
            warns.append(f"{why[0].upper()}{why[1:]}: a ratio against a zero baseline is not estimable, so this "
                         "site is left out of the model.")
            site_notes[site] = why
        data = data[~data["site_id"].isin(list(zero))].reset_index(drop=True)
        kept = ~starts["site_id"].isin(list(zero))
        ran_elsewhere = set(starts.loc[kept, "category"])  # categories that ran at a site still in the model
        orphan = [c for c in cats if c not in ran_elsewhere]
        starts = starts[kept].reset_index(drop=True)
        if len(data) == 0:
            reason = ("Not estimable: " + "; ".join(zero.values()) + ". A ratio against a zero baseline cannot be "
                      "estimated (perfect separation).")
            return _nan_result(data, cats, slope_change, reason, family, level, warns)
    else:
        orphan = []

    design, verdict, notes = _choose_time_effects(data, starts, harmonics=harmonics, slope_change=slope_change,
                                                  min_points=min_points, time_effects=time_effects)
    warns.extend(notes)
    N = design.matrix(design.nuisance)
    if identifiability.rank(N) < N.shape[1] or len(data) - N.shape[1] < 3:
        reason = (f"Too few points to fit the model: {len(data)} site-months for {N.shape[1]} trend, seasonal and "
                  "site terms before any intervention term (or too few distinct months for the seasonal terms). "
                  "Nothing is estimated.")
        return _nan_result(data, cats, slope_change, reason, family, level, warns)
    keep = [c for c in design.terms if verdict.separable[c]]
    joint = _joint_columns(design, verdict, keep)
    columns = design.nuisance + [c for k in keep for c in design.terms[k]] + [c for cs in joint.values() for c in cs]
    X = pd.DataFrame(design.matrix(columns), columns=columns, index=design.X.index)  # = design.X[columns]
    rank_X = identifiability.rank(X.to_numpy(float))
    df_resid = len(data) - rank_X
    if df_resid < 2 or rank_X < X.shape[1]:
        reason = (f"Too few points to fit the model: {len(data)} site-months for {X.shape[1]} terms (or too few "
                  "distinct months for the seasonal terms). Nothing is estimated.")
        return _nan_result(data, cats, slope_change, reason, family, level, warns, verdict.reasons)

    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        model = _glm(data, X, family)
        res = model.fit(scale="X2" if (overdispersion or family == "gaussian") else 1.0)
    separation = any("separation" in str(w.message).lower() or "PerfectSeparation" in type(w.message).__name__
                     for w in caught)
    mu = np.asarray(res.fittedvalues, float) if family != "poisson" else np.asarray(res.mu, float)
    disp = pearson_dispersion(data, mu, family, df_resid) if (overdispersion or family == "gaussian") else 1.0
    params = res.params
    cov = res.cov_params()
    cov = pd.DataFrame(cov.to_numpy() / res.scale * disp, index=cov.index, columns=cov.columns)
    estimated = (overdispersion or family == "gaussian") and ci_distribution == "t"
    df_t = float(df_resid) if estimated else float("inf")
    q = t_quantile(df_t, level)
    if overdispersion and disp < 1 and family != "gaussian":
        warns.append(f"The data vary less than the {family} model expects (dispersion {disp:.2f} < 1); intervals use "
                     "the estimated dispersion, as quasi-likelihood does.")
    elif overdispersion and disp > 1.5 and family != "gaussian":
        warns.append(f"The data vary more than the {family} model expects (dispersion {disp:.2f}); intervals are "
                     "widened accordingly (quasi-likelihood).")

    # ---- effects ------------------------------------------------------------------------------------------
    term_cols = [c for k in keep for c in design.terms[k]] + [c for cs in joint.values() for c in cs]
    not_estimable = {}
    for cat in orphan:
        ran = starts_all.loc[starts_all["category"] == cat, "site_id"]
        why = "; ".join(site_notes[s] for s in ran if s in zero)
        not_estimable[cat] = (f"{cat} ran only at site(s) with no events before any change ({why}); "
                              "a ratio against a zero baseline is not estimable.")
    fitted = FittedTerms(data=data, X=X, params=params, cov=cov, df=df_t, q=q, level=level, family=family,
                         rate_per=rate_per, separation_warned=separation)
    eff, effect_warnings = effects_table(cats, keep, design.terms, verdict, joint, not_estimable, fitted,
                                         slope_change)
    warns.extend(effect_warnings)

    # ---- diagnostics, counterfactual, sensitivity ---------------------------------------------------------
    resid = np.asarray(res.resid_pearson, float) / np.sqrt(disp if family != "gaussian" else 1.0)
    before, after = identifiability.points_before_after(data, design)
    site_ids = data["site_id"].to_numpy()
    diag = diagnostics_table(resid, site_ids, X, term_cols, before, after)
    checks, value = diag["check"].to_numpy(), diag["value"].to_numpy(float)
    lb_p, lb_site = value[checks == "ljung_box_p"], diag["site_id"].to_numpy()[checks == "ljung_box_p"]
    lb_site, lb_p = lb_site[~np.isnan(lb_p)], lb_p[~np.isnan(lb_p)]
    lb_min = lb_p.min() if len(lb_p) else np.nan
    if np.isfinite(lb_min) and lb_min < 0.05:
        where = "" if len(set(site_ids)) == 1 else f" at site {lb_site[np.argmin(lb_p)]}"
        warns.append(f"Residuals are autocorrelated (Ljung–Box p = {lb_min:.3g}{where}): intervals may be too "
                     "narrow; see the HAC sensitivity interval in `sensitivity`.")
    dw = float(value[checks == "durbin_watson"][0])
    if np.isfinite(dw) and (dw < 1.5 or dw > 2.5):
        warns.append(f"Durbin–Watson statistic is {dw:.2f} (about 2 means no autocorrelation): intervals may be "
                     "too narrow or too wide; compare with `sensitivity`.")
    cf = counterfactual_table(data, X, params, cov, term_cols, family, q, rate_per)
    sens = sensitivity_table(model, data, term_cols, family, level)
    return Attribution(effects=eff, dispersion=disp, diagnostics=diag, counterfactual=cf, sensitivity=sens,
                       warnings=list(dict.fromkeys(warns)), family=family, time_effects=design.time_effects,
                       df_resid=float(df_resid), n_obs=len(data), level=level, model=res)


__all__ = ["fit", "Attribution", "pearson_dispersion"]
