"""Disclosure control on hand-worked tables: primary suppression of 1–7, rounding to the
nearest 5, percentages from the rounded counts, secondary suppression against published totals,
audiences and chart series. Policy: NHS Digital HES/ECDS disclosure control (2018); see
``qieval.disclosure``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from qieval.disclosure import (RESTRICTED_TEXT, DisclosurePolicy, apply_policy, policy_for, restricted_banner,
                               scan_for_small_counts, secondary_suppression, suppress_series)

P = DisclosurePolicy()


def test_defaults_follow_nhs_digital():
    assert (P.low, P.high, P.rounding_base, P.suppress_zero, P.marker) == (1, 7, 5, False, "*")
    assert P.threshold == 8 and P.enabled and P.secondary


def test_counts_suppressed_and_rounded():
    t = pd.DataFrame({"site": list("abcd"), "n": [3, 12, 0, 27]})
    out = apply_policy(t, P, ["n"])
    assert out["n"].tolist() == ["*", "10", "0", "25"]
    assert out["site"].tolist() == list("abcd")
    assert t["n"].tolist() == [3, 12, 0, 27], "apply_policy must not change its input"


@pytest.mark.parametrize("count, shown", [(1, "*"), (7, "*"), (8, "10"), (12, "10"), (13, "15"), (15, "15"),
                                          (17, "15"), (18, "20"), (22, "20"), (23, "25"), (1234, "1235")])
def test_boundaries_by_hand(count, shown):
    assert apply_policy(pd.DataFrame({"n": [count]}), P, ["n"])["n"].iloc[0] == shown


def test_zero_and_missing():
    t = pd.DataFrame({"n": [0, np.nan, 5]})
    assert apply_policy(t, P, ["n"])["n"].tolist() == ["0", "–", "*"]
    z = DisclosurePolicy(suppress_zero=True, marker="<8")
    assert apply_policy(t, z, ["n"])["n"].tolist() == ["<8", "–", "<8"]


def test_rounding_half_up_with_base_10():
    p = DisclosurePolicy(rounding_base=10, high=9)
    assert apply_policy(pd.DataFrame({"n": [15, 25, 14, 9, 10]}), p, ["n"])["n"].tolist() == ["20", "30", "10", "*", "10"]


def test_percentage_from_rounded_counts_and_suppressed_with_its_numerator():
    """Numerators [3, 12, 40], denominators [20, 23, 103]: 3 is suppressed, so is its
    percentage; 12/23 is shown as 10/25 = 40.0% (not 52.2%); 40/103 as 40/105 = 38.1%."""
    t = pd.DataFrame({"num": [3, 12, 40], "den": [20, 23, 103], "pct": [15.0, 52.17, 38.83]})
    out = apply_policy(t, P, ["num", "den"], derived={"pct": ("num", "den")})
    assert out["num"].tolist() == ["*", "10", "40"]
    assert out["den"].tolist() == ["20", "25", "105"]
    assert out["pct"].tolist() == ["*", "40.0", "38.1"]


def test_percentage_suppressed_with_its_denominator():
    t = pd.DataFrame({"num": [0, 0], "den": [5, 9]})
    out = apply_policy(t, P, ["num", "den"], derived={"pct": ("num", "den")})
    assert out["pct"].tolist() == ["*", "0.0"]
    assert out["den"].tolist() == ["*", "10"]


def test_row_total_with_one_suppressed_cell_triggers_secondary_suppression():
    """Sites a..c and their total: a = 3 is suppressed; total − b − c would give it back, so the
    next smallest cell (b = 12) is suppressed too; c and the total stay."""
    t = pd.DataFrame({"site": ["a", "b", "c", "total"], "n": [3, 12, 20, 35],
                      "is_total": [False, False, False, True]})
    out = apply_policy(t, P, ["n"], total_rows="is_total")
    assert out["n"].tolist() == ["*", "*", "20", "35"]


def test_secondary_prefers_a_non_zero_cell():
    t = pd.DataFrame({"n": [4, 0, 30, 50, 84], "is_total": [False] * 4 + [True]})
    assert apply_policy(t, P, ["n"], total_rows="is_total")["n"].tolist() == ["*", "0", "*", "50", "85"]


def test_no_secondary_when_two_cells_are_already_suppressed():
    t = pd.DataFrame({"n": [3, 5, 20, 28], "is_total": [False, False, False, True]})
    assert apply_policy(t, P, ["n"], total_rows="is_total")["n"].tolist() == ["*", "*", "20", "30"]


def test_secondary_per_group_and_per_column():
    """Two networks, each with its own total row; only network X needs a secondary cell, in the
    column where its small count is."""
    t = pd.DataFrame({
        "network": ["X", "X", "X", "Y", "Y", "Y"], "site": ["a", "b", "X total", "c", "d", "Y total"],
        "offered": [2, 30, 32, 10, 12, 22], "register": [40, 41, 81, 50, 60, 110],
        "is_total": [False, False, True, False, False, True]})
    out = apply_policy(t, P, ["offered", "register"], total_rows="is_total", groups="network")
    assert out["offered"].tolist() == ["*", "*", "30", "10", "10", "20"]
    assert out["register"].tolist() == ["40", "40", "80", "50", "60", "110"]


def test_secondary_across_a_row_total_then_cascades_down_a_column():
    """Cell (r1, x) = 2 is suppressed; its row total exposes it, so (r1, y) = 9 goes too; column y
    has a total row, which now exposes (r1, y), so the next smallest in y (r2, y) = 10 goes."""
    t = pd.DataFrame({"row": ["r1", "r2", "all"], "x": [2, 20, 22], "y": [9, 10, 19], "z": [30, 40, 70],
                      "total": [41, 70, 111], "is_total": [False, False, True]})
    out = apply_policy(t, P, ["x", "y", "z", "total"], total_rows="is_total",
                       row_totals={"total": ["x", "y", "z"]})
    assert out["x"].tolist() == ["*", "*", "20"]
    assert out["y"].tolist() == ["*", "*", "20"]
    assert out.loc[2, "z"] == "70" and out.loc[0, "total"] == "40"
    # every relation now has 0 or ≥ 2 suppressed cells
    hidden = out[["x", "y", "z", "total"]] == "*"
    assert all(hidden.loc[i].sum() != 1 for i in hidden.index)
    assert all(hidden[c].sum() != 1 for c in hidden.columns)


def test_secondary_suppression_mask_function():
    values = pd.DataFrame({"n": [5.0, 9.0, 11.0, 25.0]})
    mask = pd.DataFrame({"n": [True, False, False, False]})
    out = secondary_suppression(values, mask, [((3, "n"), [(0, "n"), (1, "n"), (2, "n")])])
    assert out["n"].tolist() == [True, True, False, False]
    assert mask["n"].tolist() == [True, False, False, False], "pure: the input mask is unchanged"


def test_secondary_can_be_switched_off():
    t = pd.DataFrame({"n": [3, 12, 20, 35], "is_total": [False, False, False, True]})
    p = DisclosurePolicy(secondary=False)
    assert apply_policy(t, p, ["n"], total_rows="is_total")["n"].tolist() == ["*", "10", "20", "35"]


def test_evaluator_policy_changes_nothing():
    t = pd.DataFrame({"num": [3, 12], "den": [20, 23]})
    ev = policy_for("evaluator", {"disclosure": {"high": 9}})
    out = apply_policy(t, ev, ["num", "den"], derived={"pct": ("num", "den")})
    assert out["num"].tolist() == ["3", "12"] and out["pct"].tolist() == ["15.0", "52.2"]


def test_policy_from_params_with_audience_overrides():
    params = {"disclosure": {"high": 9, "rounding_base": 10, "public": {"marker": "<10"}}}
    com, pub = policy_for("commissioner", params), policy_for("public", params)
    assert (com.high, com.rounding_base, com.marker, com.enabled) == (9, 10, "*", True)
    assert (pub.high, pub.marker) == (9, "<10")
    assert policy_for("public", None) == DisclosurePolicy()
    with pytest.raises(ValueError):
        policy_for("press", {})
    with pytest.raises(ValidationError):
        policy_for("public", {"disclosure": {"hgih": 9}})
    with pytest.raises(ValidationError):
        DisclosurePolicy(low=8, high=7)


def test_restricted_banner():
    assert RESTRICTED_TEXT in restricted_banner("evaluator")
    assert RESTRICTED_TEXT in restricted_banner(None), "an unstated audience is treated as restricted"
    assert restricted_banner("commissioner") == "" and restricted_banner("public") == ""


def test_footnote_names_the_rules():
    text = P.footnote()
    assert "* = 1 to 7" in text and "nearest 5" in text and "rounded counts" in text


def test_suppress_series_blanks_small_points_and_says_so():
    s = pd.DataFrame({"period": pd.period_range("2022-01", periods=5, freq="M").to_timestamp(),
                      "numerator": [0, 3, 12, 20, 6], "denominator": [40, 41, 42, 43, 44]})
    s["y"] = 100 * s["numerator"] / s["denominator"]
    out, note = suppress_series(s, P)
    assert out["suppressed"].tolist() == [False, True, False, False, True]
    assert out["y"].isna().tolist() == [False, True, False, False, True]
    assert out.loc[2, "y"] == pytest.approx(100 * 12 / 42), "exact values kept by default (SPC limits)"
    assert note.startswith("2 of 5 points not shown") and "1 to 7" in note
    rounded, _ = suppress_series(s, DisclosurePolicy(chart_values="rounded"))
    assert rounded.loc[2, "y"] == pytest.approx(100 * 10 / 40)


def test_suppress_series_all_small_and_evaluator():
    s = pd.DataFrame({"numerator": [1, 2], "denominator": [30, 30], "y": [3.3, 6.7]})
    _, note = suppress_series(s, P)
    assert note.startswith("Not charted for this audience")
    out, note = suppress_series(s, policy_for("evaluator"))
    assert note == "" and out["y"].tolist() == [3.3, 6.7]
    cont = pd.DataFrame({"value": [1.0, 2.0], "y": [1.0, 2.0]})
    assert suppress_series(cont, P)[1] == ""


def test_published_table_passes_the_scanner():
    t = pd.DataFrame({"site": list("abcd"), "n": [3, 12, 0, 27]})
    raw = t.to_html(index=False)
    assert scan_for_small_counts(raw, 8) == ["table 1, row 2, column n: 3"]
    assert scan_for_small_counts(apply_policy(t, P, ["n"]).to_html(index=False), 8) == []


def test_scalar_helpers_for_prose_and_labels():
    assert [P.show_count(n) for n in (3, 12, 0, 27, 1234, None)] == ["*", "10", "0", "25", "1,235", "–"]
    assert P.show_count(5, prose=True) == "fewer than 8"
    assert P.show_percent(3, 40) == "*" and P.show_percent(12, 23) == "40.0"
    assert P.show_percent(3, 40, prose=True) == "not shown (small numbers)"
    ev = policy_for("evaluator")
    assert ev.show_count(3) == "3" and ev.show_percent(12, 23) == "52.2"


def test_derived_counts_must_be_count_columns():
    with pytest.raises(ValueError, match="count_columns"):
        apply_policy(pd.DataFrame({"num": [3], "den": [20]}), P, ["num"], derived={"pct": ("num", "den")})


def test_params_model_for_the_project_config():
    from qieval.disclosure import DisclosureParams

    block = DisclosureParams(high=9, public={"marker": "<10"})
    assert policy_for("public", {"disclosure": block}).marker == "<10"
    assert policy_for("commissioner", {"disclosure": block}).marker == "*"
    assert policy_for("commissioner", {"disclosure": block}).high == 9
