"""Regression of one measure on intervention categories, honest about what the data can separate.

Public API: :func:`fit` and the result dataclass :class:`Attribution`. Several sites: site and
calendar-month fixed effects with an effect per month since each category's start (comparisons with
sites that have not started yet), averaged over the months after the start; one site: the
interrupted-time-series (segmented regression) model of the Bernal et al. (2017) tutorial. The
methods and the simulation behind the defaults: ``docs/attribution_methods.md``.

Sources: Wagner et al. (2002) segmented regression; Bernal, Cummins & Gasparrini (2017) ITS tutorial;
Goodman-Bacon (2021), Sun & Abraham (2021), Callaway & Sant'Anna (2021), Borusyak, Jaravel & Spiess
(2024) on staggered starts; Cameron, Gelbach & Miller (2008) on few clusters; Penfold & Zhang (2013);
Holm (1979).
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from qieval.errors import InputError, Problem

from . import fast_fit, identifiability
from .counterfactual import counterfactual_table
from .design import Design, build_design
from .diagnostics import diagnostics_table, ljung_box_lag
from .effects import EFFECT_COLUMNS, FittedTerms, effects_table, empty_effects
from .inference import cluster_covariance, t_quantile
from .inputs import tidy_interventions, tidy_measure
from .sensitivity import SENSITIVITY_COLUMNS, sensitivity_table
from .sentences import CALENDAR, ITS_TREND, SINGLE_SITE
from .site_effects import SiteEffects



@dataclass
class Attribution:
    """Result of :func:`fit`. All tables are tidy pandas DataFrames; :func:`fit` documents every column.

    Fields: ``effects`` (a headline row per category, named by it, then ``<category>:<detail>``
    rows), ``dispersion`` (Pearson X^2 / residual df before the floor at 1; residual variance for
    gaussian), ``diagnostics`` (long table of checks), ``counterfactual`` (observed, fitted and
    counterfactual series with intervals), ``sensitivity`` (the headline rows under the other
    intervals), ``warnings`` (plain sentences), ``family``, ``time_effects`` ("single-site trend",
    "calendar", "trend" or "none" when nothing was fitted), ``df_resid``, ``n_obs`` (site-months
    fitted), ``level``, ``model`` (the statsmodels GLM results, for inspection; with 30 or more
    sites the :class:`~qieval.attribution.fast_fit.AbsorbedGLM`, site effects absorbed), ``impact`` and
    ``interval`` (in words). ``sentences`` is ``effects["sentence"]`` as a list.
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
    impact: str = "none"  # "step", "ramp" or "event_time" ("none" when nothing was fitted)
    interval: str = ""  # how the primary intervals were computed, in words

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


def _resolve(n_sites: int, *, time_effects: str, impact: str, slope_change: bool | None, interval: str,
             ci_distribution: str) -> tuple[str, str, str, str]:
    """Turn "auto" options into what is fitted: (time_effects, impact, interval, ci_distribution)."""
    if n_sites == 1:
        time_effects = "trend"  # one series: its own trend (+ harmonics) is all there is
    elif time_effects == "auto":
        time_effects = "calendar"  # never a silent fallback to a trend
    if slope_change is not None:
        wanted = "ramp" if slope_change else "step"
        if impact not in ("auto", wanted):
            raise InputError(Problem(file="slope_change", row=None, column=None, message=(
                f"slope_change={slope_change} contradicts impact={impact!r}; give one of them")))
        impact = wanted
    if impact == "auto":
        impact = DEFAULT_IMPACT if (n_sites > 1 and time_effects == "calendar") else "step"
    if interval == "auto":
        interval = DEFAULT_INTERVAL if n_sites > 1 else "model"
    if interval in ("cluster", "model+cluster") and n_sites < 3:
        interval = "model"
    if ci_distribution == "auto":
        # one series: z, as the Bernal et al. (2017) tutorial's intervals (R's Epi::ci.exp) are printed
        ci_distribution = "normal" if n_sites == 1 else "t"
    return time_effects, impact, interval, ci_distribution


