"""MDC icons: well-formed SVG, accessible title, NHSRplotthedots colours, letters as a second cue."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from qieval.spc.icons import (
    ASSURANCES,
    COLOURS,
    VARIATIONS,
    assurance_icon_svg,
    variation_icon_svg,
)

NS = "{http://www.w3.org/2000/svg}"
# NHSRplotthedots 0.2.2, R/ptd_spc_colours.R
GREY, BLUE, PURPLE, ORANGE = "#a6a6a6", "#00b0f0", "#490092", "#e46c0a"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")]


def colours(root: ET.Element) -> set[str]:
    return {el.get(a).lower() for el in root.iter() for a in ("fill", "stroke") if el.get(a)}


def test_palette_is_nhsrplotthedots():
    assert COLOURS == {"common_cause": GREY, "improvement": BLUE, "neutral": PURPLE, "concern": ORANGE}


@pytest.mark.parametrize(
    "variation, colour, letter",
    [
        ("common_cause", GREY, None),
        ("improvement_high", BLUE, "H"),
        ("improvement_low", BLUE, "L"),
        ("concern_high", ORANGE, "H"),
        ("concern_low", ORANGE, "L"),
        ("neutral_high", PURPLE, "H"),
        ("neutral_low", PURPLE, "L"),
    ],
)
def test_variation_icons(variation, colour, letter):
    root = parse(variation_icon_svg(variation, "increase"))
    title = root.find(f"{NS}title")
    assert title is not None and title.text
    assert root.get("role") == "img"
    assert title.get("id") in root.get("aria-labelledby").split()
    assert colour in colours(root)
    assert texts(root) == ([] if letter is None else [letter])
    if colour != GREY:  # only the special-cause colour of its own kind
        assert not ({BLUE, ORANGE, PURPLE} - {colour}) & colours(root)


def test_every_variation_name_is_covered():
    assert set(VARIATIONS) == {"common_cause", "improvement_high", "improvement_low", "concern_high",
                               "concern_low", "neutral_high", "neutral_low"}


@pytest.mark.parametrize(
    "point_type, direction, same_as",
    [
        ("special_cause_improvement", "increase", "improvement_high"),
        ("special_cause_improvement", "decrease", "improvement_low"),
        ("special_cause_concern", "increase", "concern_low"),
        ("special_cause_concern", "decrease", "concern_high"),
        ("special_cause_neutral_low", "neutral", "neutral_low"),
    ],
)
def test_point_types_are_accepted(point_type, direction, same_as):
    assert variation_icon_svg(point_type, direction) == variation_icon_svg(same_as, direction)


@pytest.mark.parametrize("assurance, colour, letter", [("pass", BLUE, "P"), ("fail", ORANGE, "F"),
                                                       ("inconsistent", GREY, "?")])
def test_assurance_icons(assurance, colour, letter):
    root = parse(assurance_icon_svg(assurance))
    assert root.find(f"{NS}title").text
    assert root.find(f"{NS}desc").text
    assert colour in colours(root)
    assert texts(root) == [letter]


def test_assurance_names():
    assert set(ASSURANCES) == {"pass", "fail", "inconsistent"}


@pytest.mark.parametrize("bad", ["", "improvement", "special_cause_flag"])
def test_unknown_variation_raises(bad):
    with pytest.raises(ValueError):
        variation_icon_svg(bad, "increase")


def test_unknown_assurance_or_direction_raises():
    with pytest.raises(ValueError):
        assurance_icon_svg("")
    with pytest.raises(ValueError):
        variation_icon_svg("common_cause", "up")


def test_icons_differ_and_ids_are_unique_per_icon():
    svgs = [variation_icon_svg(v) for v in VARIATIONS] + [assurance_icon_svg(a) for a in ASSURANCES]
    assert len(set(svgs)) == len(svgs)
    ids = [parse(s).find(f"{NS}title").get("id") for s in svgs]
    assert len(set(ids)) == len(ids)
