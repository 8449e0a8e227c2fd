"""Seeded demo project: opioid harm reduction in primary care (seed 004, the IHI Model for
Improvement worked example from Imperial College Health Partners / NW London ICB, Hammersmith and
Fulham).

Record-level input as practice pharmacists get it from ePACT2/NHSBSA: one row per patient per
prescribing month (pseudonymised patient id, practice, month, main opioid, daily oral morphine
equivalent, gabapentinoid co-prescription, months on opioids, deprivation quintile). Five practices
of one PCN, 2022-01 to 2024-12 (baseline to 2023-03), about 2% of registered patients on opioids.

The data come from a stated panel model so the true effects are known:

- each practice starts with ``OPIOID_SHARE`` of its list on opioids; each month a patient stops
  with hazard 2.5% (before reviews) and new patients start so the cohort stays about level;
- daily OME is log-normal (median 36 mg; about 12% above 120 mg); 24% are co-prescribed a
  gabapentinoid; IMD quintile 1 = most deprived 20% (Core20PLUS5);
- from a practice's first pharmacist-led review cycle (category ``process``), patients above
  120 mg are tapered by 25% a step with monthly hazard ``TAPER_HAZARD`` (``TAPER_HAZARD_DEPRIVED`` in IMD quintiles 1–2:
  the change helps the least deprived more, which the equity section must show), gabapentinoid
  co-prescriptions stop with hazard ``GABA_STOP_HAZARD``, and long-term patients stop with hazard
  ``LONG_TERM_STOP_HAZARD``; the MSK MDT (``staffing``) adds ``MDT_EXTRA`` to the taper hazard.

MDT cases (process) and clinician hours (balancing) are monthly aggregates from the practices
(``measure_values.csv``), showing that record-derived and aggregated measures mix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .tables import cycles_frame

SEED = 20240004
RECORDS_FILE = "prescribing.parquet"

SITES = pd.DataFrame({
    "site_id": ["brook_green", "shepherds_bush", "fulham_cross", "parsons_green", "white_city"],
    "site_name": ["Brook Green Medical Centre", "Shepherd's Bush Surgery", "Fulham Cross Practice",
                  "Parsons Green Health Centre", "White City Medical Practice"],
    "network": ["Hammersmith and Fulham Central PCN"] * 5,
    "list_size": [12410, 9830, 8765, 11240, 10355],
})

PERIODS = pd.date_range("2022-01-01", "2024-12-01", freq="MS")
OPIOID_SHARE = 0.02
#: IMD quintile mix of each practice's opioid patients (1 = most deprived).
IMD_MIX = {
    "brook_green": [0.10, 0.20, 0.25, 0.25, 0.20], "shepherds_bush": [0.35, 0.30, 0.15, 0.12, 0.08],
    "fulham_cross": [0.20, 0.25, 0.25, 0.15, 0.15], "parsons_green": [0.05, 0.10, 0.20, 0.30, 0.35],
    "white_city": [0.45, 0.30, 0.12, 0.08, 0.05],
}
#: site → category → first month of the step (from the PDSA cycles below).
FIRST_STARTS = {
    "brook_green": {"education": "2023-04", "process": "2023-04", "staffing": "2023-09"},
    "shepherds_bush": {"education": "2023-04", "process": "2023-06", "staffing": "2023-09"},
    "fulham_cross": {"education": "2023-04", "process": "2023-08", "staffing": "2023-09"},
    "parsons_green": {"education": "2023-04", "process": "2023-05", "staffing": "2023-09"},
    "white_city": {"education": "2023-04", "process": "2023-10", "staffing": "2023-09"},
}
STOP_HAZARD = 0.025
TAPER_HAZARD = 0.16          # per month, > 120 mg patients, after reviews start (IMD 3–5)
TAPER_HAZARD_DEPRIVED = 0.03  # IMD quintiles 1–2
MDT_EXTRA = 0.03
GABA_STOP_HAZARD = 0.06
LONG_TERM_STOP_HAZARD = 0.02
DRUGS = ["codeine", "tramadol", "morphine", "oxycodone", "buprenorphine", "fentanyl", "tapentadol"]
DRUG_P = [0.30, 0.22, 0.18, 0.12, 0.08, 0.06, 0.04]


def _on(site: str, category: str, period: pd.Timestamp) -> bool:
    start = FIRST_STARTS[site].get(category)
    return start is not None and period >= pd.Timestamp(start)


def _new_patients(rng: np.random.Generator, site: str, n: int, counter: int) -> pd.DataFrame:
    """``n`` new opioid patients with their fixed attributes."""
    ids = [f"{site[:2].upper()}{rng.integers(16**7, 16**8):08x}{counter + i:04d}" for i in range(n)]
    return pd.DataFrame({
        "patient_id": ids,
        "imd_quintile": rng.choice(5, size=n, p=IMD_MIX[site]) + 1,
        "drug": rng.choice(DRUGS, size=n, p=DRUG_P),
        "ome": np.round(np.exp(rng.normal(np.log(36.0), 0.95, n)), 1),
        "gaba": rng.random(n) < 0.24,
        "months": np.zeros(n, dtype=int),
    })


def records(seed: int = SEED) -> pd.DataFrame:
    """The record-level prescribing table: one row per patient per month on opioids."""
    rng = np.random.default_rng(seed)
    rows = []
    for site in SITES.itertuples(index=False):
        n0 = int(site.list_size * OPIOID_SHARE)
        cohort = _new_patients(rng, site.site_id, n0, 0)
        cohort["months"] = rng.geometric(1 / 30, n0)  # many long-term users at the start
        counter = n0
        for period in PERIODS:
            reviews, mdt = _on(site.site_id, "process", period), _on(site.site_id, "staffing", period)
            rows.append(cohort.assign(site_id=site.site_id, month=period))
            # next month: stops, tapers, gabapentinoid stops, new starters
            n = len(cohort)
            stop = np.full(n, STOP_HAZARD)
            if reviews:
                stop = stop + LONG_TERM_STOP_HAZARD * (cohort["months"].to_numpy() > 6)
                taper_h = np.where(cohort["imd_quintile"].to_numpy() <= 2, TAPER_HAZARD_DEPRIVED, TAPER_HAZARD)
                taper_h = taper_h + (MDT_EXTRA if mdt else 0.0)
                taper = (cohort["ome"].to_numpy() > 120) & (rng.random(n) < taper_h)
                cohort.loc[taper, "ome"] = np.round(cohort.loc[taper, "ome"] * 0.75, 1)
                gaba_stop = cohort["gaba"].to_numpy() & (rng.random(n) < GABA_STOP_HAZARD)
                cohort.loc[gaba_stop, "gaba"] = False
            else:
                rng.random(n), rng.random(n)  # keep the random stream aligned across designs
            keep = rng.random(n) >= stop
            cohort = cohort.loc[keep].assign(months=lambda c: c["months"] + 1)
            k = rng.poisson(n0 * STOP_HAZARD)
            cohort = pd.concat([cohort, _new_patients(rng, site.site_id, k, counter)], ignore_index=True)
            counter += k
    out = pd.concat(rows, ignore_index=True)
    return pd.DataFrame({
        "patient_id": out["patient_id"], "practice_code": out["site_id"],
        "month": out["month"].dt.date, "drug": out["drug"], "ome_mg_day": out["ome"].astype(float),
        "gabapentinoid": out["gaba"].astype(bool), "months_on_opioids": out["months"].astype("int32") + 1,
        "imd_quintile": out["imd_quintile"].astype("int32"),
    })


def write_records(path: Path, seed: int = SEED) -> Path:
    """Write the records as Parquet with deterministic bytes (no pandas metadata)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(records(seed), preserve_index=False).replace_schema_metadata(None)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
    return path