def _simpler_if_needed(data: pd.DataFrame, starts: pd.DataFrame, design: Design, verdict: identifiability.Verdict,
                       harmonics: int, time_effects: str, min_points: int, warns: list[str]
                       ) -> tuple[Design, identifiability.Verdict, str]:
    """With ``impact="auto"``: if the data cannot tell the months since a category's start apart
    (few sites, overlapping starts) but can estimate a ramp or a step, use the simplest of those that
    keeps every category a step can estimate, and say so."""
    lost = [c for c, ok in verdict.separable.items() if not ok]
    if not lost:
        return design, verdict, "event_time"
    for impact in ("ramp", "step"):
        d = build_design(data, starts, harmonics=harmonics, time_effects=time_effects, impact=impact)
        v = identifiability.check(data, d, starts, min_points)
        gained = [c for c in lost if v.separable[c]]
        if gained and all(v.separable[c] for c, ok in verdict.separable.items() if ok):
            what = {"ramp": "a change in level and in slope from the start",
                    "step": "a change in level from the start"}[impact]
            tail = (" If the effect built up gradually, a level change understates its average."
                    if impact == "step" else "")
            warns.append("The data cannot tell apart the effect in each month since the start of "
                         + ", ".join(gained) + f" (too few sites or overlapping starts), so {what} was estimated "
                         "instead for every category." + tail)
            return d, v, impact
    return design, verdict, "event_time"


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
                                     block, design.groups):
            for old, nw in zip(cols, new):
                design.X[nw] = design.X[old]
            joint[name] = new
    return joint


LISTED = 5  # sites named one by one in a sentence; beyond it, a count and the first few (all in diagnostics)


def _listed(notes: list[str]) -> str:
    """``notes`` joined by "; ", or with many the first three and a count: a network of thousands of
    practices must not turn one sentence into a page (every one is in ``diagnostics``, check "left_out")."""
    if len(notes) <= LISTED:
        return "; ".join(notes)
    return "; ".join(notes[:3]) + (f"; and {len(notes) - 3:,} more sites the same way (each is listed in the "
                                   "diagnostics as left_out)")


def _left_out_rows(site_notes: dict[str, str]) -> pd.DataFrame:
    """One ``left_out`` diagnostics row per site left out of the model, with the reason."""
    return pd.DataFrame([("left_out", s, None, float("nan"), why) for s, why in site_notes.items()],
                        columns=["check", "site_id", "category", "value", "note"])


def _nan_result(data: pd.DataFrame, cats: list[str], reason: str, family: str, level: float,
                extra_warnings: list[str], reasons: dict[str, str] | None = None,
                left_out: dict[str, str] | None = None) -> Attribution:
    rows = []
    for c in cats:
        why = (reasons or {}).get(c, reason)
        rows.append({"category": c, "separable": False, "note": why, "sentence": why})
    eff = pd.DataFrame(rows, columns=EFFECT_COLUMNS) if rows else empty_effects()
    eff["separable"] = eff["separable"].astype(bool)
    return Attribution(effects=eff, dispersion=float("nan"), diagnostics=_left_out_rows(left_out or {}),
        counterfactual=pd.DataFrame(),
        sensitivity=pd.DataFrame(columns=SENSITIVITY_COLUMNS), warnings=extra_warnings + [reason], family=family,
        time_effects="none", df_resid=float("nan"), n_obs=len(data), level=level)


# ----------------------------------------------------------------------------------------------------------
DEFAULT_IMPACT = "event_time"  # chosen from the simulation in docs/attribution_methods.md
DEFAULT_INTERVAL = "model+cluster"  # idem
IMPACTS = ("auto", "step", "ramp", "event_time")
INTERVALS = ("auto", "model", "cluster", "model+cluster", "model+hac")


