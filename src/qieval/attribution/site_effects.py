"""Absorbed site fixed effects in the quantities that need them: linear predictors and variances.

With many sites the design has no site columns (:mod:`qieval.attribution.fast_fit`). A row of the
dense design is ``x = (e_g, z)``: the indicator of its site ``g`` and its other columns ``z``. Every
covariance the fit reports for the dense design has the block form

    V = [[diag(D) + M C M' - M G' - G M', G - M C], [G' - C M', C]]

where ``C`` is the covariance of the ``z`` coefficients, ``M`` the weighted site means of ``z`` (the
last IRLS weights) and ``D`` each site effect's own variance given the others: the partitioned
inverse of ``X'WX`` gives ``D_g = φ / w_g`` for the quasi-likelihood covariance (dispersion ``φ``,
``w_g`` the IRLS weight summed over site ``g``); for the cluster-robust one ``D_g = 0``, because at
the estimate the residuals of a canonical-link GLM sum to zero within each site, so the site
columns' scores vanish and the sandwich keeps only ``C``. ``G`` (sites × columns) is zero for both;
the panel Newey–West covariance has ``D`` and ``G`` from the scores of neighbouring months
(:func:`qieval.attribution.fast_fit._hac_panel`). Then, without forming ``V``:

* a row's variance ``x' V x = D_g + 2 (z - m_g)' G_g + (z - m_g)' C (z - m_g)``;
* a weighted sum of rows ``a = Σ v_i x_i = (s, r)`` (``s`` the weight per site, ``r = Σ v_i z_i``)
  has ``a' V a = Σ_g s_g² D_g + 2 d' G' s + d' C d`` with ``d = r - M' s``.

(Expand ``V`` with ``r = d + M' s``.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SiteEffects:
    """The absorbed site effects of a fit and their part of one covariance (see the module docstring)."""

    code: np.ndarray  # each row's site position
    effects: np.ndarray  # the site effects (linear-predictor scale)
    means: np.ndarray  # M: sites × columns, weighted site means of the design's other columns
    variance: np.ndarray  # D: each site effect's own variance given the other coefficients
    cross: np.ndarray | None = None  # G: sites × columns (None: zero)

    @property
    def n_sites(self) -> int:
        return len(self.effects)

    def linear_predictor(self, Z: np.ndarray, b: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``Z b`` plus each row's site effect (``rows``: which rows of the data ``Z`` holds)."""
        code = self.code if rows is None else self.code[rows]
        return Z @ b + self.effects[code]

    def row_variance(self, Z: np.ndarray, C: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``x_i' V x_i`` for every row (see the module docstring)."""
        code = self.code if rows is None else self.code[rows]
        d = Z - self.means[code]
        out = self.variance[code] + row_quadratic(d, C)
        if self.cross is not None:
            out += 2 * np.sum(d * self.cross[code], axis=1)
        return out

    def combination_variance(self, v: np.ndarray, r: np.ndarray, C: np.ndarray,
                             rows: np.ndarray | None = None) -> float:
        """``a' V a`` for ``a = Σ_i v_i x_i`` with ``r = Σ_i v_i z_i`` given (``v`` over ``rows``)."""
        code = self.code if rows is None else self.code[rows]
        s = np.bincount(code, weights=v, minlength=self.n_sites)
        d = r - self.means.T @ s
        cross = 0.0 if self.cross is None else 2 * float(d @ (self.cross.T @ s))
        return float(s ** 2 @ self.variance + d @ C @ d) + cross


def row_quadratic(A: np.ndarray, V: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """``a_i' V a_i`` for every row ``a_i`` of ``A`` (one matrix product per chunk of rows, so the
    memory stays bounded for hundreds of thousands of site-months)."""
    out = np.empty(A.shape[0])
    for a in range(0, A.shape[0], chunk):
        block = A[a:a + chunk]
        out[a:a + chunk] = np.sum((block @ V) * block, axis=1)
    return out
