"""qic() options on small hand-worked data: aggregation, facets, freeze, part, exclude, multiply,
cl, target, y_neg, screen_mr, categorical x, missing values, Laney P'/U', errors, output shape.
Every expected number is worked out in the comments or by a plain formula in the test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qieval.errors import InputError
from qieval.spc import qic
from qieval.spc.qic import RESULT_COLUMNS

RTOL = 1e-9


def close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0)


def frame(y, n=None, x=None) -> pd.DataFrame:
    d = pd.DataFrame({"x": np.arange(1, len(y) + 1) if x is None else x, "y": np.asarray(y, float)})
    if n is not None:
        d["n"] = np.asarray(n, float)
    return d


# --------------------------------------------------------------------------------------------
# output shape
# --------------------------------------------------------------------------------------------

def test_columns_and_types() -> None:
    r = qic(frame([3, 1, 4, 1, 5]), "x", "y")
    assert list(r.columns) == list(RESULT_COLUMNS)
    assert list(RESULT_COLUMNS) == [
        "x", "y", "n", "cl", "lcl", "ucl", "lcl_95", "ucl_95", "target", "part", "baseline",
        "include", "n_obs", "n_useful", "longest_run", "longest_run_max", "n_crossings",
        "n_crossings_min", "runs_signal", "sigma_signal"]
    for c in ("baseline", "include", "runs_signal", "sigma_signal"):
        assert r[c].dtype == bool
    # run chart: cl = median(3, 1, 4, 1, 5) = 3, no limits
    assert (r.cl == 3).all() and r[["lcl", "ucl", "lcl_95", "ucl_95"]].isna().all().all()
    assert (r.part == 1).all() and r.baseline.all() and r.include.all()


def test_rows_sorted_by_x() -> None:
    d = frame([5, 1, 3], x=[3, 1, 2])
    r = qic(d, "x", "y", chart="i")
    assert r.x.tolist() == [1, 2, 3] and r.y.tolist() == [1, 3, 5]


# --------------------------------------------------------------------------------------------
# aggregation of rows sharing x
# --------------------------------------------------------------------------------------------

def test_aggregation_without_n() -> None:
    d = pd.DataFrame({"x": [1, 1, 2, 2, 2, 3], "y": [2.0, 4.0, 1.0, 5.0, 9.0, 7.0]})
    assert qic(d, "x", "y").y.tolist() == [3, 5, 7]  # means
    assert qic(d, "x", "y", agg="median").y.tolist() == [3, 5, 7]
    assert qic(d, "x", "y", agg="sum").y.tolist() == [6, 15, 7]
    sd = qic(d, "x", "y", agg="sd").y
    # sd(2, 4) = sqrt(2); sd(1, 5, 9) = 4; one value -> missing
    close(sd[:2], [math.sqrt(2), 4.0])
    assert np.isnan(sd[2])
    # c chart plots the subgroup sums whatever agg is
    assert qic(d, "x", "y", chart="c").y.tolist() == [6, 15, 7]


def test_aggregation_with_n_sums_numerator_and_denominator() -> None:
    d = pd.DataFrame({"x": [1, 1, 2, 3, 3], "y": [1.0, 3.0, 2.0, 0.0, 5.0],
                      "n": [10.0, 10.0, 10.0, 5.0, 15.0]})
    r = qic(d, "x", "y", "n", chart="p")
    # subgroups: 4/20, 2/10, 5/20; p-bar = 11/50 = 0.22
    close(r.y, [0.2, 0.2, 0.25])
    close(r.n, [20, 10, 20])
    close(r.cl, 0.22)
    close(r.ucl, 0.22 + 3 * np.sqrt(0.22 * 0.78 / np.array([20, 10, 20])))


def test_xbar_uses_subgroup_means_and_sds() -> None:
    # subgroups (1, 3), (2, 4, 6), (5, 7): means 2, 4, 6; sds sqrt2, 2, sqrt2; n 2, 3, 2
    d = pd.DataFrame({"x": [1, 1, 2, 2, 2, 3, 3], "y": [1.0, 3, 2, 4, 6, 5, 7]})
    r = qic(d, "x", "y", chart="xbar")
    close(r.y, [2, 4, 6])
    # cl = (2*2 + 3*4 + 2*6) / 7 = 28/7 = 4
    close(r.cl, 4.0)
    # variable n: pooled s = sqrt((1*2 + 2*4 + 1*2) / (1 + 2 + 1)) = sqrt(3)
    s = math.sqrt(3)
    c4_2 = math.sqrt(2 / 1) * math.gamma(1) / math.gamma(0.5)  # = 0.7979
    c4_3 = math.sqrt(2 / 2) * math.gamma(1.5) / math.gamma(1)  # = 0.8862
    close(r.ucl, [4 + 3 / (c4_2 * math.sqrt(2)) * s, 4 + 3 / (c4_3 * math.sqrt(3)) * s,
                  4 + 3 / (c4_2 * math.sqrt(2)) * s])
    rs = qic(d, "x", "y", chart="s")
    close(rs.y, [math.sqrt(2), 2, math.sqrt(2)])
    close(rs.cl, s)


# --------------------------------------------------------------------------------------------
# facets
# --------------------------------------------------------------------------------------------

def test_one_and_two_facets_equal_separate_calls(ref) -> None:
    d = ref("qicharts2_hospital_infections.csv", parse_dates=["month"])
    two = qic(d, "month", "n", "days", chart="u", facets=["hospital", "infection"], multiply=10000)
    assert list(two.columns[:2]) == ["hospital", "infection"]
    assert two.columns[2] == "x"
    cells = two.groupby(["hospital", "infection"], sort=False)
    assert len(cells) == d.groupby(["hospital", "infection"]).ngroups
    # ordered by facet then x
    keys = list(zip(two.hospital, two.infection, two.x))
    assert keys == sorted(keys)
    for (h, i), got in cells:
        sub = d[(d.hospital == h) & (d.infection == i)]
        u = sub.n.sum() / sub.days.sum()  # first principles
        close(got.cl, 10000 * u)
        close(got.ucl, 10000 * (u + 3 * np.sqrt(u / sub.sort_values("month").days.to_numpy())))
        alone = qic(sub, "month", "n", "days", chart="u", multiply=10000)
        for c in ("y", "cl", "lcl", "ucl", "n_useful", "longest_run", "n_crossings", "runs_signal"):
            np.testing.assert_array_equal(got[c].to_numpy(), alone[c].to_numpy())
    one = qic(d, "month", "n", "days", chart="u", facets="infection")
    assert one.columns[0] == "infection" and one.infection.nunique() == d.infection.nunique()
    for inf, got in one.groupby("infection"):
        sub = d[d.infection == inf]
        # rows sharing a month within the facet (one per hospital) are aggregated
        assert len(got) == sub.month.nunique()
        close(got.cl, sub.n.sum() / sub.days.sum())


@pytest.mark.parametrize("chart", ["run", "i", "mr", "ip", "xbar", "s", "t", "p", "pp", "c", "u", "up", "g"])
def test_facets_equal_loop_over_series(chart: str) -> None:
    rng = np.random.default_rng(3)
    parts = []
    for sid in range(12):
        k = int(rng.integers(5, 30))
        n = rng.integers(20, 200, k).astype(float)
        parts.append(pd.DataFrame({"sid": sid, "x": np.repeat(np.arange(k), 2),
                                   "y": np.repeat(rng.binomial(n.astype(int), 0.2), 2) / 2.0 + 1,
                                   "n": np.repeat(n, 2) / 2}))
    d = pd.concat(parts, ignore_index=True)
    d.loc[d.sample(frac=0.05, random_state=1).index, "y"] = np.nan
    kw = dict(chart=chart, freeze=8, exclude=[3])
    nn = "n" if chart in ("p", "pp", "u", "up", "ip") else None
    if chart in ("p", "pp"):
        d["y"] = np.minimum(d.y, d.n)
    allr = qic(d, "x", "y", nn, facets="sid", **kw)
    for sid, got in allr.groupby("sid"):
        alone = qic(d[d.sid == sid], "x", "y", nn, **kw)
        for c in RESULT_COLUMNS:
            a, b = got[c].to_numpy(), alone[c].to_numpy()
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)
            else:
                np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# freeze, part, exclude
# --------------------------------------------------------------------------------------------

def test_freeze_baseline_and_runs_over_part() -> None:
    y = [5, 7, 6, 8, 6, 9, 10, 11, 12, 13, 14, 15]
    r = qic(frame(y), "x", "y", chart="i", freeze=5)
    # baseline 5, 7, 6, 8, 6: mean 6.4; MRs 2, 1, 2, 2 -> mean 1.75 (none >= 3.267 x 1.75)
    close(r.cl, 6.4)
    close(r.ucl, 6.4 + 3 * 1.75 / 1.128)
    assert r.baseline.tolist() == [True] * 5 + [False] * 7
    # runs against 6.4 over all 12: - + - + - + + + + + + +  -> longest 7, 12 useful
    assert (r.n_useful == 12).all() and (r.longest_run == 7).all()
    # round(log2 12) + 3 = 7 -> 7 is not > 7; crossings 5 >= qbinom(0.05, 11, .5) = 3
    assert (r.n_crossings == 5).all() and not r.runs_signal.any()


def test_part_positions_and_label_column() -> None:
    y = [1, 2, 3, 4, 10, 11, 12, 13, 14]
    d = frame(y)
    d["phase"] = ["a"] * 4 + ["b"] * 5
    r = qic(d, "x", "y", chart="i", part=4)
    assert r.part.tolist() == [1] * 4 + [2] * 5
    # part 1: mean 2.5, MRs 1,1,1 -> sigma 1/1.128; part 2: mean 12, MRs 1,1,1,1
    close(r.cl[:4], 2.5)
    close(r.cl[4:], 12.0)
    close(r.ucl[:4], 2.5 + 3 / 1.128)
    close(r.ucl[4:], 12 + 3 / 1.128)
    assert (r.n_obs[:4] == 4).all() and (r.n_obs[4:] == 5).all()
    lab = qic(d, "x", "y", chart="i", part="phase")
    pd.testing.assert_frame_equal(lab, r)
    # several break points; out-of-range ones ignored
    r = qic(d, "x", "y", part=[2, 6, 20])
    assert r.part.tolist() == [1, 1, 2, 2, 2, 2, 3, 3, 3]
    # freeze is ignored when part is given (qicharts2)
    r = qic(d, "x", "y", chart="i", part=4, freeze=2)
    assert r.baseline.all()


def test_exclude_skips_estimation_and_runs_but_keeps_point() -> None:
    y = [10, 11, 9, 10, 30, 11, 10, 9]
    r = qic(frame(y), "x", "y", chart="i", exclude=5)
    # without point 5: 10 11 9 10 11 10 9 -> mean 70/7 = 10; MRs (10->11)1, 2, 1, (10->11)1, 1, 1
    # = 7 / 6 (the MR spans the excluded point)
    sigma = (7 / 6) / 1.128
    close(r.cl, 10.0)
    close(r.ucl, 10 + 3 * sigma)
    assert r.include.tolist() == [True] * 4 + [False] + [True] * 3
    assert r.sigma_signal.tolist() == [False] * 4 + [True] + [False] * 3
    assert (r.n_obs == 7).all()
    # useful: 11, 9, 11, 9 (the 10s are on the centre line) -> + - + - : longest 1, 3 crossings
    assert (r.n_useful == 4).all() and (r.longest_run == 1).all() and (r.n_crossings == 3).all()


# --------------------------------------------------------------------------------------------
# multiply, cl, target, y_neg
# --------------------------------------------------------------------------------------------

def test_multiply_cl_target() -> None:
    d = frame([5, 8, 6, 9, 7], n=[50, 50, 50, 50, 50])
    base = qic(d, "x", "y", "n", chart="p")
    r = qic(d, "x", "y", "n", chart="p", multiply=100, target=12.5)
    for c in ("y", "cl", "lcl", "ucl", "lcl_95", "ucl_95"):
        close(r[c], 100 * base[c])
    # target is returned as given (qicharts2 draws it on the multiplied scale)
    assert (r.target == 12.5).all() and base.target.isna().all()
    # fixed centre line: 0.2 -> limits 0.2 -/+ 3 sqrt(0.2 x 0.8 / 50) = 0.2 -/+ 0.16971
    r = qic(d, "x", "y", "n", chart="p", cl=0.2)
    close(r.cl, 0.2)
    close(r.ucl, 0.2 + 3 * math.sqrt(0.16 / 50))
    close(r.lcl, 0.2 - 3 * math.sqrt(0.16 / 50))
    # runs against the fixed line: 0.1 0.16 0.12 0.18 0.14 all below 0.2 -> run of 5
    assert (r.longest_run == 5).all()
    r = qic(d, "x", "y", "n", chart="p", cl=0.2, multiply=100)
    close(r.cl, 20.0)


def test_y_neg_false_truncates_lower_limits() -> None:
    y = [1, 5, 1, 5, 1, 5, 1, 5]
    # cl 3, all MRs 4 -> sigma 4/1.128 = 3.546; lcl = 3 - 10.64 < 0, lcl_95 = 3 - 7.09 < 0
    r = qic(frame(y), "x", "y", chart="i")
    close(r.lcl, 3 - 3 * 4 / 1.128)
    r0 = qic(frame(y), "x", "y", chart="i", y_neg=False)
    assert (r0.lcl == 0).all() and (r0.lcl_95 == 0).all()
    close(r0.ucl, r.ucl)
    # a negative y keeps negative limits
    r1 = qic(frame([-1, 5, 1, 5]), "x", "y", chart="i", y_neg=False)
    assert (r1.lcl < 0).all()


# --------------------------------------------------------------------------------------------
# moving range screening
# --------------------------------------------------------------------------------------------

def test_screen_mr_changes_sigma() -> None:
    y = [10, 12, 11, 13, 12, 40, 12, 11, 13, 12]
    # MRs: 2 1 2 1 28 28 1 2 1 -> sum 66, mean 66/9 = 7.333; cut 3.267 x 7.333 = 23.96
    # screened: drop the two 28s -> 2 1 2 1 1 2 1 = 10 / 7
    # cl = 146 / 10 = 14.6
    on = qic(frame(y), "x", "y", chart="i")
    off = qic(frame(y), "x", "y", chart="i", screen_mr=False)
    close(on.cl, 14.6)
    close(on.ucl, 14.6 + 3 * (10 / 7) / 1.128)
    close(off.ucl, 14.6 + 3 * (66 / 9) / 1.128)
    close(off.lcl_95, 14.6 - 2 * (66 / 9) / 1.128)
    # screened limits 14.6 -/+ 3.799 = 10.80 .. 18.40: the 10 and the 40 are outside
    assert on.sigma_signal.tolist() == [True] + [False] * 4 + [True] + [False] * 4
    # unscreened: 14.6 -/+ 19.50 = -4.90 .. 34.10 -> only the 40 is outside
    assert off.sigma_signal.tolist() == [False] * 5 + [True] + [False] * 4


# --------------------------------------------------------------------------------------------
# missing values
# --------------------------------------------------------------------------------------------

def test_missing_y_is_a_row_but_not_useful() -> None:
    y = [3, np.nan, 5, 1, 4, 2]
    r = qic(frame(y), "x", "y", chart="i")
    assert len(r) == 6 and np.isnan(r.y[1])
    # mean of 3 5 1 4 2 = 3; MRs over the series with the gap: |5-3| is not formed (NaN either
    # side), MRs: 4 (5->1), 3, 2 -> mean 3
    close(r.cl, 3.0)
    close(r.ucl, 3 + 3 * 3 / 1.128)
    assert not r.sigma_signal[1]
    # n_obs counts the missing point, n_useful not (and the 3 is on the centre line)
    assert (r.n_obs == 6).all() and (r.n_useful == 4).all()
    # with a denominator, a missing n blanks y as well
    d = frame([2, 3, 4, 5], n=[10, np.nan, 10, 10])
    r = qic(d, "x", "y", "n", chart="p")
    assert np.isnan(r.y[1])
    close(r.cl, 11 / 30)


def test_rows_with_missing_x_dropped() -> None:
    d = pd.DataFrame({"x": [1.0, np.nan, 2.0], "y": [1.0, 100.0, 3.0]})
    r = qic(d, "x", "y")
    assert r.x.tolist() == [1, 2] and r.cl[0] == 2.0


# --------------------------------------------------------------------------------------------
# Laney P' and U', categorical x (funnel)
# --------------------------------------------------------------------------------------------

def test_pp_chart_by_hand() -> None:
    n = np.array([100.0, 200, 100, 200, 100, 150])
    y = np.array([10.0, 30, 5, 20, 15, 21])
    r = qic(frame(y, n), "x", "y", "n", chart="pp", screen_mr=False)
    p = y / n
    pbar = y.sum() / n.sum()  # 101 / 850
    sd = np.sqrt(pbar * (1 - pbar) / n)
    z = (p - pbar) / sd
    sigma_z = np.abs(np.diff(z)).mean() / 1.128  # Laney (2002)
    close(r.cl, pbar)
    close(r.ucl, pbar + 3 * sd * sigma_z)
    close(r.lcl, np.maximum(pbar - 3 * sd * sigma_z, 0))
    plain = qic(frame(y, n), "x", "y", "n", chart="p")
    close((r.ucl_95 - r.cl) / (plain.ucl_95 - plain.cl), sigma_z)


def test_pp_equals_p_when_sigma_z_is_one() -> None:
    # n = 10000, p alternates 0.5 -/+ 0.00282: p-bar = 0.5, sd = sqrt(0.25/10000) = 0.005,
    # z = -/+ 0.564, every MR of z = 1.128 -> sigma_z = 1.128 / 1.128 = 1
    k = 10
    y = np.where(np.arange(k) % 2 == 0, 5028.2, 4971.8)
    d = frame(y, np.full(k, 10000.0))
    pp = qic(d, "x", "y", "n", chart="pp")
    p = qic(d, "x", "y", "n", chart="p")
    for c in ("cl", "lcl", "ucl", "lcl_95", "ucl_95"):
        close(pp[c], p[c])


def test_up_chart_by_hand_and_screening() -> None:
    n = np.array([1000.0, 1200, 900, 1100, 1000, 950, 1050, 1000])
    y = np.array([20.0, 25, 18, 80, 21, 19, 22, 20])
    p_on = qic(frame(y, n), "x", "y", "n", chart="up")
    p_off = qic(frame(y, n), "x", "y", "n", chart="up", screen_mr=False)
    u = y.sum() / n.sum()
    sd = np.sqrt(u / n)
    z = (y / n - u) / sd
    mr = np.abs(np.diff(z))
    close(p_off.ucl, u + 3 * sd * mr.mean() / 1.128)
    kept = mr[mr < 3.267 * mr.mean()]
    assert len(kept) < len(mr)  # the jump to 80 and back is screened out
    close(p_on.ucl, u + 3 * sd * kept.mean() / 1.128)


def test_categorical_x_funnel() -> None:
    d = pd.DataFrame({"unit": ["d", "a", "c", "b", "e"], "y": [12.0, 30, 18, 25, 9],
                      "n": [100.0, 200, 150, 180, 90]})
    r = qic(d, "unit", "y", "n", chart="pp")
    assert r.x.tolist() == ["a", "b", "c", "d", "e"]
    s = d.sort_values("unit")
    pbar = s.y.sum() / s.n.sum()
    sd = np.sqrt(pbar * (1 - pbar) / s.n.to_numpy())
    z = (s.y.to_numpy() / s.n.to_numpy() - pbar) / sd
    sigma_z = z.std(ddof=1)  # funnel: SD of the z-scores, not moving ranges
    close(r.ucl, np.minimum(pbar + 3 * sd * sigma_z, 1))
    assert not r.runs_signal.any()
    # a pandas Categorical keeps its category order and is also a funnel
    d["unit"] = pd.Categorical(d.unit, categories=["e", "d", "c", "b", "a"])
    r = qic(d, "unit", "y", "n", chart="p")
    assert r.x.astype(str).tolist() == ["e", "d", "c", "b", "a"]
    # many points on one side would signal on a time axis, but never for categories
    d2 = pd.DataFrame({"unit": list("abcdefghijkl"), "y": [1.0] * 11 + [100.0]})
    assert not qic(d2, "unit", "y").runs_signal.any()


def test_ip_chart_by_hand() -> None:
    n = np.array([50.0, 80, 60, 70, 90])
    y = np.array([4.0, 5.5, 4.8, 5.1, 4.4])  # subgroup means; with n, qic takes y as totals
    r = qic(frame(y * n, n), "x", "y", "n", chart="ip", screen_mr=False)
    close(r.y, y)
    cl = (y * n).sum() / n.sum()
    s = math.sqrt(math.pi / 2) * np.abs(np.diff(y)) / np.sqrt(1 / n[:-1] + 1 / n[1:])
    sd = s.mean() * np.sqrt(1 / n)
    close(r.cl, cl)
    close(r.ucl, cl + 3 * sd)
    close(r.lcl_95, cl - 2 * sd)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, column", [
    (dict(chart="xyz"), "chart"),
    (dict(chart="p"), "n"),
    (dict(chart="u"), "n"),
    (dict(agg="mode"), "agg"),
    (dict(facets=["a", "b", "c"]), "facets"),
    (dict(exclude=["two"]), "exclude"),
])
def test_bad_arguments_raise_input_error(kwargs, column) -> None:
    with pytest.raises(InputError) as err:
        qic(frame([1, 2, 3]), "x", "y", **kwargs)
    prob = err.value.problems[0]
    assert prob.file == "<argument>" and prob.row is None and prob.column == column


def test_missing_columns_raise_input_error() -> None:
    for args, column in ((("nope", "y"), "x"), (("x", "nope"), "y"), (("x", "y", "nope"), "n")):
        with pytest.raises(InputError) as err:
            qic(frame([1, 2, 3]), *args)
        assert err.value.problems[0].column == column
    with pytest.raises(InputError) as err:
        qic(frame([1, 2, 3]), "x", "y", facets="nope")
    assert err.value.problems[0].column == "facets"


def test_t_chart_needs_positive_times() -> None:
    with pytest.raises(InputError):
        qic(frame([3, 0, 2]), "x", "y", chart="t")


def test_import_paths_all_callable() -> None:
    import qieval.spc as spc
    from qieval.spc import qic as q1
    from qieval.spc.qic import qic as q2

    d = frame([1, 2, 3])
    for f in (spc.qic, q1, q2):
        assert f(d, "x", "y").cl.tolist() == [2.0, 2.0, 2.0]


def test_run_chart_against_fixed_centre_line_and_dates() -> None:
    d = pd.DataFrame({"x": pd.date_range("2024-01-01", periods=12, freq="MS"),
                      "y": [5.0, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]})
    r = qic(d, "x", "y", cl=4)
    # every point is above 4: one run of 12 > round(log2 12) + 3 = 7, no crossings (< 3)
    assert (r.cl == 4).all() and (r.longest_run == 12).all() and (r.n_crossings == 0).all()
    assert r.runs_signal.all()
    assert pd.api.types.is_datetime64_any_dtype(r.x)