def measure_values(seed: int = SEED) -> pd.DataFrame:
    """Monthly aggregates the practices report: MDT cases (process) and clinician hours (balancing)."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for site in SITES.itertuples(index=False):
        for period in PERIODS:
            mdt = _on(site.site_id, "staffing", period)
            reviews = _on(site.site_id, "process", period)
            cases = rng.poisson(3.0) if mdt else 0
            hours = 6.0 + (5.0 if reviews else 0.0) + (1.5 if mdt else 0.0) + rng.normal(0, 1.2)
            month = period.strftime("%Y-%m")
            rows += [(site.site_id, month, "mdt_cases", cases, "", ""),
                     (site.site_id, month, "clinician_hours", "", "", f"{hours:.1f}")]
    return pd.DataFrame(rows, columns=["site_id", "period", "measure_id", "numerator", "denominator", "value"])


_CYCLES = []
for _i, (_site, _s) in enumerate(FIRST_STARTS.items()):
    _CYCLES.append((_site, f"PDSA-R{_i + 1}", f"{_s['process']}-03", "", "process",
                    "Pharmacist-led pain reviews with a shared decision-making tool (cohort from NHSBSA)",
                    "Invite the cohort on > 120 mg OME first; predict 10 reviews a month",
                    "Reviews started", "Doses tapered where agreed", "Adapt: offer virtual appointments"))
_CYCLES += [
    ("ALL", "PDSA-E1", "2023-04-12", "2023-05-31", "education",
     "Training sessions on chronic non-cancer pain management and health coaching",
     "Two sessions for practice pharmacists", "Sessions held", "Confidence rose in feedback", "Adopt"),
    ("ALL", "PDSA-M1", "2023-09-06", "", "staffing",
     "Monthly MDT with the community MSK pain service for complex patients",
     "Bring 2–3 complex cases a month", "MDT held monthly", "Plans agreed for complex patients", "Adopt"),
    ("ALL", "PDSA-P1", "2023-01-16", "2023-02-28", "other",
     "Focus group with people with lived experience of chronic pain",
     "Hear what matters to patients before designing reviews", "Focus group held",
     "\u201cThe pharmacist contacting me felt like being thrown a life-belt.\u201d", "Adopt: patient materials"),
]


def pdsa_cycles() -> pd.DataFrame:
    return cycles_frame(_CYCLES)


PARAMS = """\
# Demo project written by `qieval demo` (synthetic data from a seeded model; see
# qieval/demo/opioids.py). Modelled on seed 004: the IHI Model for Improvement worked example of
# the Hammersmith and Fulham Opioid Harm Reduction pilot (Imperial College Health Partners).
# The opioid measures are derived from record-level prescribing data (one row per patient per
# month) by the declarative definitions under `from_records`; no project-specific code.
project:
  id: opioids
  title: Opioid harm reduction in primary care
  network: Hammersmith and Fulham Central PCN
