"""Features as read from the database, in plain dataclasses the documents are built from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    """One feature as read: id, version, properties and its geometry as GeoJSON text."""

    id: int
    version: int
    properties: dict[str, Any]
    geometry: str


@dataclass(frozen=True)
class Extent:
    """Where and when a collection's features lie: bbox in CRS84, first and last status date."""

    bbox: tuple[float, float, float, float] | None
    first: dt.date | None
    last: dt.date | None
