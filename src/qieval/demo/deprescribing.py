"""Seeded demo project: deprescribing in community palliative care (seed 000, BMJ SPCare 2023).

Four GP practices of one Primary Care Network (37,107 registered patients between them), 15 months
of baseline (2021-01 to 2022-03), then 11 PDSA cycles over 8 months (2022-04 to 2022-11) tagged
education, staffing (key professionals at the MDT) and IT (coded MDT template), staggered between
practices, and follow-up to 2023-03.

The data come from a stated model so the true effects are known and tests can check that the
analysis recovers them:

- register size ~ Binomial(list size, p) with logit p = logit(0.2%) + effects + AR(1) noise
  (0.2% → about 0.39%, against the 1% expected prevalence of the Gold Standards Framework);
- patients offered a deprescribing conversation ~ Binomial(register, p) with p = 0 before a
  practice's first change (as in the seed: 0%), then logit p = −2.75 + effects (→ about a third);
- regular medicines ~ Poisson(register × rate × gamma noise), rate 9.6 per patient, effects as
  rate ratios (outcome measure);
- clinician minutes per register patient ~ Normal(6.0 + effects, 0.45) (balancing measure).

Design for attribution: education starts in four different months (separable when the
four practices are pooled); staffing and IT start in the same month at every practice that had them
(never separable); at Abbey View education, staffing and IT all start in June 2022 (one practice alone
cannot separate them). Meadowbank could not get staff cover (seed: "lack of staff cover") and only
ran education cycles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .tables import cycles_frame

SEED = 20230154  # abstract 154, BMJ SPCare 2023

SITES = pd.DataFrame(
    {
        "site_id": ["hillside", "riverside", "abbey_view", "meadowbank"],
        "site_name": ["Hillside Surgery", "Riverside Medical Centre", "Abbey View Practice",
                      "Meadowbank Health Centre"],
        "network": ["South Somerset West PCN"] * 4,
        "list_size": [11842, 9615, 8903, 6747],  # 37,107 registered patients in all
    }
)

PERIODS = pd.date_range("2021-01-01", "2023-03-01", freq="MS")
BASELINE_END = pd.Timestamp("2022-03-01")

#: site → category → month the step switches on (the month containing the cycle's start).
FIRST_STARTS: dict[str, dict[str, str]] = {
    "hillside": {"education": "2022-04", "staffing": "2022-06", "IT": "2022-06"},
    "riverside": {"education": "2022-05", "staffing": "2022-07", "IT": "2022-07"},
    "abbey_view": {"education": "2022-06", "staffing": "2022-06", "IT": "2022-06"},
    "meadowbank": {"education": "2022-08"},
}

#: True effects on the model scale: log odds ratios (percent measures), log rate ratios (rates),
#: differences in minutes (continuous). Tests check the analysis recovers these.
TRUE_EFFECTS: dict[str, dict[str, float]] = {
    "register_prevalence": {"education": np.log(1.40), "staffing": np.log(1.20), "IT": np.log(1.15)},
    "conversation_offered": {"education": 1.00, "staffing": 0.70, "IT": 0.50},
    "medicines_per_patient": {"education": np.log(0.95), "staffing": np.log(0.96), "IT": np.log(0.98)},
    "clinician_minutes": {"education": 0.5, "staffing": 2.0, "IT": -0.5},
}

PDSA_CYCLES = [
    # site, cycle_id, start, end, category, change idea, plan, do, study, act
    ("hillside", "PDSA-01", "2022-04-04", "2022-05-06", "education",
     "Teaching session on deprescribing in palliative care (STOPP-Frail) for GPs and nurses",
     "Run a lunchtime session; predict 5 conversations in the month after",
     "Session held with 14 clinicians", "Conversations recorded rose from 0 to 4",
     "Adopt: repeat for new staff"),
    ("riverside", "PDSA-02", "2022-05-03", "2022-06-03", "education",
     "Teaching session on deprescribing in palliative care for the practice team",
     "Adapt the Hillside session to Riverside", "Session held with 9 clinicians",
     "Conversations began within the month", "Adopt"),
    ("hillside", "PDSA-03", "2022-06-06", "2022-07-08", "staffing",
     "Practice pharmacist and district nurse attend every palliative care MDT",
     "Ask the PCN to release the pharmacist for the MDT slot", "Pharmacist attended 4 of 4 MDTs",
     "More register patients reviewed per MDT", "Adopt"),
    ("hillside", "PDSA-04", "2022-06-13", "2022-07-15", "IT",
     "Coded MDT template to structure discussion and record deprescribing conversations",
     "Build the template in the clinical system", "Template used at 3 MDTs",
     "Recording complete for 90% of discussions", "Adapt: add a medicines-review field"),
    ("abbey_view", "PDSA-05", "2022-06-01", "2022-06-30", "education",
     "Teaching session on deprescribing in palliative care", "Run the session at the practice meeting",
     "Session held with 11 clinicians", "Conversations began", "Adopt"),
    ("abbey_view", "PDSA-06", "2022-06-08", "2022-07-08", "staffing",
     "Key professionals (pharmacist, district nurse) available at the re-established MDT",
     "Re-establish a monthly MDT with protected time", "MDT held monthly",
     "Attendance good", "Adopt"),
    ("abbey_view", "PDSA-07", "2022-06-15", "2022-07-15", "IT",
     "Coded MDT template", "Import the Hillside template", "Template in use",
     "Recording improved", "Adopt"),
    ("riverside", "PDSA-08", "2022-07-04", "2022-08-05", "staffing",
     "Pharmacist at the MDT", "Agree the pharmacist's rota", "Pharmacist attended 3 of 4 MDTs",
     "Reviews increased", "Adopt"),
    ("riverside", "PDSA-09", "2022-07-11", "2022-08-12", "IT",
     "Coded MDT template", "Import the template", "Template used at every MDT",
     "Recording improved", "Adopt"),
    ("meadowbank", "PDSA-10", "2022-08-01", "2022-09-02", "education",
     "Teaching session on deprescribing in palliative care", "Run the session",
     "Session held with 6 clinicians", "Small rise in conversations; no staff cover for the MDT",
     "Adapt: repeat with the nursing team"),
    ("meadowbank", "PDSA-11", "2022-10-03", "2022-11-04", "education",
     "Repeat teaching for the nursing team", "Run the session for nurses",
     "Session held with 5 nurses", "Conversations continued", "Adopt"),
]


def _steps(site: str) -> pd.DataFrame:
    """0/1 indicator per period for each category at ``site`` (on from its first start month)."""
    out = pd.DataFrame(index=PERIODS)
    for category in ("education", "staffing", "IT"):
        start = FIRST_STARTS[site].get(category)
        out[category] = 0.0 if start is None else (PERIODS >= pd.Timestamp(start)).astype(float)
    return out


def ar1_noise(rng: np.random.Generator, n: int, rho: float, sd: float) -> np.ndarray:
    """AR(1) noise of length ``n``, lag-1 autocorrelation ``rho`` and stationary SD ``sd``
    (extra-binomial variation between months)."""
    e = rng.normal(0.0, sd * np.sqrt(1 - rho**2), n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        out[i] = rho * out[i - 1] + e[i]
    return out


def _effect(steps: pd.DataFrame, measure: str) -> np.ndarray:
    eff = TRUE_EFFECTS[measure]
    return sum(steps[c].to_numpy() * eff[c] for c in eff)


def measure_values(seed: int = SEED) -> pd.DataFrame:
    """Generate the tidy ``measure_values`` table (site × month × measure)."""
    rng = np.random.default_rng(seed)
    rows = []
    n = len(PERIODS)
    for site in SITES.itertuples(index=False):
        steps = _steps(site.site_id)
        any_change = steps.max(axis=1).to_numpy() > 0
        logit0 = np.log(0.002 / 0.998) + rng.normal(0, 0.08)
        logit_p = logit0 + _effect(steps, "register_prevalence") + ar1_noise(rng, n, 0.4, 0.06)
        register = rng.binomial(site.list_size, 1 / (1 + np.exp(-logit_p)))
        register = np.maximum(register, 1)
        p_conv = 1 / (1 + np.exp(-(-2.75 + _effect(steps, "conversation_offered") + ar1_noise(rng, n, 0.3, 0.1))))
        offered = np.where(any_change, rng.binomial(register, p_conv), 0)
        rate = 9.6 * np.exp(_effect(steps, "medicines_per_patient"))
        medicines = rng.poisson(register * rate * rng.gamma(200.0, 1 / 200.0, n))
        minutes = 6.0 + _effect(steps, "clinician_minutes") + rng.normal(0, 0.45, n)
        for i, period in enumerate(PERIODS):
            month = period.strftime("%Y-%m")
            rows += [
                (site.site_id, month, "register_prevalence", register[i], site.list_size, ""),
                (site.site_id, month, "conversation_offered", offered[i], register[i], ""),
                (site.site_id, month, "medicines_per_patient", medicines[i], register[i], ""),
                (site.site_id, month, "clinician_minutes", "", "", f"{minutes[i]:.2f}"),
            ]
    return pd.DataFrame(rows, columns=["site_id", "period", "measure_id", "numerator", "denominator", "value"])


def pdsa_cycles() -> pd.DataFrame:
    """The 11 PDSA cycles over 8 months (April to November 2022)."""
    return cycles_frame(PDSA_CYCLES)


PARAMS = """\
# Demo project written by `qieval demo` (synthetic data from a seeded model; see
# qieval/demo/deprescribing.py). Modelled on seed 000: Brain V. Deprescribing: a quality
# improvement project in community palliative care. BMJ Support Palliat Care 2023;13(Suppl 3):A66.
project:
  id: deprescribing
  title: Deprescribing in community palliative care
  network: South Somerset West PCN