def fit(measure_values: pd.DataFrame, interventions: pd.DataFrame | None, *, family: str = "binomial",
        harmonics: int = 0, slope_change: bool | None = None, time_effects: str = "auto", impact: str = "auto",
        interval: str = "auto", overdispersion: bool = True, min_points: int = 8, rate_per: float = 1.0,
        level: float = 0.95, ci_distribution: str = "auto", rate_unit: str | None = None) -> Attribution:
    """Estimate the change associated with each intervention category, with honest uncertainty.

    A GLM (statsmodels) of the measure on site and time terms and on each category's terms:
    binomial (logit; the proportion fitted with ``var_weights=denominator``; odds ratios), Poisson
    with offset log(denominator) (rate ratios) or gaussian (differences). The methods, the
    simulation that chose the defaults and its figures are in ``docs/attribution_methods.md``
    (``benchmarks/attribution_simulation.py`` prints them).

    Parameters
    ----------
    measure_values : DataFrame
        Rows ``site_id, period, numerator, denominator`` (or ``value`` for gaussian); ``period`` is
        floored to the month start.
    interventions : DataFrame or None
        Rows ``site_id, start, category``; ``site_id == "ALL"`` means every site. Only the first start
        of a category at a site counts; it switches on in the calendar month containing ``start``.
    family : {"binomial", "poisson", "gaussian"}
    harmonics : int
        Pairs of sin/cos terms of the calendar month (period 12) for seasonality with a trend (one
        site, or ``time_effects="trend"``); calendar-month effects already absorb seasonality.
    slope_change : bool, optional
        Given explicitly: False is ``impact="step"``, True is ``impact="ramp"`` (adds
        ``<category>:level`` and ``<category>:slope`` rows). None (default): decided by ``impact``.
    time_effects : {"auto", "calendar", "trend"}
        Several sites: "auto" and "calendar" use site and calendar-month fixed effects (changes over
        time shared by all sites are absorbed; a category that started in the same month at every
        site where it ran is then not separable and is reported so). "trend" fits site effects and one
        linear trend (+ harmonics) instead: an interrupted time series against a trend, labelled so in
        ``method`` and the sentences. One site: its own linear trend (+ harmonics) always.
    impact : {"auto", "step", "ramp", "event_time"}
        How a category's effect may develop after its start: a level change ("step"), a level and a
        slope change ("ramp"), or a free effect for every month since the start ("event_time",
        ``<category>:month_<h>`` rows; with calendar-month effects the comparison is with sites that
        have not started yet, Sun & Abraham 2021, Borusyak et al. 2024). "auto": "event_time" for
        several sites with calendar-month effects ("ramp", then "step", with a warning, for a
        category whose months since the start the data cannot tell apart), "step" otherwise (one
        site, or a trend).
    interval : {"auto", "model", "cluster", "model+cluster"}
        "model": quasi-likelihood, the Pearson dispersion floored at 1 (data that vary less than the
        model expects never narrow an interval), t on the residual df. "cluster": cluster-robust by
        site (CR1) with t on sites - 1 df. "model+cluster": the wider of the two for each row, t on
        sites - 1 df. "model+hac": the wider of "model" and Newey–West HAC (within each site; for a
        single series under autocorrelation, e.g. the site reports). "auto": "model+cluster" for 3 or
        more sites, "model" for one or two.
    overdispersion : bool
        False fixes the dispersion at 1 (plain likelihood, z intervals for "model").
    min_points : int
        A category needs at least this many months after its start at some site, and one before.
    rate_per : float
        Poisson: rates are per this many units of denominator.
    rate_unit : str, optional
        Poisson: the unit of a change in words (default "per <rate_per> units of denominator"), e.g.
        "per month" for a count measure, whose denominator is the number of periods.
    level : float
        Confidence level of all intervals.
    ci_distribution : {"auto", "t", "normal"}
        Reference distribution of the "model" interval: "auto" is "normal" for one series (as the
        Bernal et al. 2017 tutorial's intervals, R's ``Epi::ci.exp``) and "t" otherwise.

    Returns
    -------
    Attribution
        ``effects``: per category the headline row named by the category (the average change over
        the site-months after each site's start, on the model scale ``estimate`` / ``estimate_low``
        / ``estimate_high`` and as ``ratio*``; ``std_error``, ``p_value``, ``p_adjusted`` (Holm over
        the headline rows), ``abs_change``/``abs_low``/``abs_high`` (change in the last month against
        the counterfactual without this category, percentage points / rate per ``rate_per`` /
        units), ``mde`` (model scale) and ``mde_ratio``: the smallest change detected with 80% power,
        ``separable``, ``method``, ``n_sites``, ``note``, ``sentence``), then rows
        ``<category>:level`` and ``<category>:slope`` ("ramp") or ``<category>:month_<h>``
        ("event_time", with ``horizon``, ``n_sites`` observed at that month since the start and
        ``comparison_sites`` without the category at that time). ``dispersion`` (Pearson X^2/df,
        before the floor), ``diagnostics`` (Durbin–Watson, Ljung–Box, points before/after, VIF),
        ``counterfactual`` (observed, fitted and the model without any estimated intervention term,
        per site and pooled ``"ALL"``), ``sensitivity`` (the headline rows under the other
        intervals), ``warnings``, ``time_effects``, ``impact``, ``interval``.

    Notes
    -----
    Categories with too few points, no before period, or columns dependent on the rest of the design
    (rank check) are not estimated (``separable=False``, reason in ``note``); categories with identical
    indicators are fitted as one joint term reported in the note. Sites with no events before any
    change are left out (a ratio against a zero baseline is not estimable).

    Examples
    --------
    One site, 24 months, the level 5 higher from the month a new rota started. The noise pattern
    (+0.5, -0.5, -0.5, +0.5, repeated) sums to zero against the intercept, the trend and the step,
    so the estimate is exactly 5.

    >>> import pandas as pd
    >>> noise = [0.5, -0.5, -0.5, 0.5] * 6
    >>> values = pd.DataFrame({"site_id": "A", "period": pd.date_range("2023-01-01", periods=24, freq="MS"),
    ...                        "value": [10 + 5 * (i >= 12) + e for i, e in enumerate(noise)]})
    >>> rota = pd.DataFrame({"site_id": ["A"], "start": [pd.Timestamp("2024-01-01")], "category": ["new rota"]})
    >>> result = fit(values, rota, family="gaussian")
    >>> result.effects[["category", "estimate"]].round(6).to_dict("records")
    [{'category': 'new rota', 'estimate': 5.0}]
    """
    _check_options(family=family, harmonics=harmonics, time_effects=time_effects, min_points=min_points,
                   rate_per=rate_per, level=level, ci_distribution=ci_distribution, impact=impact,
                   interval=interval, slope_change=slope_change)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _fit(measure_values, interventions, family=family, harmonics=harmonics, slope_change=slope_change,
                    time_effects=time_effects, overdispersion=overdispersion, min_points=min_points,
                    rate_per=rate_per, level=level, ci_distribution=ci_distribution, impact=impact,
                    interval=interval, rate_unit=rate_unit)


