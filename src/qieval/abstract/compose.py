"""The structured abstract: author-written context from the params, every number from the facts.

Each section is a list of :class:`Part` s. A part is either author-written (``source`` names the
params key it came from) or generated from facts (``facts`` lists the keys of the figures it
prints, in order), so the number audit can trace every figure.

Honest language (Wagner et al. 2002; the attribution section's rules): changes over time are
described as values at baseline and in the latest month, never as effects; an attribution estimate
whose interval includes no change "was compatible with no change"; otherwise a category "was
associated with" higher or lower values (only calendar-adjusted pooled estimates are quoted); categories whose starts coincide "could not be separated". The generated
text never says caused, significant, effective or proved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..config import Measure, ProjectConfig, display_path
from ..errors import InputError, Problem
from .facts import Fact
from .settings import SECTIONS, AbstractSettings, setting_line
from .wordcount import count_title, overrun_message, section_counts, title_message


@dataclass(frozen=True)
class Part:
    """A piece of a section: generated from ``facts`` (keys) or author-written (``source``)."""

    text: str
    source: str = ""  # params key of author-written text; "" when generated
    facts: tuple[str, ...] = ()


@dataclass
class Section:
    key: str  # e.g. "results", or "aim+methods" when headings merge sections
    heading: str
    parts: list[Part] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.parts if p.text)


@dataclass
class Abstract:
    """The composed abstract: title, sections, keywords and the word counts."""

    title: str
    sections: list[Section]
    keywords: list[str]
    settings: AbstractSettings

    @property
    def counts(self) -> pd.DataFrame:
        return section_counts([(s.heading, s.text) for s in self.sections], self.settings.count_headings)

    @property
    def words(self) -> int:
        return int(self.counts["counted"].sum())

    @property
    def title_length(self) -> int:
        return count_title(self.title, self.settings.title_limit_unit)

    def used_facts(self) -> list[tuple[str, str]]:
        """(section heading, fact key) in order of appearance, each fact once per section."""
        out = []
        for s in self.sections:
            seen = set()
            for p in s.parts:
                for k in p.facts:
                    if k not in seen:
                        seen.add(k)
                        out.append((s.heading, k))
        return out


class _Pen:
    """Prints facts into a sentence and remembers which ones it printed."""

    def __init__(self, facts: dict[str, Fact]):
        self.facts, self.used = facts, []

    def __call__(self, key: str, interval: bool = True) -> str:
        f = self.facts[key]
        self.used.append(key)
        return f.printed if interval else f.text

    def inline(self, key: str) -> str:
        """``odds ratio 1.16, 0.89 to 1.52`` (for use inside brackets)."""
        f = self.facts[key]
        self.used.append(key)
        return f"{f.text}, {f.interval}" if f.interval else f.text

    def span(self, first: str, last: str) -> str:
        """``April to November 2022`` (the year once when both months share it)."""
        a, b = self.facts[first], self.facts[last]
        if a.text.split()[-1] == b.text.split()[-1]:
            self.used += [first, last]
            return f"{a.text.rsplit(' ', 1)[0]} to {b.text}"
        return f"{self(first)} to {self(last)}"

    def has(self, key: str) -> bool:
        return key in self.facts

    def part(self, text: str) -> Part:
        out = Part(text, "", tuple(self.used))
        self.used = []
        return out


def _join(items: list[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _lower(name: str) -> str:
    """Lower-case the first letter unless the name starts with an acronym (``IT``, ``MDT``)."""
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def measure_name(m: Measure, settings: AbstractSettings) -> str:
    return settings.measure_names.get(m.id, m.title)


# ---- sections --------------------------------------------------------------------------------------

def methods_parts(pen: _Pen, config: ProjectConfig, settings: AbstractSettings, time_effects: set[str],
                  categories: list[str]) -> list[Part]:
    parts = []
    setting = settings.setting or (f"{config.network}." if config.network else "")
    if setting:
        parts.append(Part(setting, "abstract.setting" if settings.setting else "project.network"))
    population = f" (registered population {pen('sites.list_size')})" if pen.has("sites.list_size") else ""
    parts.append(pen.part(f"The project ran in {pen('sites.n')} {settings.site_noun}{population}. "
                          f"Baseline: {pen('baseline.months')} months "
                          f"({pen.span('baseline.start', 'baseline.end')})."))
    if settings.methods:
        parts.append(Part(settings.methods, "abstract.methods"))
    if pen.has("pdsa.n"):
        cats = [f"{c} {pen(f'pdsa.{c}')}" for c in categories if pen.has(f"pdsa.{c}")]
        parts.append(pen.part(
            f"Over {pen('pdsa.months')} months ({pen.span('pdsa.first', 'pdsa.last')}), {pen('pdsa.n')} PDSA "
            f"cycles ({', '.join(cats)}) were staggered between {settings.site_noun}."))
    adjust = ("site and calendar-month effects" if time_effects == {"calendar"}
              else "site effects and a common trend" if time_effects == {"trend"}
              else "a linear trend" if time_effects == {"single-site trend"}
              else "site effects and calendar-month effects or a common trend" if time_effects else "")
    regression = f" and regression with {adjust}" if adjust else ""
    parts.append(pen.part(f"Pooled monthly data were analysed with control charts{regression}; brackets give "
                          f"{pen('ci.level')} confidence intervals."))
    return parts


def _measure_clause(pen: _Pen, m: Measure, name: str, with_month: bool) -> str | None:
    """``name (type) 0.0% (0.0 to 0.3) vs 31.5% (24.6 to 39.4), target 100%`` — baseline vs latest;
    ``… vs 31.5% (…) in March 2023`` when ``with_month`` (the lead did not give a common month)."""
    k = m.id
    if not (pen.has(f"{k}.baseline") and pen.has(f"{k}.latest")):
        return None
    when = f" in {pen(f'{k}.latest_period')}" if with_month else ""
    text = f"{name} ({m.type}) {pen(f'{k}.baseline')} vs {pen(f'{k}.latest')}{when}"
    if pen.has(f"{k}.vs_reference"):
        text += f", {pen(f'{k}.vs_reference')} of the {m.reference.label} of {pen(f'{k}.reference')}"
    if pen.has(f"{k}.target"):
        text += f", target {pen(f'{k}.target')}"
    return text


def _values_sentence(pen: _Pen, measures: list[Measure], settings: AbstractSettings) -> Part | None:
    """``Baseline vs latest (March 2023): a …; b …; c ….`` (each measure's month when they differ)."""
    keys = [f"{m.id}.latest_period" for m in measures if pen.has(f"{m.id}.latest_period")]
    if not keys:
        return None
    common = len({pen.facts[k].text for k in keys}) == 1
    lead = f"Baseline vs latest ({pen(keys[0])}): " if common else "Baseline vs latest: "
    clauses = [c for m in measures if (c := _measure_clause(pen, m, _lower(measure_name(m, settings)), not common))]
    return pen.part(lead + "; ".join(clauses) + ".")


_SPC_ORDER = ["special-cause improvement", "special-cause concern", "special-cause variation",
              "common-cause variation only"]


def _spc_sentence(pen: _Pen, measures: list[Measure], settings: AbstractSettings) -> Part | None:
    groups: dict[str, list[str]] = {}
    by_id = {m.id: m for m in measures}
    for m in measures:
        if pen.has(f"{m.id}.spc") and pen.facts[f"{m.id}.spc"].text in _SPC_ORDER:
            groups.setdefault(pen.facts[f"{m.id}.spc"].text, []).append(m.id)
    if not groups:
        return None
    clauses = []
    for kind in _SPC_ORDER:
        if kind in groups:
            names = [_lower(measure_name(by_id[i], settings)) for i in groups[kind]]
            for i in groups[kind]:
                pen(f"{i}.spc")
            clauses.append(f"{kind} in {_join(names)}")
    return pen.part("Control charts showed " + "; ".join(clauses) + ".")


def _attribution_parts(pen: _Pen, measures: list[Measure], settings: AbstractSettings,
                       categories: list[str]) -> list[Part]:
    """Per category: associated with / no clear change; then what could not be separated or estimated."""
    parts, first = [], True
    together: dict[str, list[str]] = {}
    not_estimable: dict[str, bool] = {}  # measure id → because there were no events before any change
    for cat in categories:
        clear, unclear = [], []
        for m in measures:
            f = pen.facts.get(f"{m.id}.attribution.{cat}")
            if f is None:
                continue
            name = _lower(measure_name(m, settings))
            if f.note == "clear":
                null = 0.0 if f.text.startswith("difference") else 1.0
                clear.append((f"{'higher' if f.value > null else 'lower'} {name}", f.key))
            elif f.note == "no clear change":
                unclear.append((name, f.key))
            elif f.note.startswith("not separable"):
                reason = ("shared" if "shared by all sites" in f.note else
                          "same month" if "same month" in f.note else "other")
                together.setdefault(reason, [])
                if cat not in together[reason]:
                    together[reason].append(cat)
            elif f.note.startswith("not estimable") and m.id not in not_estimable:
                not_estimable[m.id] = "zero baseline" in f.note
        if not clear and not unclear:
            continue
        lead = "Comparing sites month by month, " if first else ""
        first = False
        words = []
        if clear:
            words.append("was associated with " + _join([f"{t} ({pen.inline(k)})" for t, k in clear]))
        if unclear:
            words.append("was compatible with no change in " + _join([f"{t} ({pen.inline(k)})" for t, k in unclear],
                                                                      "or"))
        subject = cat if lead else _cap(cat)
        parts.append(pen.part(f"{lead}{subject} " + " and ".join(words) + "."))
    if together.get("same month"):
        cats = together["same month"]
        verb = "always started together and" if len(cats) > 1 else "started together with another change and"
        parts.append(pen.part(f"{_cap(_join(cats))} {verb} could not be separated."))
    if together.get("shared"):
        cats = together["shared"]
        parts.append(pen.part(f"{_cap(_join(cats))} started in the same month at every site, so could not be "
                              "separated from other changes over time shared by all sites."))
    if together.get("other"):
        cats = together["other"]
        parts.append(pen.part(f"{_cap(_join(cats))} could not be separated from other changes."))
    by_id = {m.id: m for m in measures}
    for zero in (True, False):
        names = [_lower(measure_name(by_id[i], settings)) for i, z in not_estimable.items() if z == zero]
        if names:
            why = " (none at baseline)" if zero else ""
            parts.append(pen.part(f"Associations with {_join(names)} could not be estimated{why}."))
    return parts


def results_parts(pen: _Pen, measures: list[Measure], settings: AbstractSettings,
                  categories: list[str]) -> list[Part]:
    values = _values_sentence(pen, measures, settings)
    parts = [values] if values else []
    spc = _spc_sentence(pen, measures, settings)
    if spc:
        parts.append(spc)
    return parts + _attribution_parts(pen, measures, settings, categories)


# ---- the abstract ----------------------------------------------------------------------------------

def compose(facts: dict[str, Fact], config: ProjectConfig, settings: AbstractSettings, measures: list[Measure],
            time_effects: set[str], categories: list[str]) -> Abstract:
    """Build the abstract (no limits checked here: see :func:`enforce_limits`)."""
    pen = _Pen(facts)
    body = {
        "background": [Part(settings.background, "abstract.background")],
        "aim": [Part(" ".join(config.aim.statement.split()), "aim.statement")],
        "methods": methods_parts(pen, config, settings, time_effects, categories),
        "results": results_parts(pen, measures, settings, categories),
        "conclusion": [Part(settings.conclusion, "abstract.conclusion")],
    }
    sections: list[Section] = []
    for key in SECTIONS:
        heading = getattr(settings.headings, key)
        if sections and sections[-1].heading == heading:
            sections[-1].key += f"+{key}"
            sections[-1].parts += body[key]
        else:
            sections.append(Section(key, heading, list(body[key])))
    title = " ".join((settings.title or config.title).split())
    return Abstract(title, sections, list(settings.keywords), settings)


def enforce_limits(abstract: Abstract, config: ProjectConfig) -> None:
    """Raise :class:`InputError` when the body is over the word limit (naming the overrun and the
    longest section) or the title over the title limit. Nothing is ever truncated."""
    s, label = abstract.settings, display_path(config.params_path)
    problems = []
    msg = overrun_message(abstract.counts, s.word_limit, s.count_headings)
    if msg:
        problems.append(Problem(label, setting_line(config, "word_limit"), "abstract.word_limit", msg))
    msg = title_message(abstract.title, s.title_limit, s.title_limit_unit)
    if msg:
        key = "title" if s.title else "title_limit"
        problems.append(Problem(label, setting_line(config, key), f"abstract.{key}", msg))
    if problems:
        raise InputError(problems)
