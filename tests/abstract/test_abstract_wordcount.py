"""Word counting as portals count: whitespace-separated tokens (hand-counted sentences)."""

import pytest

from qieval.abstract.wordcount import count_title, count_words, overrun_message, section_counts


@pytest.mark.parametrize("text, n", [
    ("", 0),
    ("Deprescribing is a positive, patient-centred process.", 6),  # patient-centred is one word
    ("The register size increased from 0.2% to 0.39% of the practice population.", 12),
    ("Four GP surgeries participated (patient population 37,107).", 7),  # 37,107 is one word
    ("Conversations rose to 31.5% (24.6 to 39.4) in March 2023.", 10),  # "(24.6" and "39.4)" one each
    ("odds ratio 1.16, 0.89 to 1.52", 6),
    ("  spaces\tand\nline   breaks  ", 4),
    ("before – after", 3),  # a free-standing dash counts, as portals count it
])
def test_hand_counted(text, n):
    assert count_words(text) == n


def test_title_in_words_or_characters():
    assert count_title("Deprescribing: a  quality improvement project") == 5
    assert count_title(" Deprescribing:  a QI project ", "characters") == len("Deprescribing: a QI project")


def test_headings_counted_only_when_asked():
    sections = [("Background", "one two three"), ("Study aim", "four five")]
    off, on = section_counts(sections, False), section_counts(sections, True)
    assert off["counted"].sum() == 5 and on["counted"].sum() == 5 + 1 + 2


def test_overrun_names_excess_and_longest_section():
    counts = section_counts([("Background", "a " * 10), ("Results", "b " * 30)], False)
    assert overrun_message(counts, 40, False) is None
    msg = overrun_message(counts, 25, False)
    assert "40 words, 15 over the word limit of 25" in msg
    assert "longest section is Results (30 words)" in msg
