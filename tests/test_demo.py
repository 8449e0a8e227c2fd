"""The demo data: deterministic, and true to seed 000 (numbers from the abstract)."""

import hashlib

import pandas as pd

from qieval.demo import deprescribing, write_demo
from qieval.io.load import load_project


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_demo_is_byte_for_byte_deterministic(tmp_path):
    write_demo(tmp_path / "a")
    write_demo(tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_demo_matches_the_published_project(demo_root_session):
    data = load_project(demo_root_session / "params" / "deprescribing.yaml")
    sites, cycles, mv = data.sites, data.pdsa_cycles, data.measure_values
    assert len(sites) == 4 and sites["list_size"].sum() == 37107  # "patient population 37,107"
    assert len(cycles) == 11  # "Eleven Plan Do Study Act cycles"
    first, last = cycles["start"].min().to_period("M"), cycles["end"].max().to_period("M")
    assert (last - first).n + 1 == 8  # "over eight months": April to November
    assert set(cycles["category"]) == {"education", "staffing", "IT"}
    base = mv[mv["period"] <= "2022-03-01"]
    assert base["period"].nunique() >= 12  # 12+ months of baseline
    conv = mv[mv["measure_id"] == "conversation_offered"]
    assert conv.loc[conv["period"] <= "2022-03-01", "numerator"].sum() == 0  # 0% at baseline
    last = conv[conv["period"] == conv["period"].max()]
    assert 0.25 <= last["numerator"].sum() / last["denominator"].sum() <= 0.42  # "about a third"
    reg = mv[mv["measure_id"] == "register_prevalence"].groupby("period")[["numerator", "denominator"]].sum()
    early = reg.iloc[:3].sum()
    latest = reg.iloc[-3:].sum()
    assert 0.0015 <= early["numerator"] / early["denominator"] <= 0.0025  # ~0.2%
    assert 0.0033 <= latest["numerator"] / latest["denominator"] <= 0.0045  # ~0.39%


def test_demo_design_has_separable_and_inseparable_categories():
    starts = deprescribing.FIRST_STARTS
    edu = {s: c.get("education") for s, c in starts.items()}
    assert len(set(edu.values())) == 4  # staggered across practices
    assert all(c.get("staffing") == c.get("IT") for c in starts.values())  # never separable
    cycles = deprescribing.pdsa_cycles()
    first = cycles.assign(month=cycles["start"].str[:7]).groupby(["site_id", "category"])["month"].min()
    for site, cats in starts.items():
        for cat, month in cats.items():
            assert first[(site, cat)] == month
