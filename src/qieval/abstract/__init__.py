"""Conference abstract from the computed results: settings, facts, composition, word count,
number audit and the SQUIRE 2.0 title/abstract checklist.

Data flow: :func:`qieval.report.network_report.prepare` (pooled results, attribution) →
:mod:`.facts` (every number with its provenance) → :mod:`.compose` (structured text from facts and
the author's context in ``params: abstract:``) → :mod:`.wordcount` (limits) → :mod:`.audit` and
:mod:`.squire` (checks shown beside the abstract). Nothing here computes a statistic.
"""

from __future__ import annotations

from .settings import AbstractSettings, load_settings

__all__ = ["AbstractSettings", "load_settings"]
