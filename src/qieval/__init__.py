"""qieval: a reproducible evaluation workbook for healthcare quality-improvement projects.

The main verbs are re-exported here for an analyst's own notebook::

    import qieval
    qieval.qic(data, "month", "events", n="patients", chart="p")   # qieval.spc.qic
    qieval.mdc(data, "value", "month")                              # qieval.spc.mdc
    qieval.mdc_icons(result)                                        # qieval.spc.mdc_icons
    qieval.plot(result)                                             # qieval.spc.plot
    qieval.fit(measure_values, interventions, family="binomial")    # qieval.attribution.fit

They are imported on first use, so ``import qieval`` stays instant (the report farm imports it in
every kernel); ``qieval.qic is qieval.spc.qic``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: verb -> module it lives in (imported lazily by :func:`__getattr__`)
_VERBS = {
    "qic": "qieval.spc", "mdc": "qieval.spc", "mdc_icons": "qieval.spc", "plot": "qieval.spc",
    "fit": "qieval.attribution",
}

__all__ = ["__version__", *_VERBS]


def __getattr__(name: str) -> Any:
    if name in _VERBS:
        value = getattr(import_module(_VERBS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'qieval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_VERBS})
