"""A qieval project from NHS England's A&E attendances (real, public data).

The source is ``ae_attendances`` of the R package NHSRdatasets 0.3.3 (CC0; NHS England "A&E
Attendances and Emergency Admissions" statistics): one row per month, organisation and department
type with ``attendances``, ``breaches`` (patients who spent more than 4 hours in A&E) and
``admissions`` (emergency admissions via A&E). :func:`write_example` turns the type 1 (major
emergency department) rows of chosen trusts into a project — params, sites, measure values and one
network-wide context row — with three measures:

- ``within_4h``: attendances seen within 4 hours, % (numerator attendances − breaches; the NHS
  constitutional standard, target 95%);
- ``attendances``: type 1 attendances a month (a count; neither direction is better);
- ``admitted``: attendances admitted as emergencies, % (admissions / attendances; neutral).

Months a trust did not report are left out (never filled in), so the project declares
``allow_gaps: true`` and validation lists them as warnings. ``trusts=None`` takes every trust with
a type 1 department (the all-trust network). The data are published aggregates, not patient
records; no names are invented: sites are named by their ODS code unless ``names`` are given.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ..format import write_atomic

#: Columns of the NHSRdatasets ``ae_attendances`` CSV.
SOURCE_COLUMNS = ("period", "org_code", "type", "attendances", "breaches", "admissions")

PROVENANCE = ("NHS England A&E Attendances and Emergency Admissions statistics, type 1 departments, "
              "as published in the R package NHSRdatasets 0.3.3 (ae_attendances, CC0); real, public, "
              "aggregate data.")

#: One network-wide context row (a national milestone, not a local PDSA cycle): NHS England,
#: "Next steps on the NHS Five Year Forward View" (March 2017) asked every hospital to have
#: comprehensive front-door clinical streaming by October 2017.
CONTEXT = {
    "site_id": "ALL", "cycle_id": "NAT-1", "start": "2017-10-01", "end": "", "category": "national",
    "change_idea": "Front-door clinical streaming expected in every type 1 A&E (NHS England, Next steps "
                   "on the NHS Five Year Forward View, March 2017)",
    "plan": "National milestone shown for context; not a local PDSA cycle", "do": "", "study": "", "act": "",
}


def read_ae(source_csv: str | Path, department_type: str = "1") -> pd.DataFrame:
    """The source rows of one department type: period (month start), org_code, attendances,
    breaches, admissions (integers), sorted by org_code and period. Raises ValueError naming the
    missing columns when the file is not the ae_attendances table."""
    raw = pd.read_csv(source_csv, dtype=str, keep_default_na=False)
    missing = [c for c in SOURCE_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{source_csv}: not the ae_attendances table (missing columns {', '.join(missing)})")
    rows = raw.loc[raw["type"].str.strip() == department_type].copy()
    rows["period"] = pd.to_datetime(rows["period"].str.strip().str[:7], format="%Y-%m")
    for c in ("attendances", "breaches", "admissions"):
        rows[c] = pd.to_numeric(rows[c]).astype("int64")
    return rows[list(SOURCE_COLUMNS[:2]) + ["attendances", "breaches", "admissions"]] \
        .sort_values(["org_code", "period"]).reset_index(drop=True)


def measure_values(ae: pd.DataFrame) -> pd.DataFrame:
    """The project's measure_values table (site_id = org_code, period YYYY-MM) from :func:`read_ae` rows."""
    base = {"site_id": ae["org_code"], "period": ae["period"].dt.strftime("%Y-%m")}
    tables = [
        pd.DataFrame({**base, "measure_id": "within_4h", "numerator": ae["attendances"] - ae["breaches"],
                      "denominator": ae["attendances"]}),
        pd.DataFrame({**base, "measure_id": "attendances", "numerator": ae["attendances"], "denominator": pd.NA}),
        pd.DataFrame({**base, "measure_id": "admitted", "numerator": ae["admissions"],
                      "denominator": ae["attendances"]}),
    ]
    out = pd.concat(tables, ignore_index=True).assign(value=pd.NA)
    return out.sort_values(["site_id", "measure_id", "period"], kind="stable").reset_index(drop=True)


