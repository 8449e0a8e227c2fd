"""Bad input raises InputError naming the argument, row and column."""

import pandas as pd
import pytest

from qieval.attribution import fit
from qieval.errors import InputError
from attribution_helpers import iv, series


def _problem(exc):
    assert len(exc.value.problems) == 1
    return exc.value.problems[0]


def test_missing_column():
    mv = series(["A"]).drop(columns=["denominator"])
    with pytest.raises(InputError) as e:
        fit(mv, iv([("A", "2022-06-01", "x")]))
    p = _problem(e)
    assert (p.file, p.row, p.column) == ("measure_values", None, "denominator")


def test_no_rows():
    mv = series(["A"]).iloc[:0]
    with pytest.raises(InputError) as e:
        fit(mv, iv([("A", "2022-06-01", "x")]))
    assert _problem(e).file == "measure_values"


def test_numerator_greater_than_denominator_names_row():
    mv = series(["A"])
    mv.loc[4, "numerator"] = mv.loc[4, "denominator"] + 1
    with pytest.raises(InputError) as e:
        fit(mv, iv([("A", "2022-06-01", "x")]))
    p = _problem(e)
    assert (p.file, p.row, p.column) == ("measure_values", 6, "numerator")  # header is row 1


def test_unknown_site_in_interventions():
    with pytest.raises(InputError) as e:
        fit(series(["A"]), iv([("A", "2022-06-01", "x"), ("Z", "2022-06-01", "y")]))
    p = _problem(e)
    assert (p.file, p.row, p.column) == ("interventions", 3, "site_id")
    assert "Z" in p.message


def test_interventions_missing_column():
    with pytest.raises(InputError) as e:
        fit(series(["A"]), pd.DataFrame({"site_id": ["A"], "start": ["2022-06-01"]}))
    assert (_problem(e).file, _problem(e).column) == ("interventions", "category")


def test_gaussian_accepts_value_column_without_numerator():
    mv = series(["A"])
    mv = mv.assign(value=mv["numerator"] / mv["denominator"]).drop(columns=["numerator", "denominator"])
    a = fit(mv, iv([("A", "2022-06-01", "x")]), family="gaussian")
    assert a.effects["separable"].all() and a.effects["ratio"].isna().all()


def test_unknown_family():
    with pytest.raises(InputError):
        fit(series(["A"]), None, family="negbin")


@pytest.mark.parametrize("kw", [dict(harmonics=6), dict(harmonics=-1), dict(time_effects="site"),
                                dict(level=95), dict(ci_distribution="z"), dict(rate_per=0)])
def test_bad_options_name_the_argument(kw):
    with pytest.raises(InputError) as e:
        fit(series(["A"]), iv([("A", "2022-06-01", "x")]), **kw)
    assert _problem(e).file == next(iter(kw))


def test_interventions_all_expands_and_first_start_counts():
    from qieval.attribution.inputs import tidy_interventions

    ivs = iv([("ALL", "2022-06-15", "huddle"), ("B", "2022-03-01", "huddle"), ("A", "2022-09-01", "huddle"),
              ("A", "2022-04-30", "rota")])
    t = tidy_interventions(ivs, ["A", "B"])
    got = {(r.site_id, r.category): (f"{r.start:%Y-%m-%d}", f"{r.on_period:%Y-%m-%d}") for r in t.itertuples()}
    assert got == {("A", "huddle"): ("2022-06-15", "2022-06-01"), ("B", "huddle"): ("2022-03-01", "2022-03-01"),
                   ("A", "rota"): ("2022-04-30", "2022-04-01")}