def _check_options(*, family: str, harmonics: int, time_effects: str, min_points: int, rate_per: float,
                   level: float, ci_distribution: str, impact: str = "auto", interval: str = "auto",
                   slope_change: bool | None = None) -> None:
    """Reject impossible options with an InputError naming the argument."""
    checks = [
        ("family", family in ("binomial", "poisson", "gaussian"), "must be 'binomial', 'poisson' or 'gaussian'"),
        ("harmonics", isinstance(harmonics, (int, np.integer)) and not isinstance(harmonics, bool)
         and 0 <= harmonics <= 5,
         "must be a whole number from 0 to 5 (pairs of monthly sin/cos terms; 6 would include sin(pi*month) = 0)"),
        ("time_effects", time_effects in ("auto", "calendar", "trend"), "must be 'auto', 'calendar' or 'trend'"),
        ("impact", impact in IMPACTS, "must be one of " + ", ".join(f"'{x}'" for x in IMPACTS)),
        ("interval", interval in INTERVALS, "must be one of " + ", ".join(f"'{x}'" for x in INTERVALS)),
        ("slope_change", slope_change is None or isinstance(slope_change, (bool, np.bool_)),
         "must be true, false or left out"),
        ("min_points", isinstance(min_points, (int, np.integer)) and min_points >= 1, "must be a whole number >= 1"),
        ("rate_per", np.isfinite(rate_per) and rate_per > 0, "must be a positive number"),
        ("level", 0 < level < 1, "must be between 0 and 1"),
        ("ci_distribution", ci_distribution in ("auto", "t", "normal"), "must be 'auto', 't' or 'normal'"),
    ]
    for name, ok, message in checks:
        if not ok:
            raise InputError(Problem(file=name, row=None, column=None, message=f"{name} {message}"))


