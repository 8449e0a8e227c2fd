"""Statistical process control: qicharts2-model charts (:func:`qic`) and NHS Making Data Count
(:func:`mdc`, :func:`mdc_icons`). Arithmetic only; plotting lives in :mod:`qieval.report`."""

from __future__ import annotations

from .mdc import mdc, mdc_icons

__all__ = ["qic", "mdc", "mdc_icons"]


def __getattr__(name: str):  # until qic.py lands
    if name == "qic":
        import importlib

        return importlib.import_module(f"{__name__}.qic").qic
    raise AttributeError(name)
