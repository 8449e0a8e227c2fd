"""Attribution: segmented regression of a measure on intervention categories (no plotting here)."""

from __future__ import annotations

from .model import Attribution, fit

__all__ = ["fit", "Attribution"]
