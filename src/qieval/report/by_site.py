"""A project's tables split by site once, for project-level reports that visit every site.

``site_values(data, s)`` and ``site_cycles(data, s)`` (:mod:`qieval.io.load`) scan the whole table
per call, so a loop over N sites costs N × rows: quadratic in the number of sites (at 1,000 sites
that scan dominated the network and accreditation reports). :class:`BySite` groups each table once
and returns, per site, exactly what those helpers return (same rows, same order, fresh 0..n-1 index).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.load import ProjectData


def positions(column: pd.Series) -> dict[str, np.ndarray]:
    """Row positions (ascending) of each distinct value of ``column``; missing values left out."""
    if column.empty:
        return {}
    return {k: np.asarray(v, dtype=np.int64) for k, v in column.groupby(column.to_numpy(), sort=False).indices.items()}


class BySite:
    """Per-site views of ``data.measure_values`` and ``data.pdsa_cycles`` (cycles for ``ALL`` apply
    to every site), computed lazily from one grouping of each table."""

    def __init__(self, data: ProjectData):
        self.data = data
        self._values = positions(data.measure_values["site_id"])
        self._cycles = positions(data.pdsa_cycles["site_id"]) if len(data.pdsa_cycles) else {}
        self._empty = np.zeros(0, dtype=np.int64)

    def values(self, site_id: str) -> pd.DataFrame:
        """Same as :func:`qieval.io.load.site_values`."""
        pos = self._values.get(site_id, self._empty)
        return self.data.measure_values.take(pos).reset_index(drop=True)

    def cycles(self, site_id: str) -> pd.DataFrame:
        """Same as :func:`qieval.io.load.site_cycles` (the site's own cycles and those for ``ALL``)."""
        own, common = self._cycles.get(site_id, self._empty), self._cycles.get("ALL", self._empty)
        pos = np.sort(np.concatenate([own, common])) if site_id != "ALL" else common
        return self.data.pdsa_cycles.take(pos).reset_index(drop=True)
