"""Hand-made frameworks, assessments and checks for the accreditation tests."""

from __future__ import annotations

import pandas as pd

from qieval.io.standards import Framework
from qieval.io.assessment_rounds import round_number


def small_framework(**rule) -> Framework:
    """Two standards; S1 linked to register_prevalence ≥ 0.4 (%)."""
    levels = {0: "not in place", 1: "developing", 2: "established", 3: "embedded"}
    return Framework.model_validate({
        "id": "tiny", "title": "Tiny framework", "levels": levels,
        "accreditation": {"min_level": 2, "evidence_required": True, "measures_must_meet": True,
                          "measure_window_months": 3, "progressing_min_improved": 1, **rule},
        "standards": [
            {"id": "S1", "title": "Identifying patients", "met": "m", "levels": levels, "evidence": ["e"],
             "measure": {"id": "register_prevalence", "threshold": 0.4, "name": "register size"}},
            {"id": "S2", "title": "Carer support", "met": "m", "levels": levels, "evidence": ["e"]},
        ],
    })


def assessments(rows: list[tuple]) -> pd.DataFrame:
    """(site, standard, round, assessed_on, level, evidence) → the typed assessments frame."""
    frame = pd.DataFrame(rows, columns=["site_id", "standard_id", "round", "assessed_on", "level", "evidence"])
    return frame.assign(assessed_on=pd.to_datetime(frame["assessed_on"]),
                        round_no=frame["round"].map(round_number).astype("int64"),
                        level=frame["level"].astype("int64"))


def checks(rows: list[tuple]) -> pd.DataFrame:
    """(site, round, value) of S1's linked measure → a measure_checks-shaped frame (≥ 0.4)."""
    out = []
    for site, rnd, value in rows:
        out.append({"site_id": site, "round_no": round_number(rnd), "round": rnd, "standard_id": "S1",
                    "measure_id": "register_prevalence", "window_start": pd.Timestamp("2023-01-01"),
                    "window_end": pd.Timestamp("2023-03-01"), "months": 3, "numerator": float("nan"),
                    "denominator": float("nan"), "value": value, "comparison": ">=", "threshold": 0.4,
                    "meets": value == value and value >= 0.4, "name": "register size", "label": "%",
                    "decimals": 2})
    return pd.DataFrame(out)
