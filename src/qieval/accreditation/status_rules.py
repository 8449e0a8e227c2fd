"""Accreditation status rules, one small function per rule (the rule's parameters come from the
framework file, :class:`qieval.io.standards.Rule`).

Semantics (what the report and ``accreditation_status.csv`` mean):

- a standard is **claimed met** when its self-assessed level is at least ``min_level``; it is
  **met** when, in addition, it has an evidence reference (if ``evidence_required``). A standard
  not assessed in a round is not met in that round.
- a linked measure **meets** its threshold when the pooled value is ``>=`` (or ``<=``) the
  threshold. **A tie counts as meeting it** (≥ includes equality), compared with a relative
  tolerance of 1e-9 so that floating-point rounding (0.4 from 40/10,000 × 100) cannot turn a tie
  into a miss. No data → does not meet.
- a round is **accredited** when every standard of the framework is met and (if
  ``measures_must_meet``) every linked measure meets its threshold.
- a site's **status** is judged on its latest assessed round: ``accredited``; else
  ``progressing`` when at least ``progressing_min_improved`` standards are at a higher level than at
  the site's baseline (with evidence, if required); else ``not yet`` (including a site assessed at
  baseline only, and a site never assessed).
- **history** over rounds: ``sustained`` (accredited in the latest round and in the site's previous
  assessed round), ``new`` (accredited in the latest round but not the previous one),
  ``lapsed`` (accredited in an earlier round, not in the latest), ``never``.
- a **contradiction**: a standard claimed met whose linked measure does not meet its threshold —
  the report says so, and the site cannot be accredited.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..io.standards import Rule

STATUSES = ("accredited", "progressing", "not yet")
HISTORIES = ("sustained", "new", "lapsed", "never")
TIE_TOLERANCE = 1e-9


def has_evidence(evidence: object) -> bool:
    """A non-blank evidence reference."""
    return isinstance(evidence, str) and evidence.strip() != ""


def claimed_met(level: int | None, rule: Rule) -> bool:
    """The self-assessment says the standard is met (level at least ``min_level``)."""
    return level is not None and not _missing(level) and int(level) >= rule.min_level


def standard_met(level: int | None, evidence: object, rule: Rule) -> bool:
    """Met: claimed met, and backed by an evidence reference when the rule requires one."""
    return claimed_met(level, rule) and (has_evidence(evidence) or not rule.evidence_required)


def measure_meets(value: float | None, comparison: str, threshold: float) -> bool:
    """The pooled value meets the threshold; equality meets it (see module docstring)."""
    if value is None or _missing(value):
        return False
    slack = TIE_TOLERANCE * max(1.0, abs(threshold))
    if comparison == ">=":
        return value >= threshold - slack
    if comparison == "<=":
        return value <= threshold + slack
    raise ValueError(f"unknown comparison {comparison!r}")


def round_accredited(standards_met: Sequence[bool], measures_meet: Sequence[bool], rule: Rule) -> bool:
    """Every standard met and (if required) every linked measure meeting its threshold.

    ``standards_met`` has one entry per standard of the framework (False for one not assessed).
    """
    if not standards_met or not all(standards_met):
        return False
    return all(measures_meet) if rule.measures_must_meet else True


def improved(level_now: int | None, level_baseline: int | None, evidence_now: object, rule: Rule) -> bool:
    """A standard uplifted from baseline: a higher level now, with evidence when required."""
    if level_now is None or level_baseline is None or _missing(level_now) or _missing(level_baseline):
        return False
    return int(level_now) > int(level_baseline) and (has_evidence(evidence_now) or not rule.evidence_required)


def site_status(accredited_latest: bool, n_improved: int, rule: Rule) -> str:
    """accredited / progressing / not yet for the latest round."""
    if accredited_latest:
        return "accredited"
    return "progressing" if n_improved >= rule.progressing_min_improved else "not yet"


def history(accredited_by_round: Sequence[bool]) -> str:
    """sustained / new / lapsed / never from the accreditation of each assessed round, in order."""
    if not accredited_by_round:
        return "never"
    *earlier, latest = accredited_by_round
    if latest:
        return "sustained" if earlier and earlier[-1] else "new"
    return "lapsed" if any(earlier) else "never"


def contradicted(level: int | None, meets: bool, rule: Rule) -> bool:
    """The self-assessment claims the standard is met but its linked measure says otherwise."""
    return claimed_met(level, rule) and not meets


def _missing(x: object) -> bool:
    try:
        return x is None or (isinstance(x, float) and math.isnan(x)) or bool(x != x)
    except TypeError:  # pd.NA
        return True