aim:
  statement: >-
    For 100% of patients on the palliative care registers in South Somerset West Primary Care
    Network to have the opportunity of a deprescribing conversation with a skilled healthcare
    professional between diagnosis and death, by March 2023.
  what: a deprescribing conversation for patients on the palliative care register
  how_much: 100% of register patients
  by_when: 2023-03
sites: [hillside, riverside, abbey_view, meadowbank]
frequency: month
allow_gaps: false
periods:
  baseline: {start: 2021-01, end: 2022-03}
  intervention: {start: 2022-04, end: 2023-03}
categories: [education, staffing, IT, process, other]
standards: {framework: palliative_care, table: standards_assessments}
data:
  dir: data/deprescribing
  provenance: >-
    Synthetic demo data generated by qieval.demo (seed 20230154) from a model of the published
    project; not real patient data.
measures:
  - id: conversation_offered
    title: Register patients offered a deprescribing conversation
    type: process
    numerator: Patients on the palliative care register with a coded deprescribing conversation offered
    denominator: Patients on the palliative care register at the end of the month
    unit: percent
    improvement_direction: increase
    target: 100
    target_date: 2023-03
  - id: register_prevalence
    title: Palliative care register size as a percentage of list size
    type: process
    numerator: Patients on the palliative care register at the end of the month
    denominator: Registered list size of the practice
    unit: percent
    decimals: 2
    improvement_direction: increase
    reference: {value: 1.0, label: expected prevalence (Gold Standards Framework estimate)}
  - id: medicines_per_patient
    title: Regular medicines per register patient
    type: outcome
    numerator: Regular (repeat) medicines prescribed to register patients at the end of the month
    denominator: Patients on the palliative care register at the end of the month
    unit: rate
    per: 1
    unit_label: medicines per patient
    decimals: 2
    improvement_direction: decrease
  - id: clinician_minutes
    title: Clinician minutes per register patient (MDT and reviews)
    type: balancing
    unit: continuous
    unit_label: minutes per patient
    decimals: 2
    improvement_direction: decrease
abstract:
  title: >-
    Deprescribing in community palliative care: a quality improvement project in primary care
  title_limit: 20
  word_limit: 300
  count_headings: false
  site_noun: GP practices
  background: >-
    Deprescribing is patient-centred and safe but needs time, skill and teamwork, so suits quality
    improvement.
  setting: Palliative care and general practice, Southwest England.
  methods: Process mapping and driver diagrams informed the changes.
  conclusion: >-
    The aim was unrealistic in the timeframe: deprescribing could not be isolated from holistic
    care. Staff cover was limited; local expansion is planned.
  measure_names:
    conversation_offered: Conversations offered
    register_prevalence: Register size
    medicines_per_patient: Medicines per patient
    clinician_minutes: Clinician minutes per patient
  headline_measure: conversation_offered
  keywords: [deprescribing, palliative care, general practice, quality improvement]
"""
