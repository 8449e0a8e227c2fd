"""The plain-English "What this means" box at the top of a site or network report, for a reader
(a commissioner, a board) who will not read SPC charts, and the unit-aware wording of values.

Every sentence is built from the computed results (the SPC verdict of each measure's chart and the
baseline vs intervention summary), so it says only what the charts and tables below show:

- *improving* / *getting worse*: the chart's latest point is a special cause (Making Data Count)
  in the better / worse direction; *changed*: a special cause on a measure with no better
  direction; *no change beyond normal variation*: common-cause variation only; *too few points*:
  no icon (fewer than 12 points).
- targets: the MDC assurance (target consistently met / missed / hit and miss) and the latest value.

Numbers resting on counts the audience's small-number policy suppresses are left out (and, under
such a policy, the latest period's value, whose own counts the summary does not carry).
"""

from __future__ import annotations

from html import escape

import pandas as pd

from ..config import Measure
from ..format import fmt_month, fmt_value
from .html import Html

#: Groups of measures, in the order they are reported.
VERDICTS = ("improvement", "concern", "neutral", "common_cause", "unknown")

_GROUP_WORDS = {
    "improvement": "Improving",
    "concern": "Getting worse",
    "neutral": "Changed (no direction is set as better)",
    "common_cause": "No change beyond normal variation",
    "unknown": "Too few data points to judge yet (SPC needs at least 12)",
}

_ASSURANCE = {"pass": "consistently met", "fail": "consistently missed",
              "inconsistent": "hit and miss (met in some periods, missed in others)"}


def measure_decimals(m: Measure) -> int:
    """Decimal places of a measure's values: its ``decimals``; for a count without them, 0."""
    if m.unit == "count" and "decimals" not in m.model_fields_set:
        return 0
    return m.decimals


def value_label(m: Measure) -> str | None:
    """The unit written after a value in text: ``unit_label``, else ``%`` / ``per 1,000``; none for
    a count or for a rate per 1 (a count has no denominator: never "per unit of denominator")."""
    if m.unit_label:
        return m.unit_label
    if m.unit == "percent":
        return "%"
    if m.unit == "rate" and m.per != 1:
        return f"per {m.per:,}"
    return None


def measure_value(m: Measure, x) -> str:
    """A value of measure ``m`` in running text: ``45.2%``, ``6,092 attendances``, ``0.31 per 1,000``."""
    return fmt_value(x, m.unit, measure_decimals(m), value_label(m))


def verdict(spc) -> str:
    """``improvement``, ``concern``, ``neutral``, ``common_cause`` or ``unknown`` for a MeasureSPC
    (None: no data)."""
    if spc is None or not getattr(spc, "variation", ""):
        return "unknown"
    v = spc.variation
    for kind in ("improvement", "concern", "neutral"):
        if v.startswith(kind):
            return kind
    return "common_cause" if v == "common_cause" else "unknown"


def _small(row, policy) -> bool:
    if policy is None or not policy.enabled:
        return False
    counts = [row.get(k) for k in ("baseline_numerator", "baseline_denominator",
                                   "intervention_numerator", "intervention_denominator")]
    return any(policy.is_small(c) for c in counts if c is not None and pd.notna(c))


