"""Shared shape of the demo projects' tables."""

from __future__ import annotations

import pandas as pd

PDSA_COLUMNS = ["site_id", "cycle_id", "start", "end", "category", "change_idea", "plan", "do",
                "study", "act"]


def cycles_frame(rows: list[tuple]) -> pd.DataFrame:
    """A ``pdsa_cycles`` table from rows in :data:`PDSA_COLUMNS` order."""
    return pd.DataFrame(rows, columns=PDSA_COLUMNS)
