"""The rules applied to hand-made sites: every status, history and edge (missing round, missing
standard, no evidence, baseline only, never assessed, contradiction), and the summary sentences."""

from __future__ import annotations

import csv
import os

import pandas as pd
import pytest

from qieval.accreditation.evaluation import evaluate, summary_sentences, write_status_csv

from accreditation_helpers import assessments, checks

B, F1, F2 = "baseline", "follow-up 1", "follow-up 2"
D = {B: "2021-04-10", F1: "2022-10-10", F2: "2023-04-10"}


def _rows(site: str, rnd: str, s1: int, s2: int, ev1: str = "ev", ev2: str = "ev") -> list[tuple]:
    return [(site, "S1", rnd, D[rnd], s1, ev1), (site, "S2", rnd, D[rnd], s2, ev2)]


ROWS = (
    _rows("acc", B, 1, 0) + _rows("acc", F1, 2, 3) + _rows("acc", F2, 3, 2)
    + _rows("lap", B, 0, 0, "", "") + _rows("lap", F1, 2, 2) + _rows("lap", F2, 2, 2)
    + _rows("flat", B, 1, 1) + _rows("flat", F1, 1, 1)
    + _rows("base", B, 1, 1)
    + _rows("skip", B, 0, 0, "", "") + _rows("skip", F2, 2, 2)  # no follow-up 1
    + _rows("gap", B, 0, 0, "", "") + [("gap", "S2", F1, D[F1], 3, "ev")]  # S1 not assessed in F1
    + _rows("noev", B, 0, 0, "", "") + _rows("noev", F1, 2, 2, "", "ev")  # S1 claimed, no evidence
)
CHECKS = [("acc", B, 0.2), ("acc", F1, 0.45), ("acc", F2, 0.41),
          ("lap", B, 0.2), ("lap", F1, 0.43), ("lap", F2, 0.39),
          ("flat", B, 0.2), ("flat", F1, 0.25), ("base", B, 0.3),
          ("skip", B, 0.2), ("skip", F2, 0.4),  # a tie: meets
          ("gap", B, 0.2), ("gap", F1, 0.5), ("noev", B, 0.2), ("noev", F1, 0.5)]
SITES = ["acc", "lap", "flat", "base", "skip", "gap", "noev", "none"]


@pytest.fixture
def status(framework) -> pd.DataFrame:
    ev = evaluate(assessments(ROWS), checks(CHECKS), framework, [(s, s.title()) for s in SITES])
    return ev.status.set_index("site_id")


@pytest.mark.parametrize("site, status_, history, met, measures, contradictions", [
    ("acc", "accredited", "sustained", 2, 1, 0),
    ("lap", "progressing", "lapsed", 2, 0, 1),  # both standards claimed met; register 0.39 < 0.4
    ("flat", "not yet", "never", 0, 0, 0),  # levels unchanged from baseline
    ("base", "not yet", "never", 0, 0, 0),  # only the baseline assessed
    ("skip", "accredited", "new", 2, 1, 0),  # follow-up 1 missing: compared with the baseline; tie meets
    ("gap", "progressing", "never", 1, 1, 0),  # S1 missing from the round: not met
    ("noev", "progressing", "never", 1, 1, 0),  # S1 level 2 without evidence: not met, not improved
    ("none", "not yet", "never", 0, 0, 0),  # never assessed
])
def test_each_site(status, site, status_, history, met, measures, contradictions):
    r = status.loc[site]
    assert (r["status"], r["history"], r["standards_met"], r["measures_met"], r["contradictions"]) == \
        (status_, history, met, measures, contradictions)


def test_reasons_say_why(status):
    assert "S1 self-assessed as met (level 2) but the linked measure says otherwise" in status.loc["lap", "reasons"]
    assert "register size 0.39% in Jan 2023 to Mar 2023, does not meet the threshold of at least 0.4%" \
        in status.loc["lap", "reasons"]
    assert "lapsed: accredited in follow-up 1, not in follow-up 2" in status.loc["lap", "reasons"]
    assert "S1 identifying patients: not assessed in follow-up 1" in status.loc["gap", "reasons"]
    assert "S1 identifying patients: level 2 but no evidence given" in status.loc["noev", "reasons"]
    assert "1 standard(s) uplifted from baseline" in status.loc["noev", "reasons"]  # S2 only
    assert "only the baseline has been assessed" in status.loc["base", "reasons"]
    assert status.loc["none", "reasons"] == "not assessed"
    assert status.loc["acc", "first_accredited"] == "follow-up 1"
    assert status.loc["skip", "latest_round"] == "follow-up 2"


def test_more_standards_needed_to_progress(framework):
    ev = evaluate(assessments(ROWS), checks(CHECKS), framework.model_copy(
        update={"accreditation": framework.accreditation.model_copy(update={"progressing_min_improved": 2})}),
        [("noev", "Noev"), ("gap", "Gap")])
    assert list(ev.status["status"]) == ["not yet", "not yet"]  # each has one standard uplifted


def test_summary_sentences(status):
    frame = status.reset_index()
    assert summary_sentences(frame) == [
        "2 of 8 practices accredited: Acc and Skip.",
        "3 of 8 practices progressing towards accreditation: Lap, Gap and Noev.",
        "3 of 8 practices not yet progressing (status: not yet): Flat, Base and None.",
        "1 of 8 practices kept their accreditation from the previous round: Acc.",
        "1 of 8 practices were accredited in an earlier round but not in the latest: Lap.",
        "At 1 of 8 practices the self-assessment claims a standard is met but the linked measure says "
        "otherwise: Lap.",
    ]


def test_status_csv_round_trips_and_is_written_atomically(status, tmp_path, monkeypatch):
    frame = status.reset_index()
    path = write_status_csv(frame, tmp_path / "out" / "accreditation_status.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["site_id"] for r in rows] == SITES
    assert rows[1]["status"] == "progressing" and rows[1]["history"] == "lapsed"
    good = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_status_csv(frame.iloc[:1], path)
    assert path.read_bytes() == good  # the last good file is untouched
    assert [p.name for p in path.parent.iterdir()] == ["accreditation_status.csv"]  # no temp left
