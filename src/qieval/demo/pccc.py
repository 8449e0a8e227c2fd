"""Seeded demo project: a Palliative Care Co-ordination Centre (seed 003: Johnson B, Smith W.
Co-ordinating care: a clinician's tale. BMJ Support Palliat Care 2011;1:241).

The PCCC books packages of care for palliative care patients. In August 2010 clinical leads were
introduced (the seed's change), then weekend opening and a county-wide prioritisation tool. Three
localities are the sites; data are weekly (Monday weeks) from July 2009 to March 2012, record level:
one row per referral (referral date-time, locality, hours from referral to the care package,
admitted to hospital within 7 days, admission avoided as recorded by the PCCC clinician). Weekday
vs weekend is derived from the referral date in SQL (``records.derive``), not stored.

Stated model (true effects, so the analysis can be checked):

- referrals per locality-week ~ Poisson(0.12 per 1,000 registered patients); before weekend
  opening 40% of weekend referrals are held back to Monday by the referrer;
- hours to care package ~ log-normal, median 40 h on weekdays; a weekend referral before weekend
  opening waits for Monday (+ 48 h); clinical leads × ``LEADS_HOURS``; prioritisation tool ×
  ``TOOL_HOURS``;
- admission avoided ~ Bernoulli(0.10), odds × ``LEADS_OR_AVOIDED`` with clinical leads and ×
  ``TOOL_OR_AVOIDED`` with the prioritisation tool; admitted within 7 days ~ Bernoulli(0.30), odds
  × 0.75 with clinical leads.

Clinical leads start in the same week everywhere (so they are separable only from trend);
weekend opening and the tool are staggered between localities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .tables import cycles_frame

SEED = 20110241
RECORDS_FILE = "referrals.csv"

SITES = pd.DataFrame({
    "site_id": ["north", "central", "south"],
    "site_name": ["North locality", "Central locality", "South locality"],
    "network": ["County Palliative Care Co-ordination Centre"] * 3,
    "list_size": [212400, 186900, 158300],
})

WEEKS = pd.date_range("2009-07-06", "2012-03-26", freq="7D")
#: site → category → first day of the step.
FIRST_STARTS = {
    "north": {"staffing": "2010-08-02", "process": "2010-11-01", "IT": "2011-06-06"},
    "central": {"staffing": "2010-08-02", "process": "2011-01-10", "IT": "2011-04-04"},
    "south": {"staffing": "2010-08-02", "process": "2011-03-07", "IT": "2011-09-05"},
}
REFERRALS_PER_1000 = 0.12
LEADS_HOURS, TOOL_HOURS = 0.75, 0.85
LEADS_OR_AVOIDED, TOOL_OR_AVOIDED = 2.2, 1.5


def _on(site: str, category: str, when: pd.Timestamp | np.ndarray):
    return np.asarray(when) >= np.datetime64(FIRST_STARTS[site][category])


def _logistic(x):
    return 1 / (1 + np.exp(-x))


def records(seed: int = SEED) -> pd.DataFrame:
    """One row per referral (see module docstring)."""
    rng = np.random.default_rng(seed)
    frames = []
    for site in SITES.itertuples(index=False):
        lam = site.list_size / 1000 * REFERRALS_PER_1000
        n = rng.poisson(lam, len(WEEKS))
        week = np.repeat(WEEKS.to_numpy(), n)
        day = rng.choice(7, size=len(week), p=[0.17, 0.17, 0.17, 0.17, 0.17, 0.075, 0.075])
        minutes = rng.integers(8 * 60, 19 * 60, len(week))
        at = week + day.astype("timedelta64[D]") + minutes.astype("timedelta64[m]")
        weekend = day >= 5
        open_weekends = _on(site.site_id, "process", at)
        # before weekend opening some weekend referrals are held back to Monday
        held = weekend & ~open_weekends & (rng.random(len(at)) < 0.4)
        at = np.where(held, week + np.timedelta64(7, "D") + minutes.astype("timedelta64[m]"), at)
        keep = at <= np.datetime64(WEEKS[-1] + pd.Timedelta(days=6, hours=23))
        at, day, minutes = at[keep], day[keep], minutes[keep]
        weekend = (pd.DatetimeIndex(at).day_of_week >= 5)
        leads = _on(site.site_id, "staffing", at)
        tool = _on(site.site_id, "IT", at)
        open_weekends = _on(site.site_id, "process", at)
        hours = np.exp(rng.normal(np.log(40.0), 0.45, len(at)))
        hours = hours * np.where(leads, LEADS_HOURS, 1.0) * np.where(tool, TOOL_HOURS, 1.0)
        hours = hours + np.where(weekend & ~open_weekends, 48.0, 0.0)
        package = rng.random(len(at)) < 0.85  # some referrals need no package (died, declined …)
        avoided = rng.random(len(at)) < _logistic(
            np.log(0.10 / 0.90) + np.log(LEADS_OR_AVOIDED) * leads + np.log(TOOL_OR_AVOIDED) * tool)
        admitted = rng.random(len(at)) < _logistic(np.log(0.30 / 0.70) + np.log(0.75) * leads)
        frames.append(pd.DataFrame({
            "locality": site.site_id,
            "referred_at": pd.DatetimeIndex(at).strftime("%Y-%m-%d %H:%M"),
            "hours_to_care_package": np.where(package, np.round(hours, 1), np.nan),
            "admitted_within_7_days": admitted.astype(int),
            "admission_avoided": avoided.astype(int),
        }))
    out = pd.concat(frames, ignore_index=True).sort_values(["referred_at", "locality"], kind="stable")
    out.insert(0, "referral_id", [f"R{i + 1:06d}" for i in range(len(out))])
    return out.reset_index(drop=True)


def write_records(path: Path, seed: int = SEED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = records(seed).to_csv(index=False, lineterminator="\n", float_format="%.1f")
    path.write_bytes(text.encode("utf-8"))
    return path


_CYCLES = [("ALL", "PDSA-01", "2010-08-02", "2010-09-30", "staffing",
            "Clinical leads (palliative care and community nursing) introduced into the centre",
            "Clinical leads discuss each referral's need and priority with the referrer",
            "Leads in post from August 2010", "Care based on need, not first come first served",
            "Adopt")]
for _i, (_site, _s) in enumerate(FIRST_STARTS.items()):
    _CYCLES.append((_site, f"PDSA-W{_i + 1}", _s["process"], "", "process",
                    "Extended working: the centre opens at weekends",
                    "Open Saturday and Sunday 9-5; predict shorter waits for weekend referrals",
                    "Weekend rota in place", "Weekend referrals no longer wait for Monday", "Adopt"))
    _CYCLES.append((_site, f"PDSA-T{_i + 1}", _s["IT"], "", "IT",
                    "County-wide prioritisation tool with SystmOne record access",
                    "Use the tool for every referral in the locality", "Tool in use",
                    "Complex patients prioritised to palliative care providers", "Adopt"))


def pdsa_cycles() -> pd.DataFrame:
    return cycles_frame(_CYCLES)


PARAMS = """\
# Demo project written by `qieval demo` (synthetic data from a seeded model; see
# qieval/demo/pccc.py). Modelled on seed 003: Johnson B, Smith W. Co-ordinating care: a clinician's
# tale. BMJ Support Palliat Care 2011;1:241. Weekly service measures derived from one row per
# referral by the declarative definitions under `from_records`; no project-specific code.
project:
  id: pccc
  title: Palliative Care Co-ordination Centre
  network: County Palliative Care Co-ordination Centre
