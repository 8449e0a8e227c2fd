"""Seeded demo of standards accreditation (seed 001: eight local standards for supportive
and palliative care in primary care, baseline → uplift with evidence → accredited, re-assessed).

Writes ``params/standards/palliative_care.yaml`` (the framework, :data:`FRAMEWORK`) and
``data/deprescribing/standards_assessments.csv`` (the four demo practices × 8 standards × 3 rounds:
baseline April 2021, follow-up 1 October 2022, follow-up 2 April 2023).

Linked measures are pooled over the 3 whole months before the month of each round's assessment:
follow-up 1 (October 2022) is checked on July–September 2022 and follow-up 2 (April 2023) on
January–March 2023, the latest three months of the demo data. Thresholds, and the demo data they
meet (percentages pooled from ``data/deprescribing/measure_values.csv``):

============  ==============================  ==================================
standard      S1 register ≥ 0.4% of list      S4 conversation offered ≥ 30%
============  ==============================  ==================================
Jul–Sep 2022  Riverside 0.45, Abbey View 0.43,  Riverside 38.0, Hillside 35.6,
              Hillside 0.38, Meadowbank 0.23    Abbey View 33.3, Meadowbank 8.5
Jan–Mar 2023  Riverside 0.41, Abbey View 0.39,  Hillside 39.2, Abbey View 37.9,
              Hillside 0.37, Meadowbank 0.28    Riverside 34.7, Meadowbank 12.3
============  ==============================  ==================================

So, with the self-assessments generated below:

- **Riverside**: every standard at level 2–3 with evidence at both follow-ups and both measures met
  both times → *accredited*, history *sustained*.
- **Abbey View**: accredited at follow-up 1 (register 0.43%); at follow-up 2 it still self-assesses
  every standard as met, but its register is 0.39% of list size, below 0.4% → the report says the
  self-assessment of S1 is contradicted by the data; *progressing* (uplifted from baseline),
  history *lapsed*.
- **Hillside**: uplifted most standards, but S1 (identification) honestly at level 1 and S7 (carer
  support) at level 2 without evidence → *progressing*, never accredited.
- **Meadowbank**: no staff cover for the MDT (seed 000); levels unchanged from baseline → *not yet*.

Levels of the standards that do not decide a status are drawn with a fixed seed; evidence
references are taken from the framework's evidence lists; the output is the same bytes every time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240001
FRAMEWORK_ID = "palliative_care"
PROJECT_ID = "deprescribing"

#: Assessment dates per round (all standards of a site assessed the same day).
ROUND_MONTHS = {"baseline": "2021-04", "follow-up 1": "2022-10", "follow-up 2": "2023-04"}
STANDARDS = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"]
ASSESSORS = ["Palliative care facilitator (J. Hughes)", "Palliative care facilitator (R. Okafor)"]

FRAMEWORK = """\
# Standards for supportive and palliative care in primary care: a framework written by
# `qieval demo` (see qieval/demo/accreditation.py). Modelled on seed 001 (eight local standards,
# practices assessed at baseline, uplifting with supporting evidence, accredited and re-assessed).
# Edit freely: the standards, levels, evidence, linked measures and the accreditation rule are data.
framework:
  id: palliative_care
  title: Standards for supportive and palliative care in primary care
  source: >-
    Local standards for supportive and palliative care (seed 001: after the End of Life Care
    Strategy 2008 and the KITE project 2006-2009); wording written for qieval's demo.
levels:
  0: not in place
  1: developing
  2: established
  3: embedded
accreditation:
  # A standard is met at level >= min_level with an evidence reference; a site is accredited in a
  # round when every standard is met and every linked measure meets its threshold (a value equal
  # to the threshold meets it). Linked measures are pooled over the whole months before the month
  # of the round's assessment. Not accredited but at least progressing_min_improved standards
  # above their baseline level (with evidence) = progressing; otherwise not yet.
  min_level: 2
  evidence_required: true
  measures_must_meet: true
  measure_window_months: 3
  progressing_min_improved: 1