def sentences(config, summary: pd.DataFrame, spc: dict, policy=None) -> list[str]:
    """The sentences of the box (plain text), in order: one per group of measures, then targets."""
    rows = {r["measure_id"]: r for r in summary.to_dict(orient="records")}
    groups: dict[str, list[str]] = {k: [] for k in VERDICTS}
    for m in config.measures:
        kind = verdict(spc.get(m.id))
        text = m.title
        r = rows.get(m.id)
        if (kind in ("improvement", "concern", "neutral") and r is not None and not _small(r, policy)
                and pd.notna(r.get("baseline_rate")) and pd.notna(r.get("intervention_rate"))):
            # a count is compared as its mean per period: say so ("2 a week", not "2")
            per = f" a {getattr(config, 'frequency', 'month')}" if m.unit == "count" else ""
            text += (f" (from {measure_value(m, r['baseline_rate'])}{per} at baseline to "
                     f"{measure_value(m, r['intervention_rate'])}{per} in the intervention period)")
        groups[kind].append(text)
    n = len(config.measures)
    out = []
    for kind in VERDICTS:
        if groups[kind]:
            share = "all" if len(groups[kind]) == n else f"{len(groups[kind])} of {n}"
            out.append(f"{_GROUP_WORDS[kind]} ({share} measures): {'; '.join(groups[kind])}.")
    targets = [m for m in config.measures if m.target is not None]
    if not targets:
        out.append("No measure has a target set.")
    for m in targets:
        s = spc.get(m.id)
        r = rows.get(m.id)
        target = target_value(m)
        by = f" by {fmt_month(pd.Timestamp(m.target_date))}" if m.target_date else ""
        said = f"Target for {m.title}: {target}{by}"
        said += "; " + _assurance_words(s, m)
        # the latest period's own counts are not in the summary, so a copy under a small-number
        # policy leaves the latest value out rather than risk showing one resting on a small count
        published = policy is None or not policy.enabled
        if r is not None and pd.notna(r.get("latest_rate")) and published:
            latest = float(r["latest_rate"])
            met = latest >= m.target if m.improvement_direction != "decrease" else latest <= m.target
            said += (f"; the latest value, {measure_value(m, latest)} in {fmt_month(r['latest_period'])}, "
                     + ("meets it" if met else "does not meet it"))
        out.append(said + ".")
    return out


def target_value(m: Measure) -> str:
    """A target as written in the params: ``100%``, not ``100.0%``."""
    t = m.target
    if t is not None and float(t) == round(float(t)):
        return fmt_value(t, m.unit, 0, value_label(m))
    return measure_value(m, t)


def _assurance_words(spc, m: Measure) -> str:
    """Whether the chart says the target will be met reliably, and why not when it cannot say."""
    if spc is None:
        return "no data yet"
    assurance = getattr(spc, "assurance", "")
    if assurance in _ASSURANCE:
        return _ASSURANCE[assurance] + " going by the chart's limits"
    if m.improvement_direction == "neutral":
        return "no better direction is set, so the chart cannot say whether it is met"
    shown = spc.result.loc[spc.result["y"].notna()] if "y" in spc.result else spc.result.iloc[0:0]
    if len(shown) and "lcl" in shown and (pd.isna(shown["lcl"].iloc[-1]) or pd.isna(shown["ucl"].iloc[-1])):
        return "the chart has no control limits to judge whether it will be met reliably"
    return "the chart cannot judge whether it will be met reliably"


def what_this_means(config, summary: pd.DataFrame, spc: dict, where: str, policy=None) -> Html:
    """The box as HTML: a heading, one line saying what the verdicts rest on, then the sentences."""
    items = "".join(f"<li>{escape(s)}</li>" for s in sentences(config, summary, spc, policy))
    return Html(
        '<section class="what-this-means" aria-labelledby="what-this-means">'
        '<h2 id="what-this-means">What this means</h2>'
        f"<p>In plain terms, for {escape(where)}: each measure's latest data point judged on its "
        "statistical process control chart (as in NHS England's Making Data Count), and the "
        "baseline and intervention periods compared.</p>"
        f"<ul>{items}</ul></section>")


def population_text(sizes) -> str:
    """The sites' population (``list_size``) for a report header: the total, saying how many
    sites give one when some do not (a trust, a region), or "not given"."""
    s = pd.Series(sizes, dtype="Float64")
    known = int(s.notna().sum())
    if known == 0:
        return "not given"
    total = f"{int(s.sum()):,}"
    return total if known == len(s) else f"{total} ({known} of {len(s)} sites give one)"


def population_item(config, sizes) -> list[tuple[str, str]]:
    """The header line of the sites' population, e.g. ``[("Registered patients", "37,107")]``;
    none where no site gives one (a trust, a region: nothing to say)."""
    text = population_text(sizes)
    if text == "not given":
        return []
    label = config.population_label
    return [(label[:1].upper() + label[1:], text)]


def population_value(size):
    """A list size for JSON results: an int, or None where the site gives none."""
    return None if size is None or pd.isna(size) else int(size)
