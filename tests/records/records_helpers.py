"""Tiny record-level projects written to a temporary folder, with counts worked out by hand."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pandas as pd

TODAY = dt.date(2025, 1, 1)

SITES = "site_id,site_name,network,list_size\na,Practice A,PCN,1000\nb,Practice B,PCN,2000\n"
CYCLES = ("site_id,cycle_id,start,end,category,change_idea,plan,do,study,act\n"
          "ALL,C1,2022-02-01,,process,Reviews,p,d,s,a\n")

#: 10 prescribing rows. Hand-worked per site and month (see test_records_definitions.py).
PRESCRIBING = pd.DataFrame(
    [  # patient, practice, month, drug, ome, gabapentinoid, months on opioids, IMD quintile
        ("p1", "a", "2022-01", "morphine", 150.0, 1, 8, 1),
        ("p2", "a", "2022-01", "oxycodone", 130.0, 0, 3, 2),
        ("p3", "a", "2022-01", "codeine", 40.0, 1, 12, 1),
        ("p4", "b", "2022-01", "morphine", 200.0, 0, 7, 5),
        ("p5", "b", "2022-01", "codeine", 20.0, 0, 1, 5),
        ("p1", "a", "2022-02", "morphine", 100.0, 1, 9, 1),
        ("p2", "a", "2022-02", "oxycodone", 125.0, 0, 4, 2),
        ("p4", "b", "2022-02", "morphine", 90.0, 0, 8, 5),
        ("p4", "b", "2022-02", "tramadol", 30.0, 0, 8, 5),
        ("p6", "b", "2022-02", "fentanyl", 130.0, 1, 2, 1),
    ],
    columns=["patient_id", "practice", "month", "drug", "ome_mg_day", "gabapentinoid",
             "months_on_opioids", "imd_quintile"],
)

MEASURES = """\
measures:
  - id: high_dose
    title: High dose
    type: outcome
    numerator: over 120 mg
    denominator: patients
    unit: percent
    improvement_direction: decrease
    breakdown: imd_quintile
    from_records:
      numerator: {count_distinct: patient, where: "ome_mg_day > 120"}
      denominator: {count_distinct: patient}
  - id: rows
    title: Prescribing rows
    type: process
    numerator: rows
    unit: count
    improvement_direction: neutral
    from_records:
      numerator: {count: true}
  - id: gaba
    title: Gabapentinoid co-prescriptions
    type: outcome
    numerator: rows flagged
    unit: count
    improvement_direction: decrease
    from_records:
      numerator: {sum: gabapentinoid}
  - id: mean_ome
    title: Mean OME
    type: outcome
    unit: continuous
    improvement_direction: decrease
    from_records:
      value: {mean: ome_mg_day}
  - id: median_ome
    title: Median OME
    type: outcome
    unit: continuous
    improvement_direction: decrease
    from_records:
      value: {median: ome_mg_day}
  - id: per_1000
    title: Patients on opioids per 1,000
    type: outcome
    numerator: patients
    denominator: list size
    unit: rate
    per: 1000
    improvement_direction: decrease
    from_records:
      numerator: {count_distinct: patient}
      denominator: {list_size: true}
  - id: core20_long
    title: Core20 patients on opioids over 6 months
    type: outcome
    numerator: Core20 long-term patients
    unit: count
    improvement_direction: decrease
    from_records:
      numerator: {count_distinct: patient, where: "months_on_opioids > 6 AND core20"}
"""


def params(records: str, measures: str = MEASURES, frequency: str = "month",
           extra: str = "") -> str:
    head = f"""\
project: {{id: tiny, title: Tiny}}
aim: {{statement: s, what: w, how_much: h, by_when: 2022-12}}
sites: [a, b]
frequency: {frequency}
periods:
  baseline: {{start: 2022-01, end: 2022-01}}
  intervention: {{start: 2022-02, end: 2022-02}}
categories: [process]
data: {{dir: data}}
"""
    return head + textwrap.dedent(records) + extra + measures


RECORDS_CSV = """\
records:
  file: prescribing.csv
  columns: {patient: patient_id, site: practice, period: month}
  derive: {core20: "imd_quintile = 1"}
  checks:
    - {column: ome_mg_day, require: "ome_mg_day >= 0", message: daily OME must not be negative}
"""


def write_project(root: Path, params_text: str, records: pd.DataFrame | None = None,
                  name: str = "prescribing.csv") -> Path:
    """params/tiny.yaml + data/{sites,pdsa_cycles}.csv + the records file; return the params."""
    (root / "params").mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(exist_ok=True)
    (data / "sites.csv").write_text(SITES)
    (data / "pdsa_cycles.csv").write_text(CYCLES)
    if records is not None:
        if name.endswith(".parquet"):
            records.to_parquet(data / name, index=False)
        else:
            records.to_csv(data / name, index=False)
    path = root / "params" / "tiny.yaml"
    path.write_text(params_text)
    return path


def values_of(data, measure_id: str) -> dict:
    """(site, YYYY-MM or date) → (numerator, denominator, value) of one measure."""
    v = data.measure_values.loc[data.measure_values["measure_id"] == measure_id]
    fmt = "%Y-%m" if data.config.frequency == "month" else "%Y-%m-%d"
    return {(r.site_id, r.period.strftime(fmt)): (r.numerator, r.denominator, r.value)
            for r in v.itertuples()}
