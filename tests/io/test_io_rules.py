"""Unit tests: one per rule function of :mod:`qieval.io.rules`, on tiny hand-made frames.

Each rule takes typed columns whose index is the spreadsheet row number and returns a frame of
``row, column, message``; these tests check the rows flagged and that the message says what was
expected and what was found.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qieval.io import rules


def s(values, name, rows=None, dtype=None) -> pd.Series:
    """A column with spreadsheet row numbers as its index (default rows 2, 3, …)."""
    rows = rows or list(range(2, 2 + len(values)))
    return pd.Series(values, index=rows, name=name, dtype=dtype)


def months(texts, name="period", rows=None) -> pd.Series:
    return s(pd.to_datetime(texts, format="%Y-%m"), name, rows)


def flagged(out: pd.DataFrame) -> list[int]:
    assert list(out.columns) == rules.COLUMNS
    return [int(r) for r in out["row"]]


def test_unknown_values_flags_ids_not_listed_and_names_the_list():
    out = rules.unknown_values(s(["a", "x", "", "b", "x"], "site_id"), ["a", "b", "a"], "site", "sites.csv")
    assert flagged(out) == [3, 6]
    assert set(out["column"]) == {"site_id"}
    assert out["message"].iloc[0] == "unknown site 'x' (not in sites.csv: a, b)"


def test_unknown_values_none_when_all_known():
    assert rules.unknown_values(s(["a", "b"], "site_id"), ["a", "b"], "site", "x").empty


def test_duplicate_keys_flags_repeats_not_the_first():
    frame = pd.DataFrame(
        {"site_id": ["a", "a", "b", "a"], "measure_id": ["m", "m", "m", "m"],
         "period": pd.to_datetime(["2022-01", "2022-02", "2022-01", "2022-01"], format="%Y-%m")},
        index=[2, 3, 4, 5],
    )
    out = rules.duplicate_keys(frame, ["site_id", "measure_id", "period"], "row")
    assert flagged(out) == [5]
    assert out["column"].iloc[0] == "period"
    assert out["message"].iloc[0].endswith("first given on row 2")
    assert "site_id a" in out["message"].iloc[0]


def test_duplicate_keys_ignores_rows_with_missing_keys():
    frame = pd.DataFrame({"k": [None, None, "x"]}, index=[2, 3, 4])
    assert rules.duplicate_keys(frame, ["k"], "row").empty


def test_counts_not_negative():
    out = rules.counts_not_negative(s([0.0, -4.0, 3.0, None], "numerator"))
    assert flagged(out) == [3]
    assert out["message"].iloc[0] == "expected a count of 0 or more, got -4"


def test_numerator_within_denominator_only_for_proportions():
    num = s([45.0, 45.0, 5.0, 5.0, 1.0], "numerator")
    den = s([30.0, 30.0, 30.0, None, -3.0], "denominator")
    proportion = s([True, False, True, True, True], "p")
    out = rules.numerator_within_denominator(num, den, proportion)
    assert flagged(out) == [2]  # row 3 is a rate; blank or negative denominators are other rules
    assert out["column"].iloc[0] == "numerator"
    assert out["message"].iloc[0] == "45 exceeds the denominator 30"


def test_denominator_positive():
    den = s([0.0, 0.0, 5.0], "denominator")
    out = rules.denominator_positive(den, s([True, False, True], "needs"))
    assert flagged(out) == [2]
    assert "denominator is 0" in out["message"].iloc[0]


def test_required_for_unit():
    values = s([None, 1.0, None], "value")
    out = rules.required_for_unit(values, s([True, True, False], "n"), s(["continuous"] * 3, "u"))
    assert flagged(out) == [2]
    assert out["message"].iloc[0] == "a value is required here for a continuous measure"


def test_not_in_future():
    dates = s(pd.to_datetime(["2022-01-01", "2030-05-01", None]), "start")
    out = rules.not_in_future(dates, dt.date(2025, 1, 1))
    assert flagged(out) == [3]
    assert out["message"].iloc[0] == "2030-05-01 is in the future (today is 2025-01-01)"


def test_not_in_future_today_is_not_future():
    assert rules.not_in_future(s(pd.to_datetime(["2025-01-01"]), "start"), dt.date(2025, 1, 1)).empty


@pytest.mark.parametrize("value, bad", [(0.0, True), (-5.0, True), (1.0, False), (11842.0, False)])
def test_positive_whole(value, bad):
    out = rules.positive_whole(s([value], "list_size"), "list size")
    assert flagged(out) == ([2] if bad else [])
    if bad:
        assert out["message"].iloc[0] == f"list size must be a positive whole number, got {value:g}"


def test_end_not_before_start():
    start = s(pd.to_datetime(["2022-04-04", "2022-04-04", "2022-04-04"]), "start")
    end = s(pd.to_datetime(["2022-03-06", "2022-04-04", None]), "end")
    out = rules.end_not_before_start(start, end)
    assert flagged(out) == [2]  # same day is fine; a blank end means ongoing
    assert out["message"].iloc[0] == "cycle ends 2022-03-06 before it starts 2022-04-04"


def _series(periods, site="a", measure="m", rows=None):
    return pd.DataFrame(
        {"site_id": site, "measure_id": measure, "period": pd.to_datetime(periods)},
        index=rows or list(range(2, 2 + len(periods))),
    )


def test_series_gaps_monthly_flags_the_row_after_the_gap():
    frame = _series(["2022-01-01", "2022-02-01", "2022-05-01", "2022-06-01"])
    out = rules.series_gaps(frame, "month")
    assert flagged(out) == [4]
    msg = out["message"].iloc[0]
    assert "2 month(s) missing (2022-03 to 2022-04)" in msg and "allow_gaps: true" in msg


def test_series_gaps_is_per_site_and_measure_and_ignores_row_order():
    a = _series(["2022-03-01", "2022-01-01"], site="a", rows=[2, 3])
    b = _series(["2022-02-01"], site="b", rows=[4])
    out = rules.series_gaps(pd.concat([a, b]), "month")
    assert flagged(out) == [2]  # a: Jan then Mar (Feb of site b does not fill it)


def test_series_gaps_none_for_consecutive_months_or_duplicates():
    assert rules.series_gaps(_series(["2022-01-01", "2022-02-01", "2022-02-01"]), "month").empty
    assert rules.series_gaps(_series([]), "month").empty


def test_series_gaps_weekly():
    out = rules.series_gaps(_series(["2022-01-03", "2022-01-10", "2022-01-31"]), "week")
    assert flagged(out) == [4]
    assert "2 week(s) missing (2022-01-17 to 2022-01-24)" in out["message"].iloc[0]


def test_series_gaps_allowed_wording():
    out = rules.series_gaps(_series(["2022-01-01", "2022-03-01"]), "month", allowed=True)
    assert "allowed by allow_gaps: true" in out["message"].iloc[0]


def test_config_sites_in_table(project):
    from qieval.config import load_config

    config = load_config(project.path("params/deprescribing.yaml"))
    assert rules.config_sites_in_table(config, pd.Series(["hillside", "riverside"])) == [
        "abbey_view", "meadowbank"]


def test_swapped_columns_reports_once_on_the_header_row():
    evidence = s([True, True, True, None, True], "e")
    out = rules.swapped_columns(evidence, "numerator", "denominator", 1, "the numerator is larger")
    assert flagged(out) == [1]
    assert out["message"].iloc[0] == ("the numerator is larger on 4 of 4 rows: are the 'numerator' "
                                      "and 'denominator' headers swapped?")


@pytest.mark.parametrize("evidence", [[True, True], [True, True, False, False], [None, None, None]])
def test_swapped_columns_needs_most_of_several_rows(evidence):
    assert rules.swapped_columns(s(evidence, "e", dtype="object"), "a", "b", 1, "x").empty
