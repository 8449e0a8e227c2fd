"""Making Data Count variation and assurance icons, drawn as standalone SVG text.

Our own drawings in the style of NHS England's "Making Data Count" icons (a coloured ring with a
small chart inside): orange for concern, blue for improvement, purple for neutral special cause,
grey for common cause / inconsistent assurance. Colours are those of NHSRplotthedots 0.2.2
(``R/ptd_spc_colours.R``, standardised with the MDC Power BI team, issue #196). Colour is never
the only cue: special-cause icons carry the letter H (high) or L (low), assurance icons P (pass),
F (fail) or ? (inconsistent), and every icon has a ``<title>`` and ``<desc>`` for screen readers.

The icon names match :func:`qieval.spc.mdc.mdc_icons` (and NHSRplotthedots' ``inst/icons``):
variation ``common_cause, improvement_high, improvement_low, concern_high, concern_low,
neutral_high, neutral_low``; assurance ``pass, fail, inconsistent``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

__all__ = [
    "COLOURS",
    "VARIATIONS",
    "ASSURANCES",
    "variation_icon_svg",
    "assurance_icon_svg",
]

#: Point/icon colours of NHSRplotthedots 0.2.2 ``ptd_spc_colours()``.
COLOURS: dict[str, str] = {
    "common_cause": "#a6a6a6",  # grey
    "improvement": "#00b0f0",  # blue
    "neutral": "#490092",  # purple
    "concern": "#e46c0a",  # orange
}
_TEXT_GREY = "#595959"  # darker grey for letters/lines on white (contrast)

VARIATIONS = (
    "common_cause", "improvement_high", "improvement_low", "concern_high", "concern_low",
    "neutral_high", "neutral_low",
)
ASSURANCES = ("pass", "fail", "inconsistent")

#: An MDC point type and the measure's improvement direction -> the variation icon, as
#: NHSRplotthedots' ``ptd_get_icons`` (R/geom_ptd_icon.R). One table for mdc(), the chart shown
#: (:mod:`qieval.spc.signals`) and the icon drawing here.
VARIATION_OF_POINT_TYPE = {
    "common_cause": {"increase": "common_cause", "decrease": "common_cause", "neutral": "common_cause"},
    "special_cause_improvement": {"increase": "improvement_high", "decrease": "improvement_low"},
    "special_cause_concern": {"increase": "concern_low", "decrease": "concern_high"},
    "special_cause_neutral_high": {"neutral": "neutral_high"},
    "special_cause_neutral_low": {"neutral": "neutral_low"},
}

_DIRECTION_TEXT = {
    "increase": "higher values are better",
    "decrease": "lower values are better",
    "neutral": "neither direction is better",
}


def _svg(title: str, desc: str, colour: str, body: list[str], slug: str) -> str:
    tid, did = f"mdc-{slug}-title", f"mdc-{slug}-desc"
    lines = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100" '
        f'role="img" aria-labelledby="{tid} {did}">',
        f'  <title id="{tid}">{escape(title)}</title>',
        f'  <desc id="{did}">{escape(desc)}</desc>',
        f'  <circle cx="50" cy="50" r="45" fill="#ffffff" stroke="{colour}" stroke-width="6"/>',
        *("  " + b for b in body),
        "</svg>",
    ]
    return "\n".join(lines) + "\n"


def _letter(ch: str, colour: str, y: float = 40) -> str:
    return (f'<text x="50" y="{y}" text-anchor="middle" font-family="Arial, Helvetica, sans-serif" '
            f'font-size="30" font-weight="bold" fill="{colour}">{escape(ch)}</text>')


def _dots(heights: list[float], colours: list[str]) -> list[str]:
    """A tiny run chart: polyline plus dots at x = 24..76."""
    xs = [24 + i * (52 / (len(heights) - 1)) for i in range(len(heights))]
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, heights))
    out = [f'<polyline points="{pts}" fill="none" stroke="{COLOURS["common_cause"]}" stroke-width="2"/>']
    out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{c}"/>' for x, y, c in zip(xs, heights, colours)]
    return out


def variation_icon_svg(variation: str, improvement_direction: str = "increase") -> str:
    """SVG text of an MDC variation icon.

    ``variation`` is an icon name from :func:`~qieval.spc.mdc.mdc_icons` (see :data:`VARIATIONS`)
    or an :func:`~qieval.spc.mdc.mdc` ``point_type``, which ``improvement_direction``
    ("increase", "decrease", "neutral") turns into the icon name. The direction also goes into the
    accessible description. Raises :class:`ValueError` for an unknown name.
    """
    if improvement_direction not in _DIRECTION_TEXT:
        raise ValueError(f"improvement_direction must be one of {list(_DIRECTION_TEXT)}, not {improvement_direction!r}")
    if variation in VARIATION_OF_POINT_TYPE:
        variation = VARIATION_OF_POINT_TYPE[variation].get(improvement_direction, "")
    if variation not in VARIATIONS:
        raise ValueError(f"unknown variation {variation!r}; expected one of {list(VARIATIONS)}")
    direction_text = _DIRECTION_TEXT[improvement_direction]
    grey = COLOURS["common_cause"]
    if variation == "common_cause":
        body = _dots([66, 60, 68, 62, 67, 61, 65], [grey] * 7)
        return _svg("Common cause variation",
                    f"No significant change: only natural (common cause) variation ({direction_text}).",
                    grey, body, variation)
    kind, side = variation.split("_")
    colour = COLOURS[kind]
    high = side == "high"
    heights = [72, 74, 71, 73, 62, 57, 53] if high else [56, 54, 57, 55, 64, 69, 74]
    body = _dots(heights, [grey] * 4 + [colour] * 3)
    letter = "H" if high else "L"
    body.append(_letter(letter, colour, y=40))
    name = {"improvement": "Improvement", "concern": "Concern", "neutral": "Neutral"}[kind]
    level = "high" if high else "low"
    title = f"Special cause variation - {name.lower()} ({level})"
    desc = {
        "improvement": f"Special cause variation of an improving nature: {level}er values ({direction_text}).",
        "concern": f"Special cause variation of a concerning nature: {level}er values ({direction_text}).",
        "neutral": f"Special cause variation, neither improving nor concerning: {level}er values.",
    }[kind]
    return _svg(title, desc, colour, body, variation)


def assurance_icon_svg(assurance: str) -> str:
    """SVG text of an MDC assurance icon: ``pass`` (P, blue), ``fail`` (F, orange) or
    ``inconsistent`` (?, grey). Raises :class:`ValueError` for anything else (including the empty
    assurance of a chart without a target, which has no icon)."""
    spec = {
        "pass": ("P", COLOURS["improvement"], "Assurance: the system is expected to consistently pass the target",
                 "The whole range between the process limits meets the target, so it will consistently be met."),
        "fail": ("F", COLOURS["concern"], "Assurance: the system is expected to consistently fail the target",
                 "No value between the process limits meets the target, so it will consistently be missed."),
        "inconsistent": ("?", _TEXT_GREY, "Assurance: the system will inconsistently pass and fail the target",
                         "The target lies within the process limits, so it will be met only some of the time."),
    }
    if assurance not in spec:
        raise ValueError(f"unknown assurance {assurance!r}; expected one of {list(ASSURANCES)}")
    letter, colour, title, desc = spec[assurance]
    ring = COLOURS["common_cause"] if assurance == "inconsistent" else colour
    target_y = {"pass": 80, "fail": 54, "inconsistent": 67}[assurance]
    limit = COLOURS["common_cause"]
    body = [
        _letter(letter, colour, y=44),
        # process limits (grey, solid) and the target (dashed, in the icon colour)
        f'<line x1="26" y1="60" x2="74" y2="60" stroke="{limit}" stroke-width="2"/>',
        f'<line x1="26" y1="74" x2="74" y2="74" stroke="{limit}" stroke-width="2"/>',
        f'<line x1="26" y1="{target_y}" x2="74" y2="{target_y}" stroke="{ring}" stroke-width="3" '
        'stroke-dasharray="5 3"/>',
    ]
    return _svg(title, desc, ring, body, assurance)
