"""SQUIRE 2.0 title and abstract items as a checklist (Ogrinc et al. BMJ Qual Saf 2016;25:986-92).

Item 1 (title): indicate that the manuscript concerns an initiative to improve healthcare. Item 2a:
adequate information to aid searching and indexing. Item 2b: summarise all key information using
the publication's abstract format or a structured summary such as background, local problem,
methods, interventions, results, conclusions — one row each here. A row is *covered* when the check
in its ``evidence`` holds; the checks are mechanical, so a human still reads the abstract.
"""

from __future__ import annotations

import re

import pandas as pd

from .compose import Abstract, Section
from .facts import Fact

IMPROVEMENT_WORDS = r"improv\w*|quality|\bQI\b|\bPDSA\b|safety|patient-centred|efficien\w*|equit\w*"


def _section(abstract: Abstract, key: str) -> Section | None:
    return next((s for s in abstract.sections if key in s.key.split("+")), None)


def _row(item: str, requirement: str, covered: bool, where: str, evidence: str) -> dict:
    return {"item": item, "requirement": requirement, "covered": bool(covered), "where": where,
            "evidence": evidence}


def squire_checklist(abstract: Abstract, facts: dict[str, Fact], cycles: pd.DataFrame) -> pd.DataFrame:
    """Tidy checklist: ``item``, ``requirement``, ``covered`` (bool), ``where``, ``evidence``."""
    used = [k for _, k in abstract.used_facts()]
    text = " ".join(s.text for s in abstract.sections)
    rows = []
    hit = re.search(IMPROVEMENT_WORDS, abstract.title, re.IGNORECASE)
    rows.append(_row("1 Title", "Indicates that the work is an initiative to improve healthcare", hit is not None,
                     "Title", f"title says {hit.group(0)!r}" if hit else "no improvement wording in the title "
                     "(e.g. 'a quality improvement project')"))
    methods = _section(abstract, "methods")
    setting = bool(methods and any(p.source in ("abstract.setting", "project.network") for p in methods.parts))
    kw = abstract.keywords
    rows.append(_row("2a Searching and indexing", "Adequate information to aid searching and indexing",
                     bool(kw) and setting, "Keywords; Methods",
                     (f"keywords: {', '.join(kw)}" if kw else "no keywords (abstract.keywords)") + "; "
                     + ("setting named" if setting else "setting not named (abstract.setting)")))
    background = _section(abstract, "background")
    rows.append(_row("2b Background", "Why the work was needed", bool(background and background.text),
                     background.heading if background else "–", "author-written background (abstract.background)"))
    base = [facts[k].measure_id for k in used if k.endswith(".baseline")]
    rows.append(_row("2b Local problem", "The local problem, quantified", bool(base),
                     "Results", f"baseline values of {len(base)} measure(s) with intervals" if base
                     else "no baseline values in the text"))
    mtext = methods.text if methods else ""
    design = [w for w in ("PDSA", "control chart", "segmented regression") if w.lower() in mtext.lower()]
    rows.append(_row("2b Methods", "Design and analysis", bool(methods) and "PDSA" in design and len(design) >= 2,
                     methods.heading if methods else "–",
                     "names " + ", ".join(design) if design else "no design or analysis named"))
    cats = sorted(set(cycles["category"])) if len(cycles) else []
    named = [c for c in cats if re.search(rf"\b{re.escape(c)}\b", text, re.IGNORECASE)]
    rows.append(_row("2b Interventions", "The changes made (PDSA categories)", bool(cats) and named == cats,
                     "Methods; Results", f"{len(named)} of {len(cats)} PDSA categories named"
                     + (f" (missing: {', '.join(sorted(set(cats) - set(named)))})" if set(cats) - set(named) else "")))
    latest = [facts[k].measure_id for k in used if k.endswith(".latest")]
    attributed = sorted({facts[k].measure_id for k in used if ".attribution." in k})
    rows.append(_row("2b Results", "Key results with their uncertainty", bool(latest), "Results",
                     f"{len(latest)} measure(s) baseline and latest with 95% intervals; attribution for "
                     f"{len(attributed)} measure(s)"))
    conclusion = _section(abstract, "conclusion")
    rows.append(_row("2b Conclusions", "What the work means, limitations, next steps",
                     bool(conclusion and conclusion.text), conclusion.heading if conclusion else "–",
                     "author-written conclusion (abstract.conclusion)"))
    return pd.DataFrame(rows, columns=["item", "requirement", "covered", "where", "evidence"])