aim:
  statement: >-
    For each patient on opioids for chronic non-cancer pain in Hammersmith and Fulham Central PCN
    to have their pain validated and a care plan based on what matters to them, and to reduce the
    patients prescribed high-dose opioids (over 120 mg oral morphine equivalent a day) by 50% by
    December 2024.
  what: fewer patients on high-dose opioids, with a personalised pain care plan
  how_much: 50% fewer patients above 120 mg OME a day
  by_when: 2024-12
sites: [brook_green, shepherds_bush, fulham_cross, parsons_green, white_city]
frequency: month
allow_gaps: false
periods:
  baseline: {start: 2022-01, end: 2023-03}
  intervention: {start: 2023-04, end: 2024-12}
categories: [process, staffing, education, other]
# Attribution (docs/attribution_methods.md): the defaults, written out. With several practices
# the changes are compared month by month with practices that had not started yet; a change that
# started in the same month everywhere (education, staffing, the focus group) cannot be separated.
attribution:
  impact: auto        # effect by month since the start, averaged (step or ramp to force a shape)
  time_effects: auto  # calendar-month effects; trend = interrupted time series, never in the abstract
  harmonics: 0        # seasonality of one practice's series in the site reports
  min_points: 8       # months before and after a start for a claim at one practice
data:
  dir: data/opioids
  provenance: >-
    Synthetic demo data generated by qieval.demo (seed 20240004): record-level prescribing rows
    modelled on an ePACT2/NHSBSA extract; not real patient data.
records:
  file: prescribing.parquet
  columns: {patient: patient_id, site: practice_code, period: month}
  derive:
    core20: "CASE WHEN imd_quintile = 1 THEN 'Core20 (IMD quintile 1)' ELSE 'IMD quintiles 2-5' END"
  checks:
    - {column: ome_mg_day, require: "ome_mg_day >= 0", message: daily OME must not be negative}
    - {column: ome_mg_day, require: "ome_mg_day < 2000", message: daily OME above 2000 mg looks like a data error}
    - {column: imd_quintile, require: "imd_quintile BETWEEN 1 AND 5", message: IMD quintile must be 1 to 5}
    - {column: months_on_opioids, require: "months_on_opioids >= 1", message: months on opioids must be at least 1}
