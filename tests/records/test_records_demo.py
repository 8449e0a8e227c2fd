"""The record-level demo projects validate, and their records carry the effects the generators state."""

from __future__ import annotations

from qieval.cli import main
from qieval.io.load import load_project


def test_demo_projects_validate(demo_root_session, capsys, monkeypatch):
    monkeypatch.chdir(demo_root_session)
    for project in ("opioids", "pccc"):
        assert main(["validate", f"params/{project}.yaml"]) == 0, capsys.readouterr().err


def test_opioid_demo_measures_from_records(demo_root_session):
    data = load_project(demo_root_session / "params" / "opioids.yaml")
    assert data.files["records"].name == "prescribing.parquet"
    v = data.measure_values
    hd = v.loc[v["measure_id"] == "high_dose"].groupby("period")[["numerator", "denominator"]].sum()
    rate = hd["numerator"] / hd["denominator"] * 100
    baseline = rate.loc[:"2023-03-01"].mean()
    assert 9 <= baseline <= 13  # about 11% of opioid patients above 120 mg OME
    assert rate.iloc[-3:].mean() < 0.7 * baseline  # reviews taper doses
    share = hd["denominator"].iloc[0] / data.sites["list_size"].sum()
    assert 0.015 <= share <= 0.025  # about 2% of registered patients on opioids
    # equity: the change is smaller in the most deprived quintiles (stated in the generator)
    b = data.breakdowns.loc[data.breakdowns["measure_id"] == "high_dose"]
    b = b.assign(deprived=b["group"].isin(["1", "2"]), late=b["period"] >= "2024-07-01",
                 early=b["period"] <= "2023-03-01")
    def pct(mask):
        s = b.loc[mask, ["numerator", "denominator"]].sum()
        return s["numerator"] / s["denominator"]
    drop_deprived = pct(b["late"] & b["deprived"]) / pct(b["early"] & b["deprived"])
    drop_other = pct(b["late"] & ~b["deprived"]) / pct(b["early"] & ~b["deprived"])
    assert drop_other < drop_deprived


def test_pccc_demo_is_weekly_with_weekend_breakdown(demo_root_session):
    data = load_project(demo_root_session / "params" / "pccc.yaml")
    v = data.measure_values
    assert data.config.frequency == "week"
    assert (v["period"].dt.day_of_week == 0).all()  # Monday weeks
    assert not (data.config.data_dir / "measure_values.csv").exists()  # every measure from records
    b = data.breakdowns
    hours = b.loc[b["measure_id"] == "hours_to_package"]
    early = hours.loc[hours["period"] < "2010-08-01"].groupby("group")["value"].mean()
    assert early["weekend"] > early["weekday"] + 30  # weekend referrals waited for Monday
    late = hours.loc[hours["period"] >= "2011-10-01"].groupby("group")["value"].mean()
    assert abs(late["weekend"] - late["weekday"]) < 10  # weekend opening closed the gap
