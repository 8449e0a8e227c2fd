"""Number audit: every figure in the abstract traced to a fact, and a check of the wording.

- :func:`audit_table`: one row per figure printed (in order): the figure, its section, what it is,
  the sites and periods it describes, how it was computed and where in the results it was read.
- :func:`number_check`: every number token in the text (a run of digits, with thousands commas and
  decimals, e.g. ``37,107``, ``0.20``, ``-0.62``) and whether it is one of the figures its part
  printed. Generated text must be fully traced; numbers in author-written text are listed for the
  author to check by hand (they are not computed).
- :func:`language_flags`: words that claim more than an association (caused, significant,
  effective, proved, due to, led to, impact, p < ...). The generated text never uses them (tests);
  author-written text that does is flagged.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from .compose import Abstract
from .facts import Fact

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")

#: Wording that claims cause or significance (regex, case-insensitive) → what to say instead.
OVERCLAIM = {
    r"(?<!special-)(?<!common-)\bcaus\w*": "caused/causative",  # not SPC's special-/common-cause
    r"\bsignifican\w*": "significant",
    r"\beffective\w*": "effective",
    r"\bprov(?:e|ed|en|es|ing)\b": "proved",
    r"\bdue to\b": "due to",
    r"\bled to\b": "led to",
    r"\bresult(?:ed|s)? in\b": "resulted in",
    r"\bimpact\w*": "impact",
    r"\bp\s*[<>=]": "a p-value",
}

AUDIT_COLUMNS = ["figure", "section", "key", "what", "sites", "periods", "method", "source", "note"]


def numbers_in(text: str) -> list[str]:
    """Number tokens in ``text`` as printed (``37,107``, ``0.20``, ``-0.62``, ``2023``)."""
    return NUMBER.findall(text)


def audit_table(abstract: Abstract, facts: dict[str, Fact]) -> pd.DataFrame:
    """One row per figure printed in the abstract (columns :data:`AUDIT_COLUMNS`)."""
    rows = []
    for section, key in abstract.used_facts():
        f = facts[key]
        rows.append({"figure": f.printed, "section": section, "key": key, "what": f.label, "sites": f.sites,
                     "periods": f.periods, "method": f.method, "source": f.source, "note": f.note})
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def number_check(abstract: Abstract, facts: dict[str, Fact]) -> pd.DataFrame:
    """Every number token of the title and body: ``section``, ``origin`` ("generated" or the params
    key of author-written text), ``number``, ``matched`` (printed by one of the part's facts), ``fact``."""
    rows = [{"section": "Title", "origin": "abstract.title" if abstract.settings.title else "project.title",
             "number": n, "matched": False, "fact": ""} for n in numbers_in(abstract.title)]
    for s in abstract.sections:
        for p in s.parts:
            if p.source:
                rows += [{"section": s.heading, "origin": p.source, "number": n, "matched": False, "fact": ""}
                         for n in numbers_in(p.text)]
                continue
            pool: Counter = Counter()
            owner: dict[str, str] = {}
            for k in p.facts:
                for n in numbers_in(facts[k].printed):
                    pool[n] += 1
                    owner.setdefault(n, k)
            for n in numbers_in(p.text):
                ok = pool[n] > 0
                if ok:
                    pool[n] -= 1
                rows.append({"section": s.heading, "origin": "generated", "number": n, "matched": ok,
                             "fact": owner.get(n, "") if ok else ""})
    return pd.DataFrame(rows, columns=["section", "origin", "number", "matched", "fact"])


def overclaims(text: str) -> list[str]:
    """The over-claiming words found in ``text`` (see :data:`OVERCLAIM`)."""
    return [name for pattern, name in OVERCLAIM.items() if re.search(pattern, text, re.IGNORECASE)]


def language_flags(abstract: Abstract) -> list[str]:
    """Sentences for the report: over-claiming words, by where they occur."""
    out = []
    for s in abstract.sections:
        for p in s.parts:
            found = overclaims(p.text)
            if not found:
                continue
            if p.source:
                out.append(f"Author-written text ({p.source}) uses {', '.join(found)}: check it does not claim more "
                           "than the results show (the attribution shows associations, not causes).")
            else:
                out.append(f"Generated text in {s.heading} uses {', '.join(found)}: please report this to the "
                           "qieval maintainers.")
    return out