standards:
  - id: S1
    title: Identifying patients in their last 6 to 12 months of life
    met: >-
      The practice uses a recognised prompt (GSF Proactive Identification Guidance or SPICT) to
      identify patients with any diagnosis, including frailty and dementia, who may be in their
      last 6 to 12 months of life, and adds them to the palliative care register.
    levels:
      0: No systematic identification; patients added only when a specialist service asks.
      1: Cancer patients identified; tool known but not used for other conditions.
      2: Tool used by every clinician for all conditions; monthly search of the clinical system.
      3: Register size is reviewed against the expected 1% of list size and gaps acted on.
    evidence:
      - Clinical system search report (register additions by diagnosis)
      - Identification tool in the practice's clinical templates
    measure:
      id: register_prevalence
      name: register size as % of list size
      comparison: ">="
      threshold: 0.4
      rationale: >-
        About 1% of a list dies each year and most could be identified; 0.4% is the local interim
        threshold for a practice that identifies beyond cancer (demo practices start at about 0.2%).
  - id: S2
    title: Managing the palliative care register
    met: >-
      A named lead keeps the register: patients coded on entry, needs and preferences recorded,
      reviewed monthly, removed with the date of death, and shared with out-of-hours services.
    levels:
      0: No register, or a list that is not kept up to date.
      1: A register exists; reviewed occasionally; no named lead.
      2: Named lead; reviewed monthly; coded consistently.
      3: Register audited yearly (place of death, preferences met) and findings acted on.
    evidence:
      - Register with named lead and date of last review
      - Yearly register audit
  - id: S3
    title: Multidisciplinary team meetings
    met: >-
      A palliative care MDT meets at least monthly with GP, district nurse and (when needed)
      pharmacist and specialist palliative care; every register patient is discussed and actions
      are recorded on a coded template.
    levels:
      0: No palliative care MDT.
      1: MDT meets irregularly, or key professionals cannot attend.
      2: Monthly MDT with key professionals; coded template used.
      3: MDT reviews every register patient each quarter and tracks its actions.
    evidence:
      - MDT minutes with attendance
      - Coded MDT template in the clinical system
  - id: S4
    title: Proactive (advance) care planning
    met: >-
      Register patients are offered an advance care planning conversation (preferences, place of
      care and death, DNACPR, medicines review including deprescribing) and the plan is recorded
      and shared.
    levels:
      0: Care planning only in a crisis.
      1: Some patients have a plan; not offered systematically.
      2: Every register patient is offered a conversation; plans recorded in a shared record.
      3: Plans reviewed when needs change; preferences met audited.
    evidence:
      - Coded advance care planning / deprescribing conversations (search report)
      - Shared care records (e.g. EPaCCS) for register patients
    measure:
      id: conversation_offered
      name: register patients offered a deprescribing conversation
      comparison: ">="
      threshold: 30
      rationale: >-
        The demo project's aim is 100% by March 2023; 30% of register patients offered a
        deprescribing conversation in the quarter is the accreditation floor (about a third was
        reached by the published project).
  - id: S5
    title: Communication and co-ordination of care
    met: >-
      Information is handed over to out-of-hours and community services for every register
      patient, with a named key worker, and other services know whom to contact.
    levels:
      0: No handover of palliative care information.
      1: Handover for some patients, on paper or by phone.
      2: Electronic handover for every register patient; key worker named.
      3: Handover checked at the MDT; out-of-hours feedback reviewed.
    evidence:
      - Out-of-hours handover forms or shared record entries
      - Key worker recorded on the register
  - id: S6
    title: Care in the last days of life
    met: >-
      Dying patients have an individualised care plan, anticipatory medicines prescribed and in
      place, a DNACPR decision recorded, and arrangements for verification of death.
    levels:
      0: No planned approach to the last days of life.
      1: Anticipatory medicines prescribed for some patients.
      2: Individualised last days of life plan and anticipatory medicines for every dying patient.
      3: After-death analysis of every death on the register, with learning shared.
    evidence:
      - Last days of life care plans
      - After-death analysis records
  - id: S7
    title: Carer support
    met: >-
      Carers are identified and coded, offered a carer's assessment and information, and contacted
      after a death for bereavement support.
    levels:
      0: Carers not identified.
      1: Carers identified for some patients.
      2: Carers coded for every register patient and offered an assessment.
      3: Bereavement contact after every death; carers' feedback collected.
    evidence:
      - Carers coded on the register (search report)
      - Bereavement protocol and contact log
  - id: S8
    title: Education of the practice team
    met: >-
      Every clinician and receptionist has palliative care education suited to their role, with a
      yearly plan, including deprescribing in palliative care and communication skills.
    levels:
      0: No palliative care education.
      1: Occasional sessions for some clinicians.
      2: A yearly education plan covering the whole team; attendance recorded.
      3: Learning from significant events and audits fed back into the plan.
    evidence:
      - Education plan and attendance record
      - Session materials (e.g. deprescribing in palliative care, STOPP-Frail)
