"""Seeded simulation of a multi-site QI programme with known effects (used by the validity tests).

4 sites x 36 months (2021-01 .. 2023-12), staggered starts of three categories with true odds ratios
``TRUE_OR``; site baselines, a common linear trend, mild seasonality and AR(1) extra-binomial noise on
the logit scale. ``shock`` adds a level shift that hits every site in the same month (2022-01).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SITES = ["A", "B", "C", "D"]
MONTHS = pd.date_range("2021-01-01", periods=36, freq="MS")
TRUE_OR = {"staffing": 0.70, "IT": 0.85, "education": 1.00}
STARTS = {  # category -> site -> start date (mid-month starts switch on in that month)
    "staffing": {"A": "2021-07-01", "B": "2021-10-15", "C": "2022-01-03", "D": "2022-04-20"},
    "IT": {"A": "2022-02-01", "B": "2021-07-09", "C": "2022-06-01", "D": "2021-11-11"},
    "education": {"A": "2022-03-01", "B": "2022-09-01", "C": "2021-09-01", "D": "2022-08-01"},
}
BASE = {"A": -1.0, "B": -0.6, "C": -1.3, "D": -0.8}


def interventions() -> pd.DataFrame:
    rows = [(s, pd.Timestamp(d), c) for c, by in STARTS.items() for s, d in by.items()]
    return pd.DataFrame(rows, columns=["site_id", "start", "category"])


def simulate(rng: np.random.Generator, *, rho: float = 0.4, sd: float = 0.08, n_mean: int = 300,
             shock: float = 0.0, trend: float = -0.004) -> pd.DataFrame:
    rows = []
    t = np.arange(len(MONTHS))
    for s in SITES:
        eta = BASE[s] + trend * t + 0.08 * np.cos(2 * np.pi * MONTHS.month.to_numpy() / 12)
        for c, by in STARTS.items():
            on = MONTHS >= pd.Timestamp(by[s]).to_period("M").to_timestamp()
            eta = eta + np.log(TRUE_OR[c]) * on
        eta = eta + shock * (MONTHS >= pd.Timestamp("2022-01-01"))
        e = np.empty(len(t))
        e[0] = rng.normal(0, sd / np.sqrt(1 - rho**2))
        for i in range(1, len(t)):
            e[i] = rho * e[i - 1] + rng.normal(0, sd)
        p = 1 / (1 + np.exp(-(eta + e)))
        n = rng.poisson(n_mean, len(t))
        y = rng.binomial(n, p)
        rows += [(s, m, int(yy), int(nn)) for m, yy, nn in zip(MONTHS, y, n)]
    return pd.DataFrame(rows, columns=["site_id", "period", "numerator", "denominator"])


# ---- staggered and same-month categories, step and ramp effects, autocorrelated noise --------
"""Five sites x 36 months (2021-01 .. 2023-12). ``reviews`` starts in a different month at each site
(the staggered category; its true effect is null, a step or a ramp); ``education`` (2022-01) and
``focus group`` (2021-10) start in the same month at every site and truly do nothing. The shared
pattern over time bends in 2022-01 (every site's rate starts falling faster, as after national
guidance), so a straight trend is wrong exactly when education starts. Noise: a persistent cohort
(most patients are the same from month to month, so the count varies less than binomial sampling:
``kappa`` of the binomial variance) plus AR(1) drift on the logit scale (``rho``), which gives a
Pearson dispersion below 1 and a Durbin–Watson statistic about 0.4 around the true model.
"""

SITES5 = ["A", "B", "C", "D", "E"]
REVIEW_START = {"A": 12, "B": 14, "C": 17, "D": 20, "E": 23}  # month index (0 = 2021-01)
SAME_MONTH = {"education": 12, "focus group": 9}
BASE5 = {"A": -1.9, "B": -1.6, "C": -2.1, "D": -1.8, "E": -2.0}
N5 = {"A": 420, "B": 300, "C": 360, "D": 250, "E": 330}
EFFECTS = ("null", "step", "ramp")
STEP_LOG_OR = float(np.log(0.7))
RAMP_LOG_OR = float(np.log(0.5))  # the level the ramp grows towards
RAMP_RATE = 0.85  # effect at h months since the start: RAMP_LOG_OR * (1 - RAMP_RATE ** (h + 1))


def true_effect(effect: str, since: np.ndarray) -> np.ndarray:
    """The true log odds ratio of ``reviews`` at ``since`` months after its start (NaN/negative: off)."""
    on = since >= 0
    if effect == "null":
        return np.zeros(len(since))
    if effect == "step":
        return np.where(on, STEP_LOG_OR, 0.0)
    return np.where(on, RAMP_LOG_OR * (1 - RAMP_RATE ** (np.maximum(since, 0) + 1)), 0.0)


def truth(effect: str) -> float:
    """True headline: the average log odds ratio over the site-months after each site's start."""
    since = np.concatenate([np.arange(36) - REVIEW_START[s] for s in SITES5])
    return float(true_effect(effect, since)[since >= 0].mean())


def interventions5() -> pd.DataFrame:
    rows = [(s, MONTHS[m], "reviews") for s, m in REVIEW_START.items()]
    rows += [("ALL", MONTHS[m], c) for c, m in SAME_MONTH.items()]
    return pd.DataFrame(rows, columns=["site_id", "start", "category"])


