"""Over-dispersion of counts and proportions: is a p, u or c chart the right chart for the data?

A p, u or c chart takes its limits from a binomial or Poisson model: sigma = sqrt(p̄(1 − p̄)/n),
sqrt(ū/n) or sqrt(c̄). With large denominators (thousands of attendances a month) real data vary
far more than that model allows — day-to-day conditions, case mix, staffing — so the limits
become too narrow and most points fall outside them ("over-dispersion"; Laney 2002; Mohammed &
Laney 2006; Spiegelhalter 2005 for funnel plots).

Two figures from the baseline points, standardised as z_i = (y_i − centre) / sigma_i:

- Laney's sigma_z = mean |z_i − z_{i−1}| / 1.128 (moving ranges screened once at 3.267 × their
  mean, as the p′/u′ chart itself does): 1 when the model's sigma is right, above 1 when the
  data vary more. A p′ (u′) chart is the p (u) chart with its sigma multiplied by sigma_z.
- the Pearson dispersion statistic X² = Σ z_i² on k − 1 degrees of freedom (k points): under the
  binomial/Poisson model X² follows a χ² distribution, so a small upper-tail p-value says the
  data are over-dispersed.

The data are called over-dispersed when both agree: X² rejects the model at the 5% level *and*
sigma_z > 1 (so an adjustment widens the limits). X² alone also grows with a shift inside the
baseline, which sigma_z (built from moving ranges) mostly ignores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .limits import D2, D4

#: Upper-tail p-value of the Pearson dispersion test below which the model is rejected.
ALPHA = 0.05


@dataclass(frozen=True)
class Dispersion:
    """Over-dispersion figures of one series' baseline (see module docstring)."""

    model: str  # "binomial" (p chart) or "Poisson" (u, c chart)
    points: int  # baseline points used
    sigma_z: float  # Laney's sigma_z (moving-range estimate)
    chi2: float  # Pearson X² = Σ z²
    df: int  # points − 1
    p_value: float  # upper tail of χ²(df) at X²

    @property
    def ratio(self) -> float:
        """Dispersion ratio X² / df (1 when the model fits)."""
        return self.chi2 / self.df if self.df > 0 else float("nan")

    @property
    def over(self) -> bool:
        """Over-dispersed: the χ² test rejects at :data:`ALPHA` and sigma_z > 1."""
        return bool(self.p_value < ALPHA and self.sigma_z > 1)

    def sentence(self) -> str:
        """The evidence in words, e.g. for a chart's 'why this chart' line."""
        p = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.3f}"
        return (f"Laney's σz = {self.sigma_z:.2f} and Pearson X² = {self.chi2:,.1f} on {self.df} df "
                f"({p}) over {self.points} baseline points ({self.model} model)")


def z_scores(numerator: np.ndarray, denominator: np.ndarray | None, kind: str) -> tuple[np.ndarray, str]:
    """Standardised baseline points z_i and the model name.

    ``kind``: ``"p"`` (binomial: p̄ = Σx/Σn, sigma_i = sqrt(p̄(1 − p̄)/n_i)), ``"u"`` (Poisson
    rate: ū = Σx/Σn, sigma_i = sqrt(ū/n_i)) or ``"c"`` (Poisson count: c̄ = mean, sigma = sqrt(c̄)).
    Missing points stay missing (NaN).
    """
    x = np.asarray(numerator, dtype=float)
    if kind == "c":
        centre = np.nanmean(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (x - centre) / np.sqrt(centre), "Poisson"
    n = np.asarray(denominator, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(n))
    centre = x[ok].sum() / n[ok].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "p":
            sd = np.sqrt(centre * (1 - centre) / n)
            model = "binomial"
        elif kind == "u":
            sd = np.sqrt(centre / n)
            model = "Poisson"
        else:
            raise ValueError(f"kind must be 'p', 'u' or 'c', not {kind!r}")
        return np.where(ok, (x / n - centre) / sd, np.nan), model


def laney_sigma_z(z: np.ndarray, screen: bool = True) -> float:
    """Laney's sigma_z: mean moving range of z / 1.128; with ``screen`` moving ranges not below
    3.267 × their mean are dropped once (as qicharts2's p′/u′ charts). A moving range next to a
    missing point is missing, not bridged."""
    z = np.asarray(z, dtype=float)
    mr = np.abs(np.diff(z))
    mr = mr[~np.isnan(mr)]
    if not len(mr):
        return float("nan")
    amr = mr.mean()
    if screen:
        mr = mr[mr < D4 * amr]
        amr = mr.mean() if len(mr) else amr
    return float(amr / D2)


def dispersion(numerator, denominator, kind: str) -> Dispersion:
    """Over-dispersion figures of the baseline points (see :func:`z_scores` for ``kind``)."""
    z, model = z_scores(numerator, denominator, kind)
    finite = z[np.isfinite(z)]
    k = len(finite)
    chi2 = float(np.sum(finite ** 2))
    df = k - 1
    p = float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan")
    return Dispersion(model, k, laney_sigma_z(np.where(np.isfinite(z), z, np.nan)), chi2, df, p)


__all__ = ["Dispersion", "dispersion", "z_scores", "laney_sigma_z", "ALPHA"]
