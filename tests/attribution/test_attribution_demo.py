"""The demo project shows both cases the issue asks for: a separable category (education, whose
starts are staggered across the four practices) and an inseparable pair (staffing and IT, which
started in the same month at every practice) — and one practice alone cannot separate anything."""

import numpy as np
import pytest

from qieval.attribution import fit
from qieval.demo import deprescribing
from qieval.io.load import load_project


@pytest.fixture(scope="module")
def demo(demo_root_session):
    data = load_project(demo_root_session / "params" / "deprescribing.yaml")
    return data.measure_values, data.pdsa_cycles[["site_id", "start", "category"]]


def test_pooled_sites_separate_education_but_not_staffing_and_it(demo):
    mv, iv = demo
    a = fit(mv[mv["measure_id"] == "register_prevalence"], iv, family="binomial")
    eff = a.effects.set_index("category")
    assert bool(eff.loc["education", "separable"])
    assert not eff.loc["staffing", "separable"] and not eff.loc["IT", "separable"]
    assert "cannot separate" in eff.loc["staffing", "note"]
    # the true odds ratio of the seeded model lies inside the reported interval
    true_or = np.exp(deprescribing.TRUE_EFFECTS["register_prevalence"]["education"])
    assert eff.loc["education", "ratio_low"] < true_or < eff.loc["education", "ratio_high"]


def test_one_practice_with_simultaneous_starts_cannot_separate(demo):
    mv, iv = demo
    site = "abbey_view"  # education, staffing and IT all started in June 2022
    a = fit(mv[(mv["measure_id"] == "register_prevalence") & (mv["site_id"] == site)],
            iv[iv["site_id"] == site], family="binomial")
    assert not a.effects["separable"].any()


def test_zero_baseline_is_reported_not_estimated(demo):
    mv, iv = demo
    a = fit(mv[mv["measure_id"] == "conversation_offered"], iv, family="binomial")
    assert not a.effects["separable"].any()
    assert all("no events" in n for n in a.effects["note"])
    assert not any("caused" in s for s in a.sentences)
