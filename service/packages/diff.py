"""What a load changed, layer by layer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerDiff:
    """How one layer changed when a package was loaded."""

    inserted: int
    updated: int
    deleted: int
    unchanged: int
