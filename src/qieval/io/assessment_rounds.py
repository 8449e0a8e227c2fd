"""Assessment rounds: ``baseline``, ``follow-up 1``, ``follow-up 2`` … ↔ round numbers 0, 1, 2 ….

Why a module of its own: the validation, the rules and the report all order rounds, and must agree.
"""

from __future__ import annotations

import re

import pandas as pd

ROUND = re.compile(r"^(baseline|follow-up ([1-9]\d*))$")


def round_number(text: str) -> int | None:
    """0 for ``baseline``, k for ``follow-up k``; None for anything else."""
    m = ROUND.fullmatch(str(text).strip())
    if not m:
        return None
    return 0 if m.group(1) == "baseline" else int(m.group(2))


def round_label(number: int) -> str:
    """Inverse of :func:`round_number`."""
    return "baseline" if number == 0 else f"follow-up {number}"


def round_numbers(rounds: pd.Series) -> pd.Series:
    """Vectorised :func:`round_number` (NA where the text is not a round)."""
    return rounds.map(round_number).astype("Int64")
