"""Control limits for the Montgomery textbook tables used by qicharts2's own tests, and the
qicharts2 vignette examples.

Two kinds of expected values:
* the figures printed in Montgomery, *Introduction to Statistical Quality Control* (examples
  6.3, 6.4, 6.5, 7.1, 7.2, 7.3, 7.5), compared at the precision the book prints; and in the
  qicharts2 vignette text (cdi, cabg);
* a separate, plain formula implementation in this file (numpy on the CSV) compared to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qieval.spc import qic

RTOL = 1e-9


def close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0)


def book(actual: float, printed: float, unit: float) -> None:
    """Agreement with a value printed in the textbook to within one unit of its last printed
    digit (the book rounds intermediate results, e.g. computes UCL from a rounded c-bar)."""
    assert abs(float(actual) - printed) <= unit * 1.0000001, (float(actual), printed)


def c4(n: float) -> float:
    """c4 from its definition (Montgomery App. VI): sqrt(2/(n-1)) Gamma(n/2) / Gamma((n-1)/2)."""
    return math.sqrt(2 / (n - 1)) * math.gamma(n / 2) / math.gamma((n - 1) / 2)


# --------------------------------------------------------------------------------------------
# Xbar and S charts: Table 6.3 (25 samples of 5 piston ring diameters) and 6.4 (variable n)
# --------------------------------------------------------------------------------------------

def test_xbar_s_table_6_3_published(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_06.03.csv")
    xb = qic(d, "sample", "obs", chart="xbar")
    s = qic(d, "sample", "obs", chart="s")
    assert len(xb) == 25
    # Montgomery Example 6.3: x-double-bar = 74.001, UCL = 74.014, LCL = 73.988 (A3 = 1.427);
    # s-bar = 0.0094, UCL = 0.0196 (B4 = 2.089), LCL = 0 (B3 = 0)
    book(xb.cl[0], 74.001, 1e-3)
    book(xb.ucl[0], 74.014, 1e-3)
    book(xb.lcl[0], 73.988, 1e-3)
    book(s.cl[0], 0.0094, 1e-4)
    book(s.ucl[0], 0.0196, 1e-4)
    assert s.lcl[0] == 0


def test_xbar_s_table_6_3_first_principles(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_06.03.csv")
    g = d.groupby("sample")["obs"]
    means, sds = g.mean().to_numpy(), g.std(ddof=1).to_numpy()
    n = 5
    A3 = 3 / (c4(n) * math.sqrt(n))
    B4 = 1 + 3 * math.sqrt(1 - c4(n) ** 2) / c4(n)
    book(A3, 1.427, 1e-3)
    book(B4, 2.089, 1e-3)  # Montgomery Appendix VI
    xbb, sbar = means.mean(), sds.mean()
    xb = qic(d, "sample", "obs", chart="xbar")
    close(xb.y, means)
    close(xb.cl, xbb)
    close(xb.ucl, xbb + A3 * sbar)
    close(xb.lcl, xbb - A3 * sbar)
    close(xb.ucl_95, xbb + 2 / (c4(n) * math.sqrt(n)) * sbar)
    s = qic(d, "sample", "obs", chart="s")
    close(s.y, sds)
    close(s.cl, sbar)
    close(s.ucl, B4 * sbar)
    assert (s.lcl == 0).all()


def test_xbar_s_table_6_4_variable_subgroups(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_06.04.csv")
    g = d.groupby("sample")["obs"]
    ni, means, sds = g.size().to_numpy(), g.mean().to_numpy(), g.std(ddof=1).to_numpy()
    xbb = (ni * means).sum() / ni.sum()  # Montgomery eq. 6.30
    spool = math.sqrt(((ni - 1) * sds**2).sum() / (ni - 1).sum())  # eq. 6.31
    # Montgomery Example 6.4 prints x-double-bar = 74.001 and s-bar = 0.0103
    book(xbb, 74.001, 1e-3)
    book(spool, 0.0103, 1e-4)
    xb = qic(d, "sample", "obs", chart="xbar")
    A3 = np.array([3 / (c4(k) * math.sqrt(k)) for k in ni])
    close(xb.cl, xbb)
    close(xb.ucl, xbb + A3 * spool)
    close(xb.lcl, xbb - A3 * spool)
    s = qic(d, "sample", "obs", chart="s")
    B4 = np.array([1 + 3 * math.sqrt(1 - c4(k) ** 2) / c4(k) for k in ni])
    close(s.cl, spool)
    close(s.ucl, B4 * spool)


# --------------------------------------------------------------------------------------------
# I and MR charts: Table 6.7 (Example 6.5, weekly mortgage loan processing cost), freeze = 20
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("screen", [True, False])
def test_i_mr_table_6_7_freeze_20(ref, screen: bool) -> None:
    d = ref("qicharts2_montgomery_tbl_06.07.csv")
    i = qic(d, "weeks", "cost", chart="i", freeze=20, screen_mr=screen)
    # Montgomery Example 6.5: x-bar = 300.5, MR-bar = 7.79, UCL = 321.22, LCL = 279.78
    book(i.cl[0], 300.5, 1e-1)
    book(i.ucl[0], 321.22, 1e-2)
    book(i.lcl[0], 279.78, 1e-2)
    y = d.cost.to_numpy(float)
    base = y[:20]
    mr = np.abs(np.diff(base))
    if screen:  # no MR of the first 20 weeks reaches 3.267 x 7.79 = 25.4, so nothing is dropped
        assert (mr < 3.267 * mr.mean()).all()
    sigma = mr.mean() / 1.128
    close(i.cl, base.mean())
    close(i.ucl, base.mean() + 3 * sigma)
    close(i.lcl_95, base.mean() - 2 * sigma)
    assert i.baseline.tolist() == [True] * 20 + [False] * 20
    mrc = qic(d, "weeks", "cost", chart="mr", freeze=20)
    book(mrc.cl[0], 7.79, 1e-2)
    assert np.isnan(mrc.y[0])
    close(mrc.y[1:], np.abs(np.diff(y)))
    close(mrc.cl, mr.mean())
    close(mrc.ucl, 3.267 * mr.mean())
    assert (mrc.lcl == 0).all() and not mrc.runs_signal.any()


# --------------------------------------------------------------------------------------------
# P charts: Table 7.3 (Example 7.1, orange juice cans, n = 50) and Table 7.4 (variable n)
# --------------------------------------------------------------------------------------------

def p_limits(count, size, size_out=None, k=3.0):
    p = count.sum() / size.sum()
    sd = np.sqrt(p * (1 - p) / (size if size_out is None else size_out))
    return p, np.clip(p - k * sd, 0, 1), np.clip(p + k * sd, 0, 1)


def test_p_table_7_3_first_30_published(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_07.03.csv").iloc[:30]
    r = qic(d, "sample", "count", "size", chart="p")
    # Montgomery Example 7.1: p-bar = 0.2313, UCL = 0.4102, LCL = 0.0524
    book(r.cl[0], 0.2313, 1e-4)
    book(r.ucl[0], 0.4102, 1e-4)
    book(r.lcl[0], 0.0524, 1e-4)
    p, lcl, ucl = p_limits(d["count"].to_numpy(float), d["size"].to_numpy(float))
    close(r.cl, p)
    close(r.lcl, lcl)
    close(r.ucl, ucl)
    close(r.y, d["count"] / d["size"])
    # samples 15 (22/50) and 23 (24/50) are above the UCL
    assert r.x[r.sigma_signal].tolist() == [15, 23]


def test_p_table_7_3_exclude_and_part(ref) -> None:
    # the qicharts2 test case: exclude = c(15, 23), part = 30
    d = ref("qicharts2_montgomery_tbl_07.03.csv")
    r = qic(d, "sample", "count", "size", chart="p", exclude=[15, 23], part=30)
    p1, p2 = r[r.part == 1], r[r.part == 2]
    assert len(p1) == 30 and len(p2) == 64
    # Montgomery Example 7.1, revised limits without samples 15 and 23:
    # p-bar = 0.2150, UCL = 0.3893, LCL = 0.0407
    book(p1.cl.iloc[0], 0.2150, 1e-4)
    book(p1.ucl.iloc[0], 0.3893, 1e-4)
    book(p1.lcl.iloc[0], 0.0407, 1e-4)
    keep = ~d["sample"].isin([15, 23]) & (d["sample"] <= 30)
    p, lcl, ucl = p_limits(d["count"][keep].to_numpy(float), d["size"][keep].to_numpy(float),
                           d["size"][d["sample"] <= 30].to_numpy(float))
    close(p1.cl, p)
    close(p1.ucl, ucl)
    # excluded points keep their limits and are still tested against them
    ex = p1[~p1.include]
    assert ex.x.tolist() == [15, 23] and ex.sigma_signal.all()
    assert (p1.n_obs == 28).all()
    second = d["sample"] > 30
    p, lcl, ucl = p_limits(d["count"][second].to_numpy(float), d["size"][second].to_numpy(float))
    close(p2.cl, p)
    close(p2.ucl, ucl)
    assert (p2.lcl == 0).all()


def test_p_table_7_3_second_phase_published(ref) -> None:
    # Montgomery Example 7.1, samples 31-54 after the adjustment: p-bar = 0.1108, UCL = 0.2440,
    # LCL = 0 (negative, -0.0224)
    d = ref("qicharts2_montgomery_tbl_07.03.csv").iloc[30:54]
    r = qic(d, "sample", "count", "size", chart="p")
    book(r.cl.iloc[0], 0.1108, 1e-4)
    book(r.ucl.iloc[0], 0.2440, 1e-4)
    assert (r.lcl == 0).all()


def test_p_table_7_4_variable_n(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_07.04.csv")
    r = qic(d, "sample", "count", "size", chart="p")
    # Montgomery Example 7.2: p-bar = 234/2450 = 0.096
    book(r.cl[0], 0.096, 1e-3)
    p, lcl, ucl = p_limits(d["count"].to_numpy(float), d["size"].to_numpy(float))
    close(r.ucl, ucl)
    close(r.lcl, lcl)
    close(r.ucl_95, np.clip(p + 2 * np.sqrt(p * (1 - p) / d["size"]), 0, 1))


# --------------------------------------------------------------------------------------------
# C and U charts: Table 7.8 (Example 7.3, circuit boards), 7.10, 7.11 (Example 7.5, rolls)
# --------------------------------------------------------------------------------------------

def test_c_table_7_8_published(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_07.08.csv")
    r = qic(d.iloc[:26], "sample", "count", chart="c")
    # Montgomery Example 7.3: c-bar = 19.85, UCL = 33.22, LCL = 6.48
    book(r.cl[0], 19.85, 1e-2)
    book(r.ucl[0], 33.22, 1e-2)
    book(r.lcl[0], 6.48, 1e-2)
    # revised without samples 6 and 20: c-bar = 19.67, UCL = 32.97, LCL = 6.36
    r = qic(d, "sample", "count", chart="c", exclude=[6, 20], freeze=26)
    book(r.cl[0], 19.67, 1e-2)
    book(r.ucl[0], 32.97, 1e-2)
    book(r.lcl[0], 6.36, 1e-2)
    base = d["count"].to_numpy(float)[:26]
    base = np.delete(base, [5, 19])
    c = base.mean()
    close(r.cl, c)
    close(r.ucl, c + 3 * math.sqrt(c))
    close(r.lcl_95, c - 2 * math.sqrt(c))
    assert r.baseline.sum() == 26 and (~r.include).sum() == 2
    # runs analysis over all 46 points bar the 2 excluded, against the baseline centre line
    assert (r.n_obs == 44).all()


def test_u_table_7_10_first_principles(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_07.10.csv")
    r = qic(d, "sample", "count", "size", chart="u")
    u = d["count"].sum() / d["size"].sum()
    sd = np.sqrt(u / d["size"].to_numpy(float))
    close(r.cl, u)
    close(r.ucl, u + 3 * sd)
    close(r.lcl, np.maximum(u - 3 * sd, 0))


def test_u_table_7_11_multiply_50(ref) -> None:
    d = ref("qicharts2_montgomery_tbl_07.11.csv")
    r = qic(d, "roll", "count", "meters", chart="u", multiply=50)
    # Montgomery Example 7.5: u-bar = 153 / 107.5 inspection units (50 m) = 1.42; a 500 m roll
    # (10 units) has UCL 2.55, LCL 0.29
    book(r.cl[0], 1.42, 1e-2)
    book(r.ucl[0], 2.55, 1e-2)
    book(r.lcl[0], 0.29, 1e-2)
    u = d["count"].sum() / d["meters"].sum()
    sd = np.sqrt(u / d["meters"].to_numpy(float))
    close(r.cl, 50 * u)
    close(r.ucl, 50 * (u + 3 * sd))
    close(r.y, 50 * d["count"] / d["meters"])
    plain = qic(d, "roll", "count", "meters", chart="u")
    close(r.lcl, 50 * plain.lcl)


# --------------------------------------------------------------------------------------------
# T chart: Table 7.14 (time between failures); G chart
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("screen", [True, False])
def test_t_table_7_14_first_principles(ref, screen: bool) -> None:
    d = ref("qicharts2_montgomery_tbl_07.14.csv")
    r = qic(d, "failure", "hours", chart="t", screen_mr=screen)
    ty = d["hours"].to_numpy(float) ** (1 / 3.6)
    mr = np.abs(np.diff(ty))
    if screen:
        mr = mr[mr < 3.267 * mr.mean()]
    sigma = mr.mean() / 1.128
    m = ty.mean()
    close(r.cl, m**3.6)
    close(r.ucl, (m + 3 * sigma) ** 3.6)
    close(r.ucl_95, (m + 2 * sigma) ** 3.6)
    lo = m - 3 * sigma
    expected_lcl = lo**3.6 if lo > 0 else 0.0
    close(r.lcl, expected_lcl)
    close(r.y, d["hours"])


def test_g_chart_first_principles() -> None:
    y = np.array([12.0, 30, 4, 18, 25, 7, 40, 15, 9, 22, 31, 5])
    d = pd.DataFrame({"x": np.arange(1, 13), "y": y})
    r = qic(d, "x", "y", chart="g")
    m = y.mean()  # 218 / 12
    sd = math.sqrt(m * (m + 1))  # geometric distribution, Montgomery p. 319
    close(r.ucl, m + 3 * sd)
    close(r.ucl_95, m + 2 * sd)
    assert (r.lcl == 0).all() and (r.lcl_95 == 0).all()
    # plotted centre line: the median, (15 + 18) / 2 = 16.5
    close(r.cl, 16.5)
    # with a user centre line, limits from it and the plotted line 0.693 x it
    r = qic(d, "x", "y", chart="g", cl=20)
    close(r.cl, 0.693 * 20)
    close(r.ucl, 20 + 3 * math.sqrt(20 * 21))


# --------------------------------------------------------------------------------------------
# qicharts2 vignette examples
# --------------------------------------------------------------------------------------------

def test_cdi_run_chart_freeze_24_vignette(ref) -> None:
    d = ref("qicharts2_cdi.csv", parse_dates=["month"])
    r = qic(d, "month", "n", freeze=24)
    # vignette: "The median number of CDIs per month in the before period is 19. An unusually
    # long run of 15 data points below the median proves that the CDI rate is reduced."
    assert (r.cl == 19).all()
    assert (r.longest_run == 15).all() and r.runs_signal.all()
    assert r.baseline.sum() == 24
    close(r.cl, np.median(d.n.to_numpy(float)[:24]))


def test_cdi_c_chart_part_24_vignette(ref) -> None:
    d = ref("qicharts2_cdi.csv", parse_dates=["month"])
    r = qic(d, "month", "n", chart="c", part=24)
    # vignette: "the CDI rate has dropped from an average of 19 to 7 per month ... expect
    # between 0 and 15 CDIs per month"
    first, second = r[r.part == 1], r[r.part == 2]
    assert round(first.cl.iloc[0]) == 19 and round(second.cl.iloc[0]) == 7
    assert second.lcl.iloc[0] == 0 and round(second.ucl.iloc[0]) == 15
    y = d.n.to_numpy(float)
    close(first.cl, y[:24].mean())
    close(second.ucl, y[24:].mean() + 3 * math.sqrt(y[24:].mean()))


def test_cabg_age_i_chart_vignette(ref) -> None:
    d = ref("derived_cabg_age_last100.csv")
    r = qic(d, "patient", "age", chart="i")
    # vignette: "Two data points (patients number 45 and 70) are below the lower 3-sigma limit"
    assert r.x[r.sigma_signal].tolist() == [45, 70]
    mr = qic(d, "patient", "age", chart="mr")
    # "The MR chart identifies three unusually large ranges"
    assert mr.sigma_signal.sum() == 3
    r = qic(d, "patient", "age", chart="i", exclude=[45, 70])
    # "on average we should expect future patients to be 67 years of age, and patients younger
    # than 43 years or older than 91 years would be unusual"
    assert round(r.cl[0]) == 67 and round(r.lcl[0]) == 43 and round(r.ucl[0]) == 91


def test_xbar_na_test_missing_observations(ref) -> None:
    # Table 6.3 with missing observations (qicharts2's NA_test): rows with a missing sample are
    # dropped; subgroup sizes count the non-missing values, so they vary and the pooled SD is
    # used. As in qicharts2, the denominator is sum(n_i - 1) over all subgroups, so a subgroup
    # whose values are all missing (n_i = 0) contributes -1.
    d = ref("qicharts2_montgomery_NA_test.csv")
    d = d[d["sample"].notna()]
    g = d.groupby("sample")["obs"]
    ni, means, sds = g.count().to_numpy(float), g.mean().to_numpy(), g.std(ddof=1).to_numpy()
    assert (ni == 0).sum() == 1 and (ni == 1).sum() == 2
    ok = ni > 0
    cl = (ni[ok] * means[ok]).sum() / ni[ok].sum()
    two = ni >= 2
    spool = math.sqrt(((ni[two] - 1) * sds[two] ** 2).sum() / (ni - 1).sum())
    r = qic(d, "sample", "obs", chart="xbar")
    close(r.cl, cl)
    A3 = np.array([3 / (c4(k) * math.sqrt(k)) if k > 1 else np.nan for k in ni])
    np.testing.assert_allclose(r.ucl, cl + A3 * spool, rtol=RTOL, equal_nan=True)
    assert r.ucl[ni <= 1].isna().all()


def test_funnel_hospital_infections_by_infection(ref) -> None:
    # the qicharts2 funnel test: x = hospital ordered by mean risk days, months from 2016-07
    d = ref("qicharts2_hospital_infections.csv", parse_dates=["month"])
    d = d[d.month >= "2016-07-01"].copy()
    order = d.groupby("hospital").days.mean().sort_values().index
    d["hosp"] = pd.Categorical(d.hospital, categories=order)
    r = qic(d, "hosp", "n", "days", chart="u", facets="infection", multiply=10000)
    for inf, got in r.groupby("infection"):
        sub = d[d.infection == inf]
        assert got.x.astype(str).tolist() == list(order)
        tot = sub.groupby("hospital")[["n", "days"]].sum().loc[list(order)]
        u = tot.n.sum() / tot.days.sum()
        close(got.y, 10000 * tot.n / tot.days)
        close(got.cl, 10000 * u)
        close(got.ucl, 10000 * (u + 3 * np.sqrt(u / tot.days.to_numpy())))
    assert not r.runs_signal.any()