measure_plan:
  - title: Improved experience of managing chronic pain in primary care, and deprescribing where appropriate
    type: outcome
    collection: Patient feedback via patient survey
  - title: Improved pathway of care for chronic pain management, with access to alternative support
    type: outcome
    collection: Patient case studies of the patient journey
  - title: Clinical competence of practice-based pharmacists in managing chronic non-cancer pain
    type: outcome
    collection: Qualitative feedback via clinicians
  - title: Usefulness of the advice and guidance and MDTs provided by the MSK pain service
    type: outcome
    collection: Clinician feedback via survey
abstract:
  title: >-
    Opioid harm reduction in primary care: pharmacist-led reviews in a Primary Care Network
  word_limit: 400
  site_noun: GP practices
  background: >-
    High-dose and long-term opioids, and opioids with gabapentinoids, cause harm in chronic
    non-cancer pain, and patients can feel left alone with their pain.
  setting: Five GP practices of one Primary Care Network in north west London.
  methods: >-
    A focus group of people with lived experience shaped the pilot; practice pharmacists reviewed
    patients with a shared decision-making tool, supported by MDTs with the MSK pain service.
  conclusion: >-
    High-dose opioid prescribing halved over the pilot, reaching the target, but fell least for
    the most deprived patients; the next cycles will target the Core20 cohort.
  measure_names:
    high_dose: High-dose opioid patients
    long_term: Long-term opioid patients
    with_gabapentinoid: Opioid with gabapentinoid
    opioid_prevalence: Opioid patients per 1,000
    median_ome: Median daily OME
    mdt_cases: MDT cases
    clinician_hours: Clinical time
  measures: [high_dose, with_gabapentinoid]
  headline_measure: high_dose
  keywords: [opioids, chronic pain, deprescribing, primary care, quality improvement]
measures:
  - id: high_dose
    title: Opioid patients prescribed more than 120 mg OME a day
    type: outcome
    numerator: Patients prescribed opioids at a daily oral morphine equivalent above 120 mg that month
    denominator: Patients prescribed opioids that month
    unit: percent
    improvement_direction: decrease
    # the aim: 50% below the network baseline of about 12.4%
    target: 6.2
    target_date: 2024-12
    recalculate_at: [2023-10]
    collection: Via ePACT2 dataset and local PCNs
    breakdown: imd_quintile
    from_records:
      numerator: {count_distinct: patient, where: "ome_mg_day > 120"}
      denominator: {count_distinct: patient}
  - id: long_term
    title: Opioid patients on opioids for more than 6 months
    type: outcome
    numerator: Patients prescribed opioids that month who have been on opioids for more than 6 months
    denominator: Patients prescribed opioids that month
    unit: percent
    improvement_direction: decrease
    collection: Via ePACT2 dataset and local PCNs
    breakdown: imd_quintile
    from_records:
      numerator: {count_distinct: patient, where: "months_on_opioids > 6"}
      denominator: {count_distinct: patient}
  - id: with_gabapentinoid
    title: Opioid patients co-prescribed a gabapentinoid
    type: outcome
    numerator: Patients prescribed an opioid and a gabapentinoid (pregabalin, gabapentin) that month
    denominator: Patients prescribed opioids that month
    unit: percent
    improvement_direction: decrease
    collection: Via ePACT2 dataset and local PCNs
    breakdown: core20
    from_records:
      numerator: {count_distinct: patient, where: "gabapentinoid"}
      denominator: {count_distinct: patient}
  - id: opioid_prevalence
    title: Patients prescribed opioids per 1,000 registered patients
    type: outcome
    numerator: Patients prescribed opioids that month
    denominator: Registered list size of the practice
    unit: rate
    per: 1000
    decimals: 2
    improvement_direction: decrease
    collection: Via ePACT2 dataset and local PCNs
    from_records:
      numerator: {count_distinct: patient}
      denominator: {list_size: true}
  - id: median_ome
    title: Median daily OME of patients on opioids
    type: outcome
    unit: continuous
    unit_label: mg OME a day
    improvement_direction: decrease
    collection: Via ePACT2 dataset and local PCNs
    from_records:
      value: {median: ome_mg_day}
  - id: mdt_cases
    title: Complex cases brought to the MDT
    type: process
    numerator: Cases discussed at the MSK pain service MDT that month
    unit: count
    decimals: 0
    improvement_direction: increase
    collection: Number of cases brought to MDT (practice log)
  - id: clinician_hours
    title: Practice clinical time on the pilot
    type: balancing
    unit: continuous
    unit_label: hours a month
    improvement_direction: decrease
    collection: Record of time spent on case finding, reviewing patients and attending MDTs
"""
