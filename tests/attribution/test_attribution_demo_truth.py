"""Truth recovery on the three demo projects (all sites pooled, default options), from the
generators' stated mechanisms (src/qieval/demo/*.py): no claim may contradict them.

A claim is an "associated with" sentence (interval excluding no change). Where the generator gives a
category no effect on a measure, there must be no claim; where it states a direction, a claim (if
any) must have that direction. Categories that started in the same month everywhere must be
reported as not separable. The expectations below are read from the generators, not from fit().
"""

import numpy as np
import pytest

from attribution_simulate import single_threaded_blas
from qieval.io.load import load_project
from qieval.report.attribution_section import fit_measure

NULL, DOWN, UP = 0, -1, 1
# project -> measure -> category -> truth (NULL, DOWN, UP); categories not listed: no statement
TRUTH = {
    "opioids": {  # reviews (process) taper > 120 mg and stop gabapentinoids and long-term use; the focus
        # group (other) and education do nothing; the MDT (staffing) adds to tapering and clinician time
        "high_dose": {"process": DOWN, "other": NULL, "education": NULL},
        "long_term": {"process": DOWN, "other": NULL, "education": NULL},
        "with_gabapentinoid": {"process": DOWN, "other": NULL, "education": NULL},
        "opioid_prevalence": {"process": DOWN, "other": NULL, "education": NULL},
        "median_ome": {"process": DOWN, "other": NULL, "education": NULL},
        "clinician_hours": {"process": UP, "other": NULL, "education": NULL},
    },
    "deprescribing": {  # TRUE_EFFECTS in deprescribing.py
        "register_prevalence": {"education": UP, "staffing": UP, "IT": UP},
        "medicines_per_patient": {"education": DOWN, "staffing": DOWN, "IT": DOWN},
        "clinician_minutes": {"education": UP, "staffing": UP, "IT": DOWN},
    },
    "pccc": {  # clinical leads (staffing) shorten waits and avoid admissions; weekend opening (process)
        # removes the +48 h wait of weekend referrals; the tool (IT) shortens waits and avoids admissions;
        # neither process nor IT changes admission within 7 days
        "admitted": {"process": NULL, "IT": NULL},
        "admissions_avoided": {"process": NULL, "IT": UP},
        "hours_to_package": {"process": DOWN, "IT": DOWN},
        "packages_within_24h": {"process": UP, "IT": UP},
    },
}
SAME_MONTH = {"opioids": {"other", "education", "staffing"}, "pccc": {"staffing"}}


@pytest.fixture(scope="module")
def fits(demo_root_session):
    out = {}
    with single_threaded_blas():
        for project, measures in TRUTH.items():
            data = load_project(demo_root_session / "params" / f"{project}.yaml")
            for m in data.config.measures:
                out[(project, m.id)] = fit_measure(data.measure_values, data.pdsa_cycles, m)
    return out


def _claim(row, family):
    lo, hi, null = ((row["estimate_low"], row["estimate_high"], 0.0) if family == "gaussian"
                    else (row["ratio_low"], row["ratio_high"], 1.0))
    if not row["separable"] or not np.isfinite(lo):
        return NULL
    return UP if lo > null else DOWN if hi < null else NULL


@pytest.mark.parametrize("project", sorted(TRUTH))
def test_no_claim_contradicts_the_generator(fits, project):
    for measure, truths in TRUTH[project].items():
        a = fits[(project, measure)]
        assert not isinstance(a, str), (project, measure, a)
        eff = a.effects.set_index("category")
        for cat, truth in truths.items():
            row = eff.loc[cat]
            claim = _claim(row, a.family)
            said = "associated with" in row["sentence"]
            assert said == (claim != NULL), (project, measure, cat, row["sentence"])
            if truth == NULL:
                assert claim == NULL, (project, measure, cat, row["sentence"])
            elif claim != NULL:
                assert claim == truth, (project, measure, cat, row["sentence"])
            assert "caus" not in row["sentence"].lower()


@pytest.mark.parametrize("project", sorted(SAME_MONTH))
def test_same_month_categories_are_not_separable(fits, project):
    for (p, measure), a in fits.items():
        if p != project or isinstance(a, str):
            continue
        eff = a.effects.set_index("category")
        for cat in SAME_MONTH[project] & set(eff.index):
            assert not eff.loc[cat, "separable"], (measure, cat)
            note = eff.loc[cat, "note"]
            assert ("not separable from other changes over time shared by all sites" in note
                    or "zero baseline" in note), (measure, cat, note)


def test_opioid_reviews_are_estimated_with_the_horizons_the_data_identify(fits):
    """The reviews start in five different months (2023-04 to 2023-10), so they are separable; every
    site has started by 2023-10, so months since the start beyond the first few have no site without
    the reviews to compare with, and the effect there rests on extrapolation: the table says so
    (``comparison_sites`` 0) and the interval is wide rather than falsely precise."""
    a = fits[("opioids", "high_dose")]
    eff = a.effects.set_index("category")
    row = eff.loc["process"]
    assert row["separable"] and np.isfinite(row["estimate"]) and row["n_sites"] == 5
    assert a.time_effects == "calendar" and a.impact == "event_time"
    months = a.effects[a.effects["category"].str.startswith("process:month_")]
    assert months["comparison_sites"].iloc[0] == 4  # month 0: four sites had not started yet
    assert (months["comparison_sites"].iloc[-5:] == 0).all()
    assert months.loc[months["comparison_sites"] == 0, "note"].str.contains("estimated only through").all()
    assert row["ratio_high"] >= 1 or row["ratio_high"] < 1 and "associated with" in row["sentence"]
    assert "smallest change" in row["sentence"] or "associated with" in row["sentence"]
