"""Which intervention categories can the data separate? Checked before any fitting.

A category is reported as *not separable* (no estimate, reason in words) when

* it has fewer than ``min_points`` (default 8) months with its step on at every site: too short a
  post-period to estimate a change (Penfold & Zhang 2013; Turner et al. 2021 discuss what short
  segments can and cannot show), or
* its columns are linearly dependent on the other columns of the design given the fixed effects
  (checked with the numerical rank of the column-scaled design): e.g. two categories introduced in
  the same month at every site have identical indicators, or a category introduced in the same month
  at every site is indistinguishable from the calendar-month effects.

Categories whose indicators are identical form a *collinear group*; the group is refitted as one joint
term (named ``"a + b"``) when that term is itself identified, so their combined change is still
reported in the note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import fast_fit
from .design import Design


GROUP_TAIL = "; the data cannot separate them."


@dataclass
class Verdict:
    """Outcome of the identifiability check."""

    separable: dict[str, bool]
    reasons: dict[str, str]
    groups: list[list[str]] = field(default_factory=list)  # collinear groups refitted jointly


def rank(X: np.ndarray, groups: fast_fit.Groups | None = None) -> int:
    """Numerical rank of ``X`` after scaling each column to unit length (scale-free tolerance).

    ``groups``: the design's absorbed site effects (:attr:`Design.groups`); the rank is then that of
    ``X`` beside the site indicators, from the within-site deviations (exact, no site columns).
    """
    if groups is not None:
        return fast_fit.rank(X, groups)
    if X.shape[1] == 0:
        return 0
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0] = 1.0
    return int(np.linalg.matrix_rank(X / norms, tol=1e-8 * max(X.shape)))


def adds_rank(base: np.ndarray, extra: np.ndarray, groups: fast_fit.Groups | None = None) -> bool:
    """True if every column of ``extra`` is linearly independent of ``base`` (and of the absorbed site
    effects ``groups``) and of each other."""
    return rank(np.column_stack([base, extra]), groups) - rank(base, groups) == extra.shape[1]


def _on_months(starts: pd.DataFrame, category: str) -> str:
    rows = [(s, p) for s, c, p in zip(starts["site_id"].tolist(), starts["category"].tolist(),
                                      starts["on_period"].tolist()) if c == category]
    return ", ".join(f"{pd.Timestamp(p):%Y-%m} at {s}" for s, p in sorted(rows, key=lambda r: r[0]))


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def points_before_after(data: pd.DataFrame, design: Design) -> tuple[dict[str, int], dict[str, int]]:
    """:func:`points_before` and :func:`points_after` in one pass over the step columns."""
    _, site = np.unique(data["site_id"].to_numpy(dtype=object), return_inverse=True)
    n_sites = int(site.max()) + 1 if len(site) else 0
    after, before = {}, {}
    for cat, cols in design.terms.items():
        on = design.since[cat] >= 0 if cat in design.since else design.matrix(cols[:1])[:, 0] > 0
        on_months = np.bincount(site, weights=on, minlength=n_sites)  # months on, per site
        started = on_months > 0
        off = ~on & started[site]  # months before the step at sites where it switched on
        after[cat] = int(on_months.max()) if len(on) else 0
        before[cat] = int(np.bincount(site, weights=off, minlength=n_sites).max()) if len(on) else 0
    return before, after


def points_after(data: pd.DataFrame, design: Design) -> dict[str, int]:
    """Most months with the category's step on at any one site."""
    return points_before_after(data, design)[1]


def points_before(data: pd.DataFrame, design: Design) -> dict[str, int]:
    """Most months before the category's step switched on at any site where it switched on."""
    return points_before_after(data, design)[0]


def _on(design: Design, c: str) -> np.ndarray:
    """Where category ``c`` is on (its step indicator)."""
    return design.since[c] >= 0 if c in design.since else design.matrix(design.terms[c][:1])[:, 0] > 0


NOT_SEPARABLE = "not separable from other changes over time shared by all sites"


def check(data: pd.DataFrame, design: Design, starts: pd.DataFrame, min_points: int = 8) -> Verdict:
    """Decide which categories are separable; see the module docstring for the rules."""
    cats = list(design.terms)
    separable = {c: True for c in cats}
    reasons: dict[str, str] = {}
    before, after = points_before_after(data, design)
    for c in cats:
        if after[c] < min_points:
            separable[c] = False
            reasons[c] = (f"{c} has only {after[c]} month(s) after its start ({_on_months(starts, c)}); "
                          f"at least {min_points} are needed to estimate a change, so it is not estimated.")
        elif before[c] == 0:
            separable[c] = False
            reasons[c] = (f"{c} was in place from the first month of data at every site, so there is no "
                          "before period to compare with.")
    N = design.matrix(design.nuisance)
    cand = [c for c in cats if separable[c]]

    def cols(cs: list[str]) -> np.ndarray:
        return design.matrix([n for c in cs for n in design.terms[c]])

    full = np.column_stack([N, cols(cand)])
    absorbed = design.groups[1] if design.groups is not None else 0
    if rank(full, design.groups) == full.shape[1] + absorbed:  # the usual case: every candidate is identified
        dependent = []
    else:
        dependent = [c for c in cand if not adds_rank(np.column_stack([N, cols([o for o in cand if o != c])]),
                                                      cols([c]), design.groups)]
    # group dependent categories with identical step indicators
    groups: list[list[str]] = []
    for c in dependent:
        for g in groups:
            if np.array_equal(_on(design, c), _on(design, g[0])):
                g.append(c)
                break
        else:
            groups.append([c])
    joint: list[list[str]] = []
    for g in groups:
        for c in g:
            separable[c] = False
        if len(g) > 1:
            when = _on_months(starts, g[0])
            where = "at every site" if starts["site_id"].nunique() > 1 else "at this site"
            reasons_g = f"{_join(g)} started in the same month {where} ({when})" + GROUP_TAIL
            if design.time_effects == "calendar" and starts.loc[starts["category"] == g[0], "on_period"].nunique() == 1:
                reasons_g = (f"{_join(g)} started in the same month at every site where they ran ({when}), so they "
                             f"are {NOT_SEPARABLE} (the calendar-month effects) or from each other" + GROUP_TAIL)
            joint.append(g)
            for c in g:
                reasons[c] = reasons_g
        else:
            c = g[0]
            same_month = starts.loc[starts["category"] == c, "on_period"].nunique() == 1
            if design.time_effects == "calendar" and same_month:
                reasons[c] = (f"{c} started in the same month at every site where it ran ({_on_months(starts, c)}), "
                              f"so it is {NOT_SEPARABLE} (the calendar-month effects); it is not estimated, and "
                              "its before/after is shown descriptively.")
            else:
                reasons[c] = (f"{c}'s indicator is a combination of the other terms in the model "
                              f"(starts: {_on_months(starts, c)}), so its change cannot be separated; "
                              "it is not estimated.")
    return Verdict(separable=separable, reasons=reasons, groups=joint)
