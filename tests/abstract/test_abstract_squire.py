"""SQUIRE 2.0 items 1 and 2 as a checklist."""

from qieval.abstract.compose import Abstract
from qieval.abstract.squire import squire_checklist


def test_demo_covers_every_item(abstract_report):
    t = squire_checklist(abstract_report.text, abstract_report.facts, abstract_report.network.data.pdsa_cycles)
    assert list(t["item"]) == ["1 Title", "2a Searching and indexing", "2b Background", "2b Local problem",
                               "2b Methods", "2b Interventions", "2b Results", "2b Conclusions"]
    assert t["covered"].all(), t.loc[~t["covered"]]


def test_missing_items_are_shown(abstract_report):
    a = abstract_report.text
    bare = Abstract("Deprescribing in palliative care", a.sections, [], a.settings)
    t = squire_checklist(bare, abstract_report.facts, abstract_report.network.data.pdsa_cycles).set_index("item")
    assert not t.loc["1 Title", "covered"] and not t.loc["2a Searching and indexing", "covered"]
    assert "no keywords" in t.loc["2a Searching and indexing", "evidence"]
