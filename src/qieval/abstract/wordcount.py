"""Word counting as submission portals count, and the limits.

**Rule.** A word is a run of characters between whitespace (spaces, tabs, line breaks): the text is
split on whitespace and every non-empty piece counts once. So ``0.2%``, ``37,107``,
``patient-centred``, ``(95%`` and ``CI)`` are one word each, and ``24.6 to 39.4`` is three. A
free-standing dash or symbol counts too: this is what the common portals (ScholarOne, Oxford
Abstracts, Editorial Manager: JavaScript ``text.trim().split(/\\s+/)``) do, and counting it keeps
qieval from ever under-counting against them. Headings are counted only when
``abstract.count_headings`` is true (default: not counted); the title is counted separately against
``abstract.title_limit`` (in words by the same rule, or in characters including spaces).
"""

from __future__ import annotations

import pandas as pd


def count_words(text: str) -> int:
    """Number of whitespace-separated tokens in ``text`` (see the module docstring)."""
    return len(text.split())


def count_title(title: str, unit: str = "words") -> int:
    """Title length in words (same rule) or characters (including spaces, after trimming)."""
    return count_words(title) if unit == "words" else len(" ".join(title.split()))


def section_counts(sections: list[tuple[str, str]], count_headings: bool) -> pd.DataFrame:
    """Tidy table of the body's word counts: ``heading``, ``heading_words``, ``text_words``,
    ``counted`` (text words, plus heading words when headings count)."""
    rows = []
    for heading, text in sections:
        hw, tw = count_words(heading), count_words(text)
        rows.append({"heading": heading, "heading_words": hw, "text_words": tw,
                     "counted": tw + (hw if count_headings else 0)})
    return pd.DataFrame(rows, columns=["heading", "heading_words", "text_words", "counted"])


def overrun_message(counts: pd.DataFrame, limit: int, count_headings: bool) -> str | None:
    """``None`` within the limit; else the error text: total, by how much, and the longest section."""
    total = int(counts["counted"].sum())
    if total <= limit:
        return None
    longest = counts.loc[counts["counted"].idxmax()]
    rule = "headings counted" if count_headings else "headings not counted"
    return (f"the abstract is {total} words, {total - limit} over the word limit of {limit} ({rule}); "
            f"the longest section is {longest['heading']} ({int(longest['counted'])} words). Shorten the "
            "author-written text (abstract.background, .setting, .methods, .conclusion), report fewer "
            "measures (abstract.measures) or raise abstract.word_limit; qieval never truncates")


def title_message(title: str, limit: int, unit: str) -> str | None:
    """``None`` within the title limit; else the error text with the overrun."""
    n = count_title(title, unit)
    if n <= limit:
        return None
    return (f"the title is {n} {unit}, {n - limit} over the title limit of {limit} {unit}: "
            "shorten abstract.title (or the project title) or raise abstract.title_limit")
