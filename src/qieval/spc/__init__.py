"""Statistical process control: qicharts2-model charts (:func:`qic`) and NHS Making Data Count
(:func:`mdc`, :func:`mdc_icons`). Arithmetic only; :func:`plot` draws a result (the drawing lives
in :mod:`qieval.figures` and is imported only when plot is called)."""

from __future__ import annotations

from .mdc import mdc, mdc_icons
from .plot import plot
from .qic import qic

__all__ = ["qic", "mdc", "mdc_icons", "plot"]
