"""Apply the rules to every site and round: tidy tables, the status table and the plain-English
summary commissioners read first.

What: :func:`evaluate` turns validated assessments + linked-measure checks into
:class:`Evaluation` (``standards``: site × round × standard; ``rounds``: site × round;
``status``: one row per site with status and reasons). Why: the report, the CSV and the tests must
read the same numbers, computed once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..format import csv_text, write_atomic
from . import status_rules
from ..io.standards import Framework

STATUS_COLUMNS = ["site_id", "site_name", "status", "history", "first_accredited", "latest_round",
                  "assessed_on", "standards_met", "standards_total", "measures_met", "measures_total",
                  "contradictions", "reasons"]


@dataclass
class Evaluation:
    """Tidy results of the rules (see module docstring)."""

    standards: pd.DataFrame
    rounds: pd.DataFrame
    checks: pd.DataFrame
    status: pd.DataFrame


def fmt_value(value: float, decimals: int = 2) -> str:
    return "no data" if pd.isna(value) else f"{value:.{decimals}f}"


def standard_rows(assessments: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Site × assessed round × every standard (a standard missing from a round: level NA, not met)."""
    rule = framework.accreditation
    keys = assessments[["site_id", "round_no", "round"]].drop_duplicates()
    grid = keys.merge(pd.DataFrame({"standard_id": [s.id for s in framework.standards],
                                    "order": range(len(framework.standards))}), how="cross")
    out = grid.merge(assessments[["site_id", "round_no", "standard_id", "level", "evidence", "assessed_on"]],
                     on=["site_id", "round_no", "standard_id"], how="left")
    out["assessed"] = out["level"].notna()
    out["claimed"] = [status_rules.claimed_met(lv, rule) for lv in out["level"]]
    out["met"] = [status_rules.standard_met(lv, ev, rule) for lv, ev in zip(out["level"], out["evidence"])]
    return out.sort_values(["site_id", "round_no", "order"], kind="stable").reset_index(drop=True)