def params(project_id: str, trusts: list[str], *, title: str, baseline: tuple[str, str],
           intervention: tuple[str, str], network: str) -> dict:
    """The params mapping of the project (see the module docstring for the measures)."""
    return {
        "project": {"id": project_id, "title": title, "network": network},
        "aim": {
            "statement": ("For 95% of patients attending a type 1 emergency department to be admitted, "
                          "transferred or discharged within 4 hours of arrival (the NHS constitutional "
                          f"standard), by {pd.Timestamp(intervention[1]):%B %Y}."),
            "what": "attendances completed within 4 hours", "how_much": "95%", "by_when": intervention[1],
        },
        "sites": list(trusts),
        "frequency": "month",
        "allow_gaps": True,
        "periods": {"baseline": {"start": baseline[0], "end": baseline[1]},
                    "intervention": {"start": intervention[0], "end": intervention[1]}},
        "categories": ["national"],
        "data": {"dir": f"data/{project_id}", "provenance": PROVENANCE},
        "measures": [
            {"id": "within_4h", "title": "Attendances seen within 4 hours", "type": "outcome",
             "numerator": "Type 1 attendances admitted, transferred or discharged within 4 hours of arrival",
             "denominator": "Type 1 A&E attendances in the month", "unit": "percent",
             "improvement_direction": "increase", "target": 95, "target_date": intervention[1]},
            {"id": "attendances", "title": "Type 1 A&E attendances", "type": "balancing",
             "numerator": "Type 1 A&E attendances in the month", "unit": "count", "decimals": 0,
             "unit_label": "attendances", "improvement_direction": "neutral"},
            {"id": "admitted", "title": "Attendances admitted as emergencies", "type": "process",
             "numerator": "Emergency admissions via type 1 A&E in the month",
             "denominator": "Type 1 A&E attendances in the month", "unit": "percent",
             "improvement_direction": "neutral"},
        ],
    }


def write_example(source_csv: str | Path, out_dir: str | Path, trusts: list[str] | None = None, *,
                  project_id: str = "ae_4h", names: dict[str, str] | None = None,
                  title: str = "Four-hour A&E standard in type 1 emergency departments",
                  network: str = "NHS England type 1 emergency departments",
                  baseline: tuple[str, str] = ("2016-04", "2017-03"),
                  intervention: tuple[str, str] = ("2017-04", "2019-03")) -> Path:
    """Write ``<out_dir>/params/<project_id>.yaml`` and ``<out_dir>/data/<project_id>/`` (sites,
    measure_values, pdsa_cycles) for ``trusts`` (ODS codes with a type 1 department; all of them
    when None). Returns the params path. Raises ValueError for a trust without type 1 rows."""
    ae = read_ae(source_csv)
    known = list(dict.fromkeys(ae["org_code"]))
    trusts = known if trusts is None else list(trusts)
    unknown = [t for t in trusts if t not in set(known)]
    if unknown:
        raise ValueError(f"no type 1 rows in {source_csv} for {', '.join(unknown)}")
    ae = ae.loc[ae["org_code"].isin(trusts)]
    names = names or {}
    out = Path(out_dir)
    data_dir = out / "data" / project_id
    sites = pd.DataFrame({"site_id": trusts, "site_name": [names.get(t, f"Trust {t}") for t in trusts],
                          "network": network, "list_size": ""})
    write_atomic(data_dir / "sites.csv", sites.to_csv(index=False, lineterminator="\n"))
    write_atomic(data_dir / "measure_values.csv", measure_values(ae).to_csv(index=False, lineterminator="\n"))
    write_atomic(data_dir / "pdsa_cycles.csv", pd.DataFrame([CONTEXT]).to_csv(index=False, lineterminator="\n"))
    header = ("# Written by qieval.demo.ae.write_example from NHS England A&E data (NHSRdatasets 0.3.3\n"
              "# ae_attendances, CC0). Real, public, aggregate data; months a trust did not report are\n"
              "# left out, so allow_gaps is true and validation lists them as warnings.\n")
    body = yaml.safe_dump(params(project_id, trusts, title=title, baseline=baseline,
                                 intervention=intervention, network=network),
                          sort_keys=False, allow_unicode=True, width=100)
    return write_atomic(out / "params" / f"{project_id}.yaml", header + body)


__all__ = ["read_ae", "measure_values", "params", "write_example", "SOURCE_COLUMNS"]
