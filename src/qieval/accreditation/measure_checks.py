"""Linked measures checked against the data, per site and assessment round.

What: for each site × round × standard with a linked measure, the measure pooled over the
``measure_window_months`` whole months *before* the month of the round's latest assessment date
(e.g. assessed on 2023-04-12 with a 3-month window → January to March 2023), compared with the
threshold. Why this window: a month's data are only complete after it ends, so the quarter before
the assessment is what the assessor could have seen; for the latest round it is also the latest
three months of data when the assessment follows the data. Months of the window with no data are
left out (the number of months used is reported); a window with no data at all does not meet the
threshold ("no data to check the claim").

Pooling: percent and rate measures as Σ numerator / Σ denominator × the unit's multiplier (months
weighted by their denominators, as the site report pools); counts and continuous measures as the
mean of the monthly values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..io.standards import Framework
from .status_rules import measure_meets

CHECK_COLUMNS = ["site_id", "round_no", "round", "standard_id", "measure_id", "window_start",
                 "window_end", "months", "numerator", "denominator", "value", "comparison",
                 "threshold", "meets", "name", "label", "decimals"]


def round_dates(assessments: pd.DataFrame) -> pd.DataFrame:
    """One row per site × round: the latest assessment date of the round (tidy)."""
    return (assessments.groupby(["site_id", "round_no", "round"], as_index=False)["assessed_on"].max()
            .sort_values(["site_id", "round_no"], kind="stable").reset_index(drop=True))


def window(assessed_on: pd.Timestamp, months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last month (month starts) of the window before the assessment's month."""
    this_month = pd.Timestamp(assessed_on).to_period("M")
    return (this_month - months).to_timestamp(), (this_month - 1).to_timestamp()


def pooled(rows: pd.DataFrame, unit: str, multiplier: float) -> tuple[float, float, float]:
    """(numerator, denominator, value) of a window's monthly rows in the measure's unit."""
    if rows.empty:
        return np.nan, np.nan, np.nan
    if unit in ("percent", "rate"):
        num, den = float(rows["numerator"].sum()), float(rows["denominator"].sum())
        return num, den, (multiplier * num / den if den > 0 else np.nan)
    column = "numerator" if unit == "count" else "value"
    return np.nan, np.nan, float(rows[column].mean())


def measure_checks(values: pd.DataFrame, config: ProjectConfig, framework: Framework,
                   rounds: pd.DataFrame) -> pd.DataFrame:
    """Tidy table of every linked-measure check (columns :data:`CHECK_COLUMNS`).

    ``values``: the project's validated measure_values; ``rounds``: :func:`round_dates`.
    """
    months = framework.accreditation.measure_window_months
    out = []
    linked = {link.id for _, link in framework.linked()}
    mine = values.loc[values["measure_id"].isin(linked)]
    groups = mine.groupby(["site_id", "measure_id"], sort=False).indices if len(mine) else {}
    for r in rounds.itertuples(index=False):
        start, end = window(r.assessed_on, months)
        for standard, link in framework.linked():
            m = config.measure(link.id)
            site_rows = mine.take(groups.get((r.site_id, m.id), []))  # this site's rows of the measure
            rows = site_rows.loc[site_rows["period"].between(start, end)]
            num, den, value = pooled(rows, m.unit, m.multiplier)
            out.append((r.site_id, r.round_no, r.round, standard.id, m.id, start, end,
                        int(rows["period"].nunique()), num, den, value, link.comparison, link.threshold,
                        measure_meets(value, link.comparison, link.threshold),
                        link.name or m.title.lower(), m.label, m.decimals))
    return pd.DataFrame(out, columns=CHECK_COLUMNS)