def _hac_covariance(model: sm.GLM, data: pd.DataFrame, like: pd.DataFrame
                    ) -> tuple[pd.DataFrame, tuple | None]:
    """Newey–West covariance (within each site, lag min(12, n // 4)) and, with absorbed site effects,
    their part of it (``AbsorbedGLM.site_covariance``); ``like`` (the model-based covariance) if
    statsmodels fails."""
    sites = data["site_id"].to_numpy()
    lag = ljung_box_lag(int(np.unique(sites, return_counts=True)[1].min()))
    kw = (dict(cov_type="HAC", cov_kwds={"maxlags": lag}) if len(set(sites)) == 1 else
          dict(cov_type="hac-panel", cov_kwds={"groups": pd.factorize(sites)[0], "maxlags": lag}))
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            r = model.fit(**kw)
            return r.cov_params().loc[like.index, like.columns], getattr(r, "site_covariance", None)
    except Exception:  # noqa: BLE001 - statsmodels edge cases: fall back to the model-based interval
        return like, None


def _score_residual(data: pd.DataFrame, mu: np.ndarray, family: str) -> np.ndarray:
    """Per-row score factor of a canonical-link GLM (the score is this times the design row)."""
    y, n = data["y"].to_numpy(float), data["n"].to_numpy(float)
    return (y - n * mu) if family == "binomial" else (y - mu)


