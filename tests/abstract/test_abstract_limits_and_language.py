"""Limits are errors, never truncation; the text never over-claims what the attribution shows."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from qieval.abstract.audit import overclaims
from qieval.abstract.compose import _Pen, compose, enforce_limits, results_parts
from qieval.abstract.facts import Fact, verdict
from qieval.abstract.settings import AbstractSettings
from qieval.config import Measure
from qieval.errors import InputError


def test_demo_is_within_its_limits(abstract_report):
    a = abstract_report.text
    assert a.words <= 300 and a.title_length <= 20
    assert [s.heading for s in a.sections] == ["Background", "Aim", "Methods", "Results", "Conclusion"]


def test_word_limit_120_is_an_error_naming_the_overrun(demo_root, abstract_report):
    from qieval.report.abstract_report import prepare

    path = demo_root / "params" / "deprescribing.yaml"
    text = path.read_text(encoding="utf-8").replace("  word_limit: 300\n", "  word_limit: 120\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        prepare(path)
    (p,) = err.value.problems
    words = abstract_report.text.words
    counts = abstract_report.text.counts
    longest = counts.loc[counts["counted"].idxmax()]
    assert p.column == "abstract.word_limit"
    assert p.row == text.splitlines().index("  word_limit: 120") + 1
    assert f"the abstract is {words} words, {words - 120} over the word limit of 120" in p.message
    assert f"the longest section is {longest['heading']} ({longest['counted']} words)" in p.message
    assert longest["heading"] == "Results"


def test_counting_headings_and_title_limit(abstract_report, demo_root_session):
    from qieval.config import load_config

    config = load_config(demo_root_session / "params" / "deprescribing.yaml")
    base = abstract_report.settings.model_dump()
    n = abstract_report.text.words
    s = AbstractSettings(**{**base, "count_headings": True, "word_limit": n + 1, "title_limit": 5})
    a = compose(abstract_report.facts, config, s, abstract_report.measures, {"calendar"},
                ["education", "staffing", "IT"])
    assert a.words == n + 5  # five one-word headings
    with pytest.raises(InputError) as err:
        enforce_limits(a, config)
    msgs = {p.column: p.message for p in err.value.problems}
    assert "4 over the word limit" in msgs["abstract.word_limit"] and "headings counted" in msgs["abstract.word_limit"]
    assert "the title is 12 words, 7 over the title limit of 5 words" in msgs["abstract.title"]


def test_merged_headings(abstract_report, demo_root_session):
    from qieval.config import load_config

    config = load_config(demo_root_session / "params" / "deprescribing.yaml")
    base = abstract_report.settings.model_dump()
    base["headings"] = {**base["headings"], "aim": "Study aim and methods", "methods": "Study aim and methods"}
    a = compose(abstract_report.facts, config, AbstractSettings(**base), abstract_report.measures, {"calendar"},
                ["education", "staffing", "IT"])
    assert [s.heading for s in a.sections] == ["Background", "Study aim and methods", "Results", "Conclusion"]
    assert a.sections[1].key == "aim+methods"


# ---- honest language -------------------------------------------------------------------------------

def test_generated_text_never_overclaims(abstract_report):
    for s in abstract_report.text.sections:
        for p in s.parts:
            if not p.source:
                assert overclaims(p.text) == [], (s.heading, p.text)
    results = next(s for s in abstract_report.text.sections if s.key == "results").text
    assert "could not be separated" in results and "compatible with no change" in results
    assert not re.search(r"(?<!special-)(?<!common-)\bcaus|significan|effective|\bp\s*[<>]", results,
                         re.IGNORECASE)


def test_no_clear_change_when_the_interval_includes_no_change(abstract_report):
    results = next(s for s in abstract_report.text.sections if s.key == "results").text
    for key, f in abstract_report.facts.items():
        if ".attribution." not in key or f.note not in ("clear", "no clear change"):
            continue
        figure = f"({f.text}, {f.interval})"
        sentence = next(x for x in results.split(". ") if figure in x)
        before = sentence[: sentence.index(figure)]
        lo, hi = f.low, f.high
        null = 0.0 if f.text.startswith("difference") else 1.0
        if lo <= null <= hi:
            assert f.note == "no clear change" and "compatible with no change in" in before
            assert before.rfind("compatible with no change") > before.rfind("associated with")
        else:
            assert f.note == "clear" and before.rfind("associated with") > before.rfind("compatible with no change")


def _row(**kw) -> pd.Series:
    base = {"category": "education", "estimate": 0.1, "estimate_low": -0.1, "estimate_high": 0.3, "ratio": 1.1,
            "ratio_low": 0.9, "ratio_high": 1.35, "separable": True, "note": "",
            "method": "calendar-adjusted; average of the effects by month since the start"}
    return pd.Series({**base, **kw})


def test_verdicts():
    assert verdict(_row(), "binomial") == "no clear change"
    assert verdict(_row(ratio_low=1.02), "binomial") == "clear"
    assert verdict(_row(ratio_low=0.99, estimate_low=0.01), "gaussian") == "clear"
    assert verdict(_row(estimate_low=-0.01), "gaussian") == "no clear change"
    assert verdict(_row(separable=False, estimate=float("nan"), note="IT and staffing started in the same "
                        "month at every site; ..."), "binomial") == "not separable"
    assert verdict(_row(separable=False, estimate=float("nan"), note="Not estimable: ... zero baseline"),
                   "binomial") == "not estimable"
    # only calendar-adjusted pooled estimates with an interval are quoted
    its = "interrupted time series against a linear trend; level change from the start"
    assert verdict(_row(ratio_low=1.02, method=its), "binomial") == "not quoted"
    assert verdict(_row(ratio_low=1.02, method="interrupted time series at one site; ..."), "binomial") == "not quoted"
    assert verdict(_row(ratio_low=float("nan")), "binomial") == "not quoted"


def _measure(mid: str, unit: str = "percent") -> Measure:
    return Measure(id=mid, title=mid.title(), type="process", numerator="n", denominator="d", unit=unit,
                   improvement_direction="increase")


def test_synthetic_results_wording():
    """A clear increase, an interval through 1, and two categories that started together."""
    a, b = _measure("alpha"), _measure("beta")
    facts = {
        "alpha.attribution.education": Fact("alpha.attribution.education", "", "odds ratio 1.40", "1.10 to 1.78",
                                            1.40, 1.10, 1.78, note="clear"),
        "beta.attribution.education": Fact("beta.attribution.education", "", "odds ratio 0.95", "0.70 to 1.29",
                                           0.95, 0.70, 1.29, note="no clear change"),
        "alpha.attribution.IT": Fact("alpha.attribution.IT", "", "not separable",
                                     note="not separable: IT and staffing started in the same month at every site"),
        "alpha.attribution.staffing": Fact("alpha.attribution.staffing", "", "not separable",
                                           note="not separable: IT and staffing started in the same month"),
    }
    s = AbstractSettings(background="b", conclusion="c")
    text = " ".join(p.text for p in results_parts(_Pen(facts), [a, b], s, ["education", "staffing", "IT"]))
    assert ("Comparing sites month by month, education was associated with higher alpha (odds ratio 1.40, 1.10 to "
            "1.78) and was compatible with no change in beta (odds ratio 0.95, 0.70 to 1.29).") in text
    assert "Staffing and IT always started together and could not be separated." in text
    assert overclaims(text) == []


def test_author_overclaims_are_flagged(abstract_report, demo_root_session):
    from qieval.abstract.audit import language_flags
    from qieval.config import load_config

    config = load_config(demo_root_session / "params" / "deprescribing.yaml")
    base = abstract_report.settings.model_dump()
    base["conclusion"] = "Education caused a significant improvement (p>95% causative)."
    a = compose(abstract_report.facts, config, AbstractSettings(**base), abstract_report.measures, {"calendar"},
                ["education", "staffing", "IT"])
    flags = language_flags(a)
    assert len(flags) == 1 and "abstract.conclusion" in flags[0] and "caused" in flags[0]
    assert overclaims("special-cause improvement; common-cause variation") == []


def test_not_separable_for_other_reasons_and_not_estimable():
    a, b = _measure("alpha"), _measure("beta")
    facts = {
        "alpha.attribution.process": Fact("alpha.attribution.process", "", "not separable",
                                          note="not separable: process had fewer than 8 months after its start"),
        "beta.attribution.process": Fact("beta.attribution.process", "", "not estimable",
                                         note="not estimable: Not estimable: ... a zero baseline ..."),
    }
    s = AbstractSettings(background="b", conclusion="c")
    text = " ".join(p.text for p in results_parts(_Pen(facts), [a, b], s, ["process"]))
    assert text == ("Process could not be separated from other changes. Associations with beta could not be "
                    "estimated (none at baseline).")
