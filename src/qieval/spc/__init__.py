"""Statistical process control: qicharts2-model charts (:func:`qic`) and NHS Making Data Count
(:func:`mdc`, :func:`mdc_icons`). Arithmetic only; plotting lives in :mod:`qieval.report`."""

from __future__ import annotations

from .mdc import mdc, mdc_icons
from .qic import qic

__all__ = ["qic", "mdc", "mdc_icons"]