def _fit(measure_values: pd.DataFrame, interventions: pd.DataFrame | None, *, family: str, harmonics: int,
         slope_change: bool | None, time_effects: str, overdispersion: bool, min_points: int, rate_per: float,
         level: float, ci_distribution: str, impact: str = "auto", interval: str = "auto",
         rate_unit: str | None = None) -> Attribution:
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
        site_notes = dict(zero)
        if len(zero) <= LISTED:
            for why in zero.values():
                warns.append(f"{why[0].upper()}{why[1:]}: a ratio against a zero baseline is not estimable, so this "
                             "site is left out of the model.")
        else:
            warns.append(f"{len(zero):,} sites are left out of the model because a ratio against a zero baseline is "
                         f"not estimable: {_listed(list(zero.values()))}.")
        data = data[~data["site_id"].isin(list(zero))].reset_index(drop=True)
        kept = ~starts["site_id"].isin(list(zero))
        ran_elsewhere = set(starts.loc[kept, "category"])  # categories that ran at a site still in the model
        orphan = [c for c in cats if c not in ran_elsewhere]
        starts = starts[kept].reset_index(drop=True)
        if len(data) == 0:
            reason = ("Not estimable: " + _listed(list(zero.values())) + ". A ratio against a zero baseline cannot be "
                      "estimated (perfect separation).")
            return _nan_result(data, cats, reason, family, level, warns, left_out=site_notes)
    else:
        orphan = []

    n_sites = data["site_id"].nunique()
    auto_impact = impact == "auto" and slope_change is None
    time_effects, impact, interval, ci_distribution = _resolve(
        n_sites, time_effects=time_effects, impact=impact, slope_change=slope_change, interval=interval,
        ci_distribution=ci_distribution)
    design = build_design(data, starts, harmonics=harmonics, time_effects=time_effects, impact=impact)
    verdict = identifiability.check(data, design, starts, min_points)
    if impact == "event_time" and auto_impact:
        design, verdict, impact = _simpler_if_needed(data, starts, design, verdict, harmonics, time_effects,
                                                     min_points, warns)
    warns.extend(design.notes)
    if n_sites == 1:
        method = SINGLE_SITE
    elif time_effects == "trend":
        method = ITS_TREND
        warns.append("Time adjustment: one linear trend shared by all sites (asked for in the options), not "
                     "calendar-month effects: the estimates are interrupted-time-series estimates that assume the "
                     "trend before each start would have continued, and a change that hit every site at once can be "
                     "mistaken for an intervention effect.")
    else:
        method = CALENDAR
    method = f"{method}; {IMPACT_WORDS[impact]}"
    N = design.matrix(design.nuisance)
    absorbed = design.groups[1] if design.groups is not None else 0  # site effects kept out of X
    if identifiability.rank(N, design.groups) < N.shape[1] + absorbed or len(data) - N.shape[1] - absorbed < 3:
        reason = (f"Too few points to fit the model: {len(data)} site-months for {N.shape[1] + absorbed} trend, seasonal and "
                  "site terms before any intervention term (or too few distinct months for the seasonal terms). "
                  "Nothing is estimated.")
        return _nan_result(data, cats, reason, family, level, warns, left_out=site_notes)
    keep = [c for c in design.terms if verdict.separable[c]]
    joint = _joint_columns(design, verdict, keep)
    joint_weights = {name: {c.replace(g0, name, 1): w for c, w in design.headline[g0].items()}
                     for name, g0 in ((n, n.split(" + ")[0]) for n in joint)}
    columns = design.nuisance + [c for k in keep for c in design.terms[k]] + [c for cs in joint.values() for c in cs]
    X = pd.DataFrame(design.matrix(columns), columns=columns, index=design.X.index)  # = design.X[columns]
    rank_X = identifiability.rank(X.to_numpy(float), design.groups)
    df_resid = len(data) - rank_X
    if df_resid < 2 or rank_X < X.shape[1] + absorbed:
        reason = (f"Too few points to fit the model: {len(data)} site-months for {X.shape[1] + absorbed} terms (or too few "
                  "distinct months for the seasonal terms). Nothing is estimated.")
        return _nan_result(data, cats, reason, family, level, warns, verdict.reasons, left_out=site_notes)

    scale = "X2" if (overdispersion or family == "gaussian") else 1.0
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        if design.groups is not None:  # many sites: site effects absorbed, not columns (fast_fit; exact)
            res = fast_fit.glm(data["y"].to_numpy(float), data["n"].to_numpy(float), X.to_numpy(float),
                               list(X.columns), family, design.groups, scale=scale)
            model = res.model
            separation = res.separation
        else:
            model = _glm(data, X, family)
            res = model.fit(scale=scale)
            separation = any("separation" in str(w.message).lower()
                             or "PerfectSeparation" in type(w.message).__name__ for w in caught)
    if not res.converged and not separation:
        warns.append("The model did not converge (the iterative fit stopped after its 100 steps): treat the "
                     "estimates with caution.")
    mu = np.asarray(res.fittedvalues, float) if family != "poisson" else np.asarray(res.mu, float)
    disp = pearson_dispersion(data, mu, family, df_resid) if (overdispersion or family == "gaussian") else 1.0
    # never let data that vary less than the model expects narrow an interval (floor at 1)
    used = disp if family == "gaussian" else max(disp, 1.0)
    params = res.params
    cov0 = res.cov_params()
    bread = cov0.to_numpy() / res.scale
    cov_model = pd.DataFrame(bread * used, index=cov0.index, columns=cov0.columns)
    estimated = (overdispersion or family == "gaussian") and ci_distribution == "t"
    df_model = float(df_resid) if estimated else float("inf")
    covs = {"model": (cov_model, df_model)}
    if n_sites >= 3:
        groups = np.unique(data["site_id"].to_numpy(dtype=object), return_inverse=True)[1]
        Vc = cluster_covariance(bread, X.to_numpy(float), _score_residual(data, mu, family), groups, absorbed)
        covs["cluster"] = (pd.DataFrame(Vc, index=cov0.index, columns=cov0.columns), float(n_sites - 1))
    if interval == "cluster":
        cov, df_t = covs["cluster"]
        floor = None
    elif interval == "model+cluster":
        cov, df_t = covs["cluster"][0], covs["cluster"][1]
        floor = cov_model
    elif interval == "model+hac":
        (cov, hac_sites), df_t, floor = _hac_covariance(model, data, cov_model), df_model, cov_model
    else:
        cov, df_t = cov_model, df_model
        floor = None
    q = t_quantile(df_t, level)
    # absorbed site effects: their part of the primary covariance (module site_effects):
    # quasi-likelihood φ / w_g; zero for cluster-robust; Newey–West's from the fit
    sites = None
    if design.groups is not None:
        if interval == "model+hac" and hac_sites is not None:
            variance, cross, means = hac_sites
        else:
            clustered = interval in ("cluster", "model+cluster")
            variance, cross, means = (np.zeros(absorbed) if clustered else used / res.site_weight), None, res.site_means
        sites = SiteEffects(code=design.groups[0], effects=res.site_effects, means=means, variance=variance,
                            cross=cross)
    if overdispersion and disp < 1 and family != "gaussian":
        warns.append(f"The data vary less than the {family} model expects (dispersion {disp:.2f} < 1); this is not "
                     "allowed to narrow the intervals (the dispersion is taken as 1).")
    elif overdispersion and disp > 1.5 and family != "gaussian":
        warns.append(f"The data vary more than the {family} model expects (dispersion {disp:.2f}); intervals are "
                     "widened accordingly (quasi-likelihood).")

    # ---- effects ------------------------------------------------------------------------------------------
    term_cols = [c for k in keep for c in design.terms[k]] + [c for cs in joint.values() for c in cs]
    not_estimable = {}
    for cat in orphan:
        ran = starts_all.loc[starts_all["category"] == cat, "site_id"]
        why = _listed([site_notes[s] for s in ran if s in zero])
        not_estimable[cat] = (f"{cat} ran only at site(s) with no events before any change ({why}); "
                              "a ratio against a zero baseline is not estimable.")
    fitted = FittedTerms(data=data, X=X, params=params, cov=cov, df=df_t, q=q, level=level, family=family,
                         rate_per=rate_per, separation_warned=separation, method=method, since=design.since,
                         headline=design.headline, se_floor=floor, rate_unit=rate_unit or "", sites=sites)
    eff, effect_warnings = effects_table(cats, keep, design.terms, verdict, joint, not_estimable, fitted,
                                         bool(slope_change), joint_weights)
    warns.extend(effect_warnings)

    # ---- diagnostics, counterfactual, sensitivity ---------------------------------------------------------
    resid = np.asarray(res.resid_pearson, float) / np.sqrt(disp if family != "gaussian" else 1.0)
    before, after = identifiability.points_before_after(data, design)
    site_ids = data["site_id"].to_numpy()
    vif_cols = [c for c in term_cols if ":month_" not in c]  # one per month since the start says little
    diag = diagnostics_table(resid, site_ids, X, vif_cols, before, after, design.groups)
    if site_notes:
        diag = pd.concat([diag, _left_out_rows(site_notes)], ignore_index=True)
    checks, value = diag["check"].to_numpy(), diag["value"].to_numpy(float)
    lb_p, lb_site = value[checks == "ljung_box_p"], diag["site_id"].to_numpy()[checks == "ljung_box_p"]
    lb_site, lb_p = lb_site[~np.isnan(lb_p)], lb_p[~np.isnan(lb_p)]
    lb_min = lb_p.min() if len(lb_p) else np.nan
    robust = interval in ("cluster", "model+cluster", "model+hac")
    if np.isfinite(lb_min) and lb_min < 0.05:
        where = "" if len(set(site_ids)) == 1 else f" at site {lb_site[np.argmin(lb_p)]}"
        warns.append(f"Residuals are autocorrelated (Ljung–Box p = {lb_min:.3g}{where}): " + (
            "the intervals allow for this (" + ("Newey–West" if interval == "model+hac" else "cluster-robust by site")
            + ")." if robust else
            "intervals may be too narrow; see the HAC sensitivity interval in `sensitivity`."))
    dw = float(value[checks == "durbin_watson"][0])
    if np.isfinite(dw) and (dw < 1.5 or dw > 2.5) and not robust:
        warns.append(f"Durbin–Watson statistic is {dw:.2f} (about 2 means no autocorrelation): intervals may be "
                     "too narrow or too wide; compare with `sensitivity`.")
    cf = counterfactual_table(data, X, params, cov, term_cols, family, q, rate_per, sites)
    headline = {**{c: design.headline[c] for c in keep}, **joint_weights}
    sens = sensitivity_table(model, data, headline, family, level, covs, primary=interval, params=params)
    return Attribution(effects=eff, dispersion=disp, diagnostics=diag, counterfactual=cf, sensitivity=sens,
                       warnings=list(dict.fromkeys(warns)), family=family, time_effects=design.time_effects,
                       df_resid=float(df_resid), n_obs=len(data), level=level, model=res, impact=impact,
                       interval=INTERVAL_WORDS[interval].format(df=df_t))


IMPACT_WORDS = {"step": "level change from the start", "ramp": "level and slope change from the start",
                "event_time": "average of the effects by month since the start"}
INTERVAL_WORDS = {"model": "quasi-likelihood (dispersion at least 1), {df:.0f} df",
                  "cluster": "cluster-robust by site, t on {df:.0f} df",
                  "model+cluster": "wider of quasi-likelihood and cluster-robust by site, t on {df:.0f} df",
                  "model+hac": "wider of quasi-likelihood and Newey–West (HAC), {df:.0f} df"}


__all__ = ["fit", "Attribution", "pearson_dispersion"]
