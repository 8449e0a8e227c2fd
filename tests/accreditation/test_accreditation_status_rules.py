"""Status rules, one function at a time, on values worked out by hand."""

import math

import pandas as pd
import pytest

from qieval.accreditation import status_rules
from qieval.io.standards import Rule

RULE = Rule(min_level=2, evidence_required=True, measures_must_meet=True, progressing_min_improved=1)


def test_a_tie_at_the_threshold_meets_it():
    # 40 register patients of 10,000 listed = 0.4% exactly: "≥ 0.4" includes the tie.
    assert status_rules.measure_meets(40 / 10_000 * 100, ">=", 0.4)
    assert status_rules.measure_meets(0.4, ">=", 0.4)
    assert status_rules.measure_meets(30.0, "<=", 30)


def test_just_below_a_threshold_does_not_meet_it():
    assert not status_rules.measure_meets(39 / 10_000 * 100, ">=", 0.4)  # 0.39%
    assert not status_rules.measure_meets(0.3999, ">=", 0.4)
    assert not status_rules.measure_meets(30.01, "<=", 30)


def test_no_data_never_meets():
    assert not status_rules.measure_meets(float("nan"), ">=", 0.4)
    assert not status_rules.measure_meets(None, ">=", 0.4)


def test_standard_met_needs_the_level_and_evidence():
    assert status_rules.standard_met(2, "MDT minutes, Mar 2023", RULE)
    assert status_rules.standard_met(3, "x", RULE)
    assert not status_rules.standard_met(2, "", RULE)  # claimed, but no evidence
    assert not status_rules.standard_met(2, "   ", RULE)
    assert not status_rules.standard_met(2, float("nan"), RULE)  # blank cell read by pandas
    assert not status_rules.standard_met(1, "minutes", RULE)
    assert not status_rules.standard_met(None, "minutes", RULE)  # not assessed
    assert not status_rules.standard_met(pd.NA, "minutes", RULE)
    assert status_rules.standard_met(2, "", Rule(evidence_required=False))


def test_claimed_met_is_the_level_alone():
    assert status_rules.claimed_met(2, RULE) and not status_rules.claimed_met(1, RULE)
    assert status_rules.claimed_met(1, Rule(min_level=1))


def test_round_accredited():
    assert status_rules.round_accredited([True, True], [True], RULE)
    assert not status_rules.round_accredited([True, False], [True], RULE)
    assert not status_rules.round_accredited([True, True], [False], RULE)
    assert status_rules.round_accredited([True, True], [False], Rule(measures_must_meet=False))
    assert status_rules.round_accredited([True], [], RULE)  # no linked measures
    assert not status_rules.round_accredited([], [], RULE)  # nothing assessed


def test_improved_needs_a_higher_level_with_evidence():
    assert status_rules.improved(2, 1, "plan", RULE)
    assert not status_rules.improved(1, 1, "plan", RULE)  # same level
    assert not status_rules.improved(2, 1, "", RULE)  # no evidence
    assert not status_rules.improved(2, None, "plan", RULE)  # no baseline for the standard
    assert not status_rules.improved(0, 2, "plan", RULE)  # went down


@pytest.mark.parametrize("accredited, improved, expected", [
    (True, 0, "accredited"), (False, 1, "progressing"), (False, 0, "not yet"), (False, 5, "progressing"),
])
def test_site_status(accredited, improved, expected):
    assert status_rules.site_status(accredited, improved, RULE) == expected


def test_progressing_threshold_is_configurable():
    assert status_rules.site_status(False, 2, Rule(progressing_min_improved=3)) == "not yet"
    assert status_rules.site_status(False, 3, Rule(progressing_min_improved=3)) == "progressing"


@pytest.mark.parametrize("rounds, expected", [
    ([False, True, True], "sustained"),
    ([False, False, True], "new"),
    ([False, True, False, True], "new"),  # re-accredited after a lapse
    ([False, True, False], "lapsed"),
    ([True, False, False], "lapsed"),
    ([False, False], "never"),
    ([False], "never"),
    ([], "never"),
])
def test_history(rounds, expected):
    assert status_rules.history(rounds) == expected


def test_contradicted():
    assert status_rules.contradicted(3, False, RULE)  # claims met, data disagree
    assert not status_rules.contradicted(1, False, RULE)  # does not claim met
    assert not status_rules.contradicted(2, True, RULE)
    assert not status_rules.contradicted(None, False, RULE)
    assert math.isclose(status_rules.TIE_TOLERANCE, 1e-9)