aim:
  statement: >-
    To provide a central point of communication for clinicians so that palliative care packages
    are prioritised by need and co-ordinated, patients receive the most appropriate level of care,
    and discharge from hospital is faster and inappropriate admissions are avoided, by March 2012.
  what: care packages prioritised by need; faster packages; admissions avoided
  how_much: care packages within a day; admissions avoided doubled
  by_when: 2012-03
sites: [north, central, south]
frequency: week
allow_gaps: false
periods:
  baseline: {start: 2009-07, end: 2010-07}
  intervention: {start: 2010-08, end: 2012-03}
categories: [staffing, process, IT, other]
data:
  dir: data/pccc
  provenance: >-
    Synthetic demo data generated by qieval.demo (seed 20110241): one row per referral, modelled on
    the published service; not real patient data.
records:
  file: referrals.csv
  columns: {site: locality, period: referred_at}
  derive:
    day_type: "CASE WHEN dayofweek(CAST(referred_at AS TIMESTAMP)) IN (0, 6) THEN 'weekend' ELSE 'weekday' END"
  checks:
    - {column: hours_to_care_package, require: "hours_to_care_package IS NULL OR hours_to_care_package >= 0",
       message: hours to the care package must not be negative}
    - {column: admission_avoided, require: "admission_avoided IN (0, 1)", message: expected 0 or 1}
    - {column: admitted_within_7_days, require: "admitted_within_7_days IN (0, 1)", message: expected 0 or 1}
