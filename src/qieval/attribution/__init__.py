"""Attribution: segmented regression of a measure on intervention categories (no plotting here)."""

from __future__ import annotations

from typing import Any

__all__ = ["fit", "Attribution"]


def __getattr__(name: str) -> Any:  # lazy: importing the package stays cheap
    if name in ("fit", "Attribution"):
        from . import model

        return getattr(model, name)
    raise AttributeError(name)