def round_rows(standards: pd.DataFrame, checks: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Site × round: standards met, measures meeting, accredited."""
    rule = framework.accreditation
    rows = []
    at = checks.groupby(["site_id", "round_no"], sort=False).indices if len(checks) else {}
    for (site, k, name), g in standards.groupby(["site_id", "round_no", "round"], sort=True):
        c = checks.take(at.get((site, k), []))  # this site's checks in this round (grouped once)
        rows.append({"site_id": site, "round_no": k, "round": name,
                     "assessed_on": g["assessed_on"].max(), "standards_met": int(g["met"].sum()),
                     "standards_total": len(g), "measures_met": int(c["meets"].sum()),
                     "measures_total": len(c),
                     "accredited": status_rules.round_accredited(list(g["met"]), list(c["meets"]), rule)})
    return pd.DataFrame(rows, columns=["site_id", "round_no", "round", "assessed_on", "standards_met",
                                       "standards_total", "measures_met", "measures_total", "accredited"])


def _shortfalls(latest: pd.DataFrame, framework: Framework) -> list[str]:
    """Why the standards of the latest round are not met, one phrase per standard."""
    rule, out = framework.accreditation, []
    for r in latest.itertuples(index=False):
        title = f"{r.standard_id} {framework.standard(r.standard_id).title.lower()}"
        if not r.assessed:
            out.append(f"{title}: not assessed in {r.round}")
        elif not r.claimed:
            out.append(f"{title}: level {int(r.level)}, below {rule.min_level}")
        elif not r.met:
            out.append(f"{title}: level {int(r.level)} but no evidence given")
    return out


WORDS = {">=": "at least", "<=": "at most"}
#: How each status reads in the summary sentences (the CSV carries the bare status).
STATUS_WORDS = {"accredited": "accredited", "progressing": "progressing towards accreditation",
                "not yet": "not yet progressing (status: not yet)"}


def shown_value(c, policy=None) -> str:
    """A check's value as published: the policy's marker when a small-number ``policy`` is enabled
    and the window's numerator or denominator is small (commissioner/public copies), else
    :func:`fmt_value`."""
    if policy is not None and policy.enabled and not pd.isna(c.value) and (
            policy.is_small(c.numerator) or policy.is_small(c.denominator)):
        return policy.marker
    return fmt_value(c.value, c.decimals)


def _measure_phrase(c, policy=None) -> str:
    """E.g. ``S1 register size 0.39% in Jan 2023 to Mar 2023, meets the threshold of at
    least 0.4%`` (or ``does not meet``); the value is the marker when ``policy`` suppresses it."""
    months = f"{c.window_start:%b %Y} to {c.window_end:%b %Y}"
    unit = c.label if c.label == "%" else f" {c.label}"
    threshold = f"{WORDS[c.comparison]} {c.threshold:g}{unit}"
    if pd.isna(c.value):
        return f"{c.standard_id} {c.name}: no data in {months} to check the threshold of {threshold}"
    word = "meets" if c.meets else "does not meet"
    return (f"{c.standard_id} {c.name} {shown_value(c, policy)}{unit} in {months}, "
            f"{word} the threshold of {threshold}")


def _site_row(site: str, name: str, standards: pd.DataFrame, rounds: pd.DataFrame, checks: pd.DataFrame,
              framework: Framework, policy=None) -> dict:
    rule = framework.accreditation
    s, r = standards.loc[standards["site_id"] == site], rounds.loc[rounds["site_id"] == site]
    blank = {"site_id": site, "site_name": name, "history": "never", "first_accredited": "",
             "latest_round": "", "assessed_on": "", "standards_met": 0,
             "standards_total": len(framework.standards), "measures_met": 0,
             "measures_total": len(framework.linked()), "contradictions": 0}
    if r.empty:
        return {**blank, "status": "not yet", "reasons": "not assessed"}
    last = r.iloc[-1]
    latest = s.loc[s["round_no"] == last["round_no"]]
    base = s.loc[s["round_no"] == 0].set_index("standard_id")["level"]
    n_improved = sum(status_rules.improved(x.level, base.get(x.standard_id), x.evidence, rule)
                     for x in latest.itertuples(index=False)) if last["round_no"] > 0 else 0
    status = status_rules.site_status(bool(last["accredited"]), n_improved, rule)
    hist = status_rules.history(list(r["accredited"]))
    first = r.loc[r["accredited"], "round"]
    c = checks.loc[(checks["site_id"] == site) & (checks["round_no"] == last["round_no"])]
    claims = latest.set_index("standard_id")["level"]
    contra = [x for x in c.itertuples(index=False) if status_rules.contradicted(claims.get(x.standard_id), x.meets, rule)]
    reasons: list[str] = []
    if status == "accredited":
        reasons.append(f"all {last['standards_total']} standards at level {rule.min_level} or above"
                       + (" with evidence" if rule.evidence_required else "")
                       + f" in {last['round']}")
        reasons += [_measure_phrase(x, policy) for x in c.itertuples(index=False)]
        if hist == "sustained":
            reasons.append(f"accredited since {first.iloc[0] if len(first) else last['round']}, sustained")
    else:
        reasons += [f"{x.standard_id} self-assessed as met (level {int(claims[x.standard_id])}) but the "
                    f"linked measure says otherwise: {_measure_phrase(x, policy)}" for x in contra]
        reasons.append(f"{last['standards_met']} of {last['standards_total']} standards met in {last['round']}")
        reasons += _shortfalls(latest, framework)
        reasons += [_measure_phrase(x, policy) for x in c.itertuples(index=False) if not x.meets and x not in contra]
        if hist == "lapsed":
            reasons.append(f"lapsed: accredited in {', '.join(first)}, not in {last['round']}")
        if last["round_no"] == 0:
            reasons.append("only the baseline has been assessed")
        elif status == "progressing":
            reasons.append(f"{n_improved} standard(s) uplifted from baseline")
        else:
            reasons.append("no standard uplifted from baseline with evidence")
    return {**blank, "status": status, "history": hist,
            "first_accredited": first.iloc[0] if len(first) else "",
            "latest_round": last["round"], "assessed_on": f"{last['assessed_on']:%Y-%m-%d}",
            "standards_met": int(last["standards_met"]), "standards_total": int(last["standards_total"]),
            "measures_met": int(c["meets"].sum()), "measures_total": len(c),
            "contradictions": len(contra), "reasons": "; ".join(reasons)}


def _by_site(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each site's rows (in table order), split once instead of filtered per site."""
    if frame.empty:
        return {}
    return {k: frame.take(v) for k, v in frame.groupby("site_id", sort=False).indices.items()}


def evaluate(assessments: pd.DataFrame, checks: pd.DataFrame, framework: Framework,
             sites: list[tuple[str, str]], policy=None) -> Evaluation:
    """Apply the rules. ``sites``: (site_id, site_name) of every site of the project, in order.
    ``policy``: a small-number policy (commissioner/public copies): linked-measure values resting on
    a small numerator or denominator are quoted in the reasons as its marker (statuses unchanged)."""
    standards = standard_rows(assessments, framework)
    rounds = round_rows(standards, checks, framework)
    parts = [_by_site(standards), _by_site(rounds), _by_site(checks)]  # each site's rows, split once
    status = pd.DataFrame([_site_row(sid, name, *(p.get(sid, f.iloc[:0]) for p, f in zip(parts, (standards, rounds, checks))),
                                     framework, policy) for sid, name in sites],
                          columns=STATUS_COLUMNS)
    return Evaluation(standards, rounds, checks, status)


def _names(frame: pd.DataFrame) -> str:
    names = list(frame["site_name"])
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def summary_sentences(status: pd.DataFrame, noun: str = "practices") -> list[str]:
    """The plain-English summary, e.g. ``1 of 4 practices accredited (Riverside …)``.

    One sentence per status (always all three, zeros included, so a reader sees what is absent),
    then one per history worth telling (sustained, lapsed) and one on contradicted self-assessments.
    """
    n = len(status)
    out = []
    for st in status_rules.STATUSES:
        sel = status.loc[status["status"] == st]
        who = f": {_names(sel)}" if len(sel) else ""
        out.append(f"{len(sel)} of {n} {noun} {STATUS_WORDS[st]}{who}.")
    for hist, words in (("sustained", "kept their accreditation from the previous round"),
                        ("lapsed", "were accredited in an earlier round but not in the latest")):
        sel = status.loc[status["history"] == hist]
        if len(sel):
            out.append(f"{len(sel)} of {n} {noun} {words}: {_names(sel)}.")
    sel = status.loc[status["contradictions"] > 0]
    if len(sel):
        out.append(f"At {len(sel)} of {n} {noun} the self-assessment claims a standard is met but the linked "
                   f"measure says otherwise: {_names(sel)}.")
    else:
        out.append("No self-assessment is contradicted by its linked measure.")
    return out


def status_csv_text(status: pd.DataFrame) -> str:
    """The status table as CSV text (``\\n`` line endings, every cell quoted only when needed; a
    cell a spreadsheet would run as a formula, e.g. ``=HYPERLINK(…)``, starts with ``'``:
    :func:`qieval.format.csv_text`)."""
    return csv_text(STATUS_COLUMNS, status[STATUS_COLUMNS].itertuples(index=False))


def write_status_csv(status: pd.DataFrame, path: str | Path) -> Path:
    """Write ``accreditation_status.csv`` atomically (temporary file beside it, then os.replace),
    so a reader never sees a half-written file."""
    return write_atomic(path, status_csv_text(status))
