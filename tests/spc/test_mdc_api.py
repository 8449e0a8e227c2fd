"""qieval.spc.mdc / mdc_icons: output shape, dtypes, sorting, warnings and argument errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from qieval.errors import InputError
from qieval.spc.mdc import mdc, mdc_icons

COLUMNS = ["x", "y", "mean", "lpl", "upl", "nlpl", "nupl", "rebase_group", "outside_limits",
           "close_to_limits", "relative_to_mean", "special_cause_flag", "point_type", "target"]


def frame(n=15, **extra):
    df = pd.DataFrame({"month": pd.date_range("2020-01-01", periods=n, freq="MS"),
                       "v": ([8.0, 12.0] * n)[:n]})
    return df.assign(**extra)


def test_columns_and_dtypes_without_facet():
    res = mdc(frame(), "v", "month")
    assert list(res.columns) == ["f", *COLUMNS]
    assert (res["f"] == "no facet").all()
    assert res["x"].dtype == "datetime64[ns]"
    for col in ("y", "mean", "lpl", "upl", "nlpl", "nupl", "target"):
        assert res[col].dtype == np.float64, col
    for col in ("outside_limits", "close_to_limits", "special_cause_flag"):
        assert res[col].dtype == bool, col
    assert res["rebase_group"].dtype == np.int64
    assert res["relative_to_mean"].dtype == np.int64
    assert set(res["point_type"]) <= {"common_cause", "special_cause_improvement", "special_cause_concern",
                                      "special_cause_neutral_high", "special_cause_neutral_low"}
    assert res.index.tolist() == list(range(15))


def test_facet_column_keeps_its_name_and_sorting_is_by_facet_then_date():
    a = frame(13, ward="b")
    b = frame(13, ward="a")
    df = pd.concat([a, b]).sample(frac=1, random_state=1)  # shuffled
    res = mdc(df, "v", "month", facet="ward")
    assert list(res.columns) == ["ward", *COLUMNS]
    assert res["ward"].tolist() == ["a"] * 13 + ["b"] * 13
    assert res["x"].tolist() == list(pd.date_range("2020-01-01", periods=13, freq="MS")) * 2


def test_string_dates_and_integer_values_are_accepted():
    df = frame().assign(month=lambda d: d["month"].dt.strftime("%Y-%m-%d"), v=lambda d: d["v"].astype(int))
    res = mdc(df, "v", "month")
    assert res["x"].iloc[0] == pd.Timestamp("2020-01-01")
    assert res["y"].dtype == np.float64


def test_attrs_carry_options_for_icons():
    res = mdc(frame(), "v", "month", improvement_direction="decrease", target=3)
    assert res.attrs["mdc"] == {"facet_column": "f", "improvement_direction": "decrease", "target_set": True}
    # without the attrs, the direction must be given
    bare = pd.DataFrame(res)
    bare.attrs = {}
    with pytest.raises(InputError):
        mdc_icons(bare)
    assert mdc_icons(bare, improvement_direction="decrease").equals(mdc_icons(res))


def test_short_groups_warn_but_are_calculated():
    # NHSRplotthedots 0.2.2 ptd_add_short_group_warnings: warns when a group has n < 13 points
    with pytest.warns(UserWarning, match="n < 12"):
        res = mdc(frame(12), "v", "month")
    assert res["upl"].notna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mdc(frame(13), "v", "month")


def test_one_point_group_has_no_limits_and_is_common_cause():
    with pytest.warns(UserWarning):
        res = mdc(frame(15), "v", "month", rebase="2021-03-01")  # the last point alone
    last = res.iloc[-1]
    assert last["rebase_group"] == 1 and np.isnan(last["upl"]) and last["point_type"] == "common_cause"


def test_unknown_rebase_date_warns():
    with pytest.warns(UserWarning, match="not found"):
        res = mdc(frame(), "v", "month", rebase=["1999-01-01"])
    assert (res["rebase_group"] == 0).all()


def _problem(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    p = exc.value.problems[0]
    assert p.file == "<argument>" and p.row is None
    return p.column, p.message


@pytest.mark.parametrize(
    "kwargs, column",
    [
        (dict(value="nope"), "value"),
        (dict(date="nope"), "date"),
        (dict(facet="nope"), "facet"),
        (dict(improvement_direction="up"), "improvement_direction"),
        (dict(screen_outliers="yes"), "screen_outliers"),
        (dict(fix_after_n_points=11), "fix_after_n_points"),
        (dict(fix_after_n_points=True), "fix_after_n_points"),
        (dict(target="high"), "target"),
        (dict(target={"a": 1}), "target"),  # dict without facet
        (dict(rebase={"a": ["2020-01-01"]}), "rebase"),  # dict without facet
        (dict(rebase=["not a date"]), "rebase"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, column):
    args = dict(value="v", date="month") | kwargs
    value, date = args.pop("value"), args.pop("date")
    with pytest.raises(InputError) as exc:
        mdc(frame(), value, date, **args)
    assert _problem(exc)[0] == column


def test_bad_data_raise_input_error():
    with pytest.raises(InputError) as exc:
        mdc([1, 2, 3], "v", "month")
    assert _problem(exc)[0] == "data"
    with pytest.raises(InputError) as exc:
        mdc(frame().assign(v="x"), "v", "month")
    assert _problem(exc)[0] == "value"
    with pytest.raises(InputError) as exc:
        mdc(frame().assign(v=[1.0] * 14 + [np.nan]), "v", "month")
    assert _problem(exc)[0] == "value"
    dup = pd.concat([frame(), frame().iloc[:1]])
    with pytest.raises(InputError) as exc:
        mdc(dup, "v", "month")
    column, message = _problem(exc)
    assert column == "date" and "duplicate" in message
    df = pd.concat([frame(13, unit="a"), frame(13, unit="b")])
    with pytest.raises(InputError) as exc:
        mdc(df, "v", "month", facet="unit", target={"zz": 1.0})
    assert _problem(exc)[0] == "target"
    with pytest.raises(InputError) as exc:
        mdc(df, "v", "month", facet="unit", rebase={"zz": ["2020-05-01"]})
    assert _problem(exc)[0] == "rebase"
    with pytest.raises(InputError) as exc:
        mdc(frame().assign(y=1), "v", "month", facet="y")  # clashes with output column y
    assert _problem(exc)[0] == "facet"


def test_same_dates_in_different_facets_are_fine():
    df = pd.concat([frame(13, unit="a"), frame(13, unit="b")])
    assert len(mdc(df, "v", "month", facet="unit")) == 26


def test_mdc_icons_one_row_per_facet_sorted():
    df = pd.concat([frame(13, unit="b"), frame(13, unit="a"), frame(13, unit="c")])
    icons = mdc_icons(mdc(df, "v", "month", facet="unit"))
    assert list(icons.columns) == ["unit", "variation", "assurance"]
    assert icons["unit"].tolist() == ["a", "b", "c"]
    assert icons["assurance"].tolist() == ["", "", ""]


def test_lazy_package_export_in_fresh_interpreter():
    import subprocess
    import sys

    code = ("import pandas as pd\nfrom qieval.spc import mdc, mdc_icons\n"
            "df = pd.DataFrame({'d': pd.date_range('2020-01-01', periods=15, freq='MS'), 'v': range(15)})\n"
            "print(mdc_icons(mdc(df, 'v', 'd'))['variation'].iloc[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "improvement_high"
