"""qieval.spc.mdc against independent references.

1. NHSRplotthedots' own expected values: ``tests/testthat/_snaps/ptd_spc_standard.md`` (package
   0.1.0/0.2.x) prints mean, lpl and upl (7 significant digits) for ``set.seed(123); rnorm(20)``
   with dates 2020-01-02.., with ``y[15] <- 10`` screened and unscreened. The 20 normal deviates are
   R's well-known ``set.seed(123); rnorm(20)`` values (8 decimals, as printed by R); the snapshot's
   first values (-0.56047565, -0.23017749, 1.55870831, 0.07050839) confirm them.
   ``test-ptd_spc_standard.R`` also checks that two close points on opposite sides of the mean
   stay common cause.
2. A plain, loop-by-loop re-implementation written here from the published rules (mean, |diff|,
   screening once at 3.267 x mean MR, 2.66 limits, 2/3 of that for the near limits, runs of 7,
   two-in-three, precedence), run on the NHSRplotthedots vignette data (NHSRdatasets
   ``ae_attendances``, type 1, in tests/data/reference/) and compared to 1e-9 relative.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from qitest_support import REFERENCE_DATA, require

from qieval.spc.mdc import mdc, mdc_icons

AE = REFERENCE_DATA / "NHSRdatasets_ae_attendances_type1_5orgs.csv"

RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]


# --- 1. NHSRplotthedots snapshot values --------------------------------------------------------
def _snapshot_frame(y):
    return pd.DataFrame({"x": pd.date_range("2020-01-02", periods=20, freq="D"), "y": y})


@pytest.mark.parametrize(
    "outlier, screen, mean, lpl, upl",
    [
        # dplyr::glimpse(r1), (r2), (r3) in _snaps/ptd_spc_standard.md
        (False, True, 0.1416238, -3.01138, 3.294627),
        (True, True, 0.6694159, -2.383666, 3.722497),
        (True, False, 0.6694159, -4.596625, 5.935457),
    ],
)
def test_nhsrplotthedots_snapshot_limits(outlier, screen, mean, lpl, upl):
    y = list(RNORM_123)
    if outlier:
        y[14] = 10.0  # R: data$y[15] <- 10
    res = mdc(_snapshot_frame(y), "y", "x", screen_outliers=screen)
    assert res["f"].tolist() == ["no facet"] * 20
    assert res["rebase_group"].tolist() == [0] * 20
    # the snapshot prints 7 significant digits (and the inputs have 8 decimals)
    assert res["mean"].iloc[0] == pytest.approx(mean, rel=5e-7)
    assert res["lpl"].iloc[0] == pytest.approx(lpl, rel=5e-6)
    assert res["upl"].iloc[0] == pytest.approx(upl, rel=5e-6)
    # summary() snapshot in _snaps/ptd_spc.md: 20 common-cause points for r1
    if not outlier:
        assert res["point_type"].tolist() == ["common_cause"] * 20


def test_nhsrplotthedots_snapshot_relative_to_mean():
    # first 14 relative_to_mean values printed for r1 and r2 in _snaps/ptd_spc_standard.md
    r1 = mdc(_snapshot_frame(RNORM_123), "y", "x")
    assert r1["relative_to_mean"].tolist()[:15] == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    y = list(RNORM_123)
    y[14] = 10.0
    r2 = mdc(_snapshot_frame(y), "y", "x")
    assert r2["relative_to_mean"].tolist()[:14] == [-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1]


def test_nhsrplotthedots_opposite_sides_close_points():
    # test-ptd_spc_standard.R: rep(c(1, -1), 8) with data[15] = 5.5, data[16] = -5.5 -> the last
    # two points are common cause.
    d = [1.0, -1.0] * 8
    d[14], d[15] = 5.5, -5.5
    df = pd.DataFrame({"date": pd.date_range("2020-01-02", periods=16, freq="D"), "data": d})
    res = mdc(df, "data", "date")
    assert res["point_type"].tolist()[-2:] == ["common_cause", "common_cause"]


# --- 2. plain re-implementation ----------------------------------------------------------------
LIMIT = 2.66


def plain_limits(y, fix=None, screen=True):
    """mean, lpl, upl, nlpl, nupl of one phase, by hand-written loops."""
    base = y if fix is None else y[: int(math.floor(fix))]
    mean = sum(base) / len(base)
    mrs = [abs(base[i] - base[i - 1]) for i in range(1, len(base))]
    amr = sum(mrs) / len(mrs) if mrs else float("nan")
    if screen and mrs:
        kept = [m for m in mrs if m < 3.267 * amr]
        amr = sum(kept) / len(kept) if kept else float("nan")
    near = 2 * (LIMIT / 3)
    return mean, mean - LIMIT * amr, mean + LIMIT * amr, mean - near * amr, mean + near * amr


def plain_point_types(y, mean, lpl, upl, nlpl, nupl, direction):
    """Point types of one phase from the rules, written as explicit loops."""
    n = len(y)
    outside = [y[i] > upl or y[i] < lpl for i in range(n)]
    close = [not outside[i] and (y[i] < nlpl or y[i] > nupl) for i in range(n)]
    side = [(y[i] > mean) - (y[i] < mean) for i in range(n)]
    in_trend = [False] * n
    for end in range(6, n):
        steps = [y[j] - y[j - 1] for j in range(end - 5, end + 1)]
        if all(s > 0 for s in steps) or all(s < 0 for s in steps):
            for j in range(end - 6, end + 1):
                in_trend[j] = True
    in_side = [False] * n
    for end in range(6, n):
        run = side[end - 6 : end + 1]
        if run[0] != 0 and all(s == run[0] for s in run):
            for j in range(end - 6, end + 1):
                in_side[j] = True
    in_two3 = [False] * n
    for start in range(0, n - 2):
        w = range(start, start + 3)
        if sum(close[j] for j in w) >= 2 and abs(sum(side[j] for j in w)) == 3:
            for j in w:
                in_two3[j] = in_two3[j] or close[j]
    out = []
    for i in range(n):
        if outside[i]:
            d = 1 if side[i] == 1 else -1
        elif in_trend[i]:
            if i + 1 < n and in_trend[i + 1]:
                d = 1 if y[i + 1] - y[i] > 0 else -1
            else:
                d = 1 if i > 0 and y[i] - y[i - 1] > 0 else -1
        elif in_two3[i] or in_side[i]:
            d = 1 if side[i] > 0 else -1
        else:
            out.append("common_cause")
            continue
        if direction == "neutral":
            out.append("special_cause_neutral_high" if d > 0 else "special_cause_neutral_low")
        else:
            good = d == (1 if direction == "increase" else -1)
            out.append("special_cause_improvement" if good else "special_cause_concern")
    return out


def plain_mdc(df, value, rebase=None, fix=None, screen=True, direction="increase"):
    rows = []
    for org, g in sorted(df.groupby("org_code"), key=lambda t: t[0]):
        g = g.sort_values("period")
        dates = list(pd.to_datetime(g["period"]))
        ys = list(g[value].astype(float))
        cuts = [0] + [i for i, d in enumerate(dates) if d in (rebase or {}).get(org, [])] + [len(ys)]
        cuts = sorted(set(cuts))
        for k in range(len(cuts) - 1):
            seg = ys[cuts[k] : cuts[k + 1]]
            lim = plain_limits(seg, fix, screen)
            pts = plain_point_types(seg, *lim, direction)
            for y, pt in zip(seg, pts):
                rows.append((org, y, *lim, pt))
    return pd.DataFrame(rows, columns=["org_code", "y", "mean", "lpl", "upl", "nlpl", "nupl", "point_type"])


@pytest.fixture(scope="module")
def ae():
    require(AE.exists(), f"reference data {AE} not available")
    return pd.read_csv(AE)


CASES = [
    dict(value="breaches", direction="decrease"),
    dict(value="perf_4h", direction="increase"),
    dict(value="perf_4h", direction="increase", screen=False),
    dict(value="attendances", direction="neutral"),
    dict(value="perf_4h", direction="increase", fix=24),
    dict(value="breaches", direction="decrease",
         rebase={"RAS": [pd.Timestamp("2017-04-01")], "RJZ": [pd.Timestamp("2017-10-01"), pd.Timestamp("2018-06-01")]}),
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_against_plain_implementation_on_ae_data(ae, case):
    expected = plain_mdc(ae, case["value"], case.get("rebase"), case.get("fix"), case.get("screen", True),
                         case["direction"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short rebase groups warn, as in R
        got = mdc(ae, case["value"], "period", facet="org_code", rebase=case.get("rebase"),
                  fix_after_n_points=case.get("fix"), improvement_direction=case["direction"],
                  screen_outliers=case.get("screen", True))
    assert got["org_code"].tolist() == expected["org_code"].tolist()
    assert got["y"].tolist() == expected["y"].tolist()
    for col in ("mean", "lpl", "upl", "nlpl", "nupl"):
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(), rtol=1e-9, atol=0)
    assert got["point_type"].tolist() == expected["point_type"].tolist()
    # the data have plenty of special causes of every kind for these settings
    assert got["special_cause_flag"].sum() > 10


def test_ae_breaches_icons(ae):
    # last-point variation for the vignette example (breaches, decrease) follows from the
    # plain implementation's last point types; assurance against a target of 1000 breaches
    # (decrease): pass if 1000 > upl, fail if 1000 < lpl.
    res = mdc(ae, "breaches", "period", facet="org_code", improvement_direction="decrease", target=1000)
    plain = plain_mdc(ae, "breaches", direction="decrease").groupby("org_code").tail(1)
    to_icon = {"common_cause": "common_cause", "special_cause_improvement": "improvement_low",
               "special_cause_concern": "concern_high"}
    icons = mdc_icons(res)
    assert icons["variation"].tolist() == [to_icon[p] for p in plain["point_type"]]
    expected_assurance = ["pass" if 1000 > u else "fail" if 1000 < lo else "inconsistent"
                          for lo, u in zip(plain["lpl"], plain["upl"])]
    assert icons["assurance"].tolist() == expected_assurance