def simulate5(rng: np.random.Generator, effect: str = "ramp", *, rho: float = 0.95, sd: float = 0.03,
              kappa: float = 0.05, with_truth: bool = False):
    """One seeded replicate (binomial rows ``site_id, period, numerator, denominator``); with
    ``with_truth`` also the true probability of each row (to measure the noise around it)."""
    t = np.arange(36)
    shared = -0.004 * t - 0.012 * np.maximum(t - 12, 0) + 0.06 * np.cos(2 * np.pi * (t % 12) / 12)
    rows = []
    for s in SITES5:
        u = np.empty(36)
        u[0] = rng.normal(0, sd / np.sqrt(1 - rho ** 2))
        for i in range(1, 36):
            u[i] = rho * u[i - 1] + rng.normal(0, sd)
        eta = BASE5[s] + shared + true_effect(effect, t - REVIEW_START[s]) + u
        p = 1 / (1 + np.exp(-eta))
        n = N5[s] + np.round(5 * np.sin(t / 6)).astype(int)  # a slowly changing register
        y = np.clip(np.round(n * p + np.sqrt(kappa * n * p * (1 - p)) * rng.normal(size=36)), 0, n)
        p_true = 1 / (1 + np.exp(-(eta - u)))
        rows += [(s, MONTHS[i], int(y[i]), int(n[i]), p_true[i]) for i in range(36)]
    out = pd.DataFrame(rows, columns=["site_id", "period", "numerator", "denominator", "p_true"])
    return out if with_truth else out.drop(columns="p_true")


def noise_checks(mv: pd.DataFrame) -> tuple[float, float]:
    """Pearson dispersion and within-site Durbin–Watson of the noise around the true model."""
    y, n, p = mv["numerator"].to_numpy(float), mv["denominator"].to_numpy(float), mv["p_true"].to_numpy(float)
    r = (y - n * p) / np.sqrt(n * p * (1 - p))
    site = mv["site_id"].to_numpy()
    same = site[1:] == site[:-1]
    return float(np.mean(r ** 2)), float(np.sum(np.diff(r)[same] ** 2) / np.sum(r ** 2))


#: analyses compared in the simulation: name -> keyword arguments of ``fit`` ("default" = none).
ANALYSES = {
    "default": {},  # event_time, the wider of quasi-likelihood and cluster-robust
    "event_time, quasi-likelihood": {"impact": "event_time", "interval": "model"},
    "event_time, cluster-robust": {"impact": "event_time", "interval": "cluster"},
    "ramp, cluster": {"impact": "ramp", "interval": "cluster"},
    "step, cluster": {"impact": "step", "interval": "cluster"},
    "step, quasi-likelihood": {"impact": "step", "interval": "model"},
    "ITS against a trend": {"time_effects": "trend", "impact": "step", "interval": "model", "harmonics": 1},
}


def replicate5(effect: str, analyses: dict[str, dict], reps: int, seed: int = 2026) -> pd.DataFrame:
    """Fit every analysis to the same ``reps`` seeded replicates; one row per replicate, analysis and
    category: ``estimate``, ``low``, ``high`` (model scale, NaN when not estimated), ``truth``,
    ``covered``, ``claim`` (interval excludes no change) and ``wrong`` (a claim opposite to the truth
    or any claim where the truth is no change)."""
    import warnings

    from qieval.attribution import fit

    rng = np.random.default_rng(seed)
    iv = interventions5()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(reps):
            mv = simulate5(rng, effect)
            for name, kw in analyses.items():
                eff = fit(mv, iv, **kw).effects.set_index("category")
                for cat in ("reviews", *SAME_MONTH):
                    t = truth(effect) if cat == "reviews" else 0.0
                    est, lo, hi = (float(eff.loc[cat, k]) for k in ("estimate", "estimate_low", "estimate_high"))
                    claim = bool(np.isfinite(lo) and (lo > 0 or hi < 0))
                    wrong = claim and (t == 0 or np.sign(est) != np.sign(t))
                    rows.append({"effect": effect, "analysis": name, "rep": r, "category": cat, "truth": t,
                                 "estimate": est, "low": lo, "high": hi,
                                 "covered": bool(lo <= t <= hi) if np.isfinite(lo) else np.nan,
                                 "claim": claim, "wrong": wrong})
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per effect setting, analysis and category: estimated share, bias, RMSE, coverage, claims."""
    def one(g):
        est = g["estimate"].dropna()
        return pd.Series({"estimated": g["estimate"].notna().mean(),
                          "truth": g["truth"].iloc[0],
                          "bias": (est - g.loc[est.index, "truth"]).mean() if len(est) else np.nan,
                          "rmse": np.sqrt(((est - g.loc[est.index, "truth"]) ** 2).mean()) if len(est) else np.nan,
                          "coverage": g["covered"].dropna().astype(float).mean() if len(est) else np.nan,
                          "claims": g["claim"].mean(), "false_claims": g["wrong"].mean()})
    return df.groupby(["effect", "analysis", "category"], sort=False).apply(one, include_groups=False)


class single_threaded_blas:
    """Context manager: one OpenBLAS thread while fitting many small models (numpy's bundled
    OpenBLAS otherwise starts a thread per core, which on a shared machine costs more than it
    saves for 200 x 100 matrices). Does nothing if the library is not found."""

    def __enter__(self):
        import ctypes
        import glob
        import os

        self._lib, self._old = None, None
        libs = os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*")
        for path in glob.glob(libs):
            try:
                lib = ctypes.CDLL(path)
                self._set, get = lib.scipy_openblas_set_num_threads64_, lib.scipy_openblas_get_num_threads64_
            except (OSError, AttributeError):
                continue
            self._old = get()
            self._set(1)
            break
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            self._set(self._old)
        return False