abstract:
  title: "Co-ordinating care: clinical leads in a palliative care co-ordination centre"
  word_limit: 400
  site_noun: localities
  background: >-
    The co-ordination centre booked packages of care for palliative care patients first come,
    first served.
  setting: A county Palliative Care Co-ordination Centre serving three localities.
  methods: >-
    Clinical staff with palliative care and community nursing experience joined the centre; it
    opened at weekends and introduced a county-wide prioritisation tool.
  conclusion: >-
    Clinical leads were a positive investment: care was matched to need and weekend referrals no
    longer waited for Monday; barriers to Continuing Healthcare remain.
  measure_names:
    referrals: Referrals
    referral_rate: Referrals per 1,000
    admissions_avoided: Admissions avoided
    admitted: Admitted within 7 days
    hours_to_package: Hours to care package
    packages_within_24h: Packages within 24 hours
  measures: [admissions_avoided, hours_to_package]
  headline_measure: admissions_avoided
  keywords: [palliative care, care co-ordination, end of life, quality improvement]
measures:
  - id: referrals
    title: Referrals to the co-ordination centre
    type: process
    numerator: Referrals received in the week
    unit: count
    decimals: 0
    improvement_direction: neutral
    collection: PCCC referral log
    breakdown: day_type
    from_records:
      numerator: {count: true}
  - id: referral_rate
    title: Referrals per 1,000 registered patients a week
    type: process
    numerator: Referrals received in the week
    denominator: Registered population of the locality
    unit: rate
    per: 1000
    decimals: 3
    improvement_direction: neutral
    collection: PCCC referral log; registered population from the practices
    from_records:
      numerator: {count: true}
      denominator: {list_size: true}
  - id: admissions_avoided
    title: Hospital admissions avoided
    type: outcome
    numerator: Referrals where the PCCC clinician recorded that an admission was avoided
    unit: count
    decimals: 0
    improvement_direction: increase
    collection: PCCC clinician record for each referral
    breakdown: day_type
    from_records:
      numerator: {sum: admission_avoided}
  - id: admitted
    title: Referred patients admitted to hospital within 7 days
    type: outcome
    numerator: Referrals admitted to hospital within 7 days
    denominator: Referrals in the week
    unit: percent
    improvement_direction: decrease
    collection: Hospital episode linkage by NHS number
    from_records:
      numerator: {count: true, where: "admitted_within_7_days = 1"}
      denominator: {count: true}
  - id: hours_to_package
    title: Median hours from referral to care package
    type: outcome
    unit: continuous
    unit_label: hours
    improvement_direction: decrease
    collection: PCCC booking system (referral and package start times)
    breakdown: day_type
    from_records:
      value: {median: hours_to_care_package, where: "hours_to_care_package IS NOT NULL"}
  - id: packages_within_24h
    title: Care packages in place within 24 hours
    type: process
    numerator: Referrals with a care package within 24 hours of referral
    denominator: Referrals with a care package
    unit: percent
    improvement_direction: increase
    collection: PCCC booking system
    breakdown: day_type
    from_records:
      numerator: {count: true, where: "hours_to_care_package <= 24"}
      denominator: {count: true, where: "hours_to_care_package IS NOT NULL"}
"""