"""


def _evidence(standard: int, level: int) -> str:
    """An evidence reference for a level (blank at level 0: nothing to show)."""
    if level == 0:
        return ""
    refs = {
        0: "Clinical system search report", 1: "Register with named lead", 2: "MDT minutes",
        3: "Coded conversations search report", 4: "Out-of-hours handover forms",
        5: "Last days of life care plans", 6: "Carers coded on register (search)", 7: "Education plan",
    }
    return refs[standard]


def _levels(rng: np.random.Generator) -> dict[str, dict[str, list[int]]]:
    """site → round → level per standard (see module docstring for the design)."""
    base = {s: list(rng.integers(0, 2, len(STANDARDS))) for s in
            ("hillside", "riverside", "abbey_view", "meadowbank")}
    up = lambda lo, k: list(rng.integers(lo, 4, k))  # noqa: E731 - levels lo..3
    out: dict[str, dict[str, list[int]]] = {}
    for site in ("riverside", "abbey_view"):
        fu1 = [max(a, b) for a, b in zip(up(2, 8), base[site])]
        fu2 = [max(a, b) for a, b in zip(fu1, up(2, 8))]
        out[site] = {"baseline": base[site], "follow-up 1": fu1, "follow-up 2": fu2}
    hill1 = [max(a, b) for a, b in zip(up(1, 8), base["hillside"])]
    hill1[0] = 1  # S1: register not yet grown
    hill2 = [max(a, 2) for a in hill1]
    hill2[0], hill2[6] = 1, 2  # S1 honest at 1; S7 claimed at 2 (evidence blank below)
    out["hillside"] = {"baseline": base["hillside"], "follow-up 1": hill1, "follow-up 2": hill2}
    mb = [min(x, 1) for x in base["meadowbank"]]
    out["meadowbank"] = {"baseline": mb, "follow-up 1": list(mb), "follow-up 2": list(mb)}
    return out


def assessments(seed: int = SEED) -> pd.DataFrame:
    """The demo ``standards_assessments`` table (tidy: one row per site × standard × round)."""
    rng = np.random.default_rng(seed)
    levels = _levels(rng)
    rows = []
    for site in ("hillside", "riverside", "abbey_view", "meadowbank"):
        for round_name, month in ROUND_MONTHS.items():
            day = int(rng.integers(3, 27))
            assessor = ASSESSORS[int(rng.integers(0, len(ASSESSORS)))]
            for i, standard in enumerate(STANDARDS):
                level = int(levels[site][round_name][i])
                evidence = _evidence(i, level)
                if site == "hillside" and round_name == "follow-up 2" and standard == "S7":
                    evidence = ""  # claimed at level 2 without evidence: not met
                if evidence:
                    evidence = f"{evidence}, {pd.Timestamp(month + '-01') - pd.offsets.MonthBegin(1):%b %Y}"
                rows.append((site, standard, round_name, f"{month}-{day:02d}", level, evidence, assessor))
    return pd.DataFrame(rows, columns=["site_id", "standard_id", "round", "assessed_on", "level",
                                       "evidence", "assessor"])


def write(root: str | Path = ".") -> list[Path]:
    """Write the framework and the demo assessments under ``root``; return the files written."""
    root = Path(root)
    framework = root / "params" / "standards" / f"{FRAMEWORK_ID}.yaml"
    framework.parent.mkdir(parents=True, exist_ok=True)
    framework.write_bytes(FRAMEWORK.encode("utf-8"))
    table = root / "data" / PROJECT_ID / "standards_assessments.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_bytes(assessments().to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return [framework, table]
