"""The change log as users read it: who changed which feature when, field by field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

IGNORED = ("id", "version", "updated_at", "geom", "area_m2", "municipality_id")


@dataclass(frozen=True)
class ChangeEntry:
    """One logged write to one feature."""

    id: int
    changed_at: dt.datetime
    actor: str
    source: str | None
    collection: str
    feature_id: int
    operation: str
    transaction: int
    properties: dict[str, dict[str, Any]]
    geometry_changed: bool

    def as_json(self) -> dict[str, Any]:
        """The JSON form served by `/changes`."""
        return {
            "id": self.id,
            "changed_at": self.changed_at.isoformat(),
            "actor": self.actor,
            "source": self.source,
            "collection": self.collection,
            "feature_id": self.feature_id,
            "operation": self.operation,
            "transaction": self.transaction,
            "properties": self.properties,
            "geometry_changed": self.geometry_changed,
        }


def field_changes(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> tuple[dict[str, dict[str, Any]], bool]:
    """Old → new of every property that differs, and whether the geometry moved."""
    before, after = old or {}, new or {}
    names = [n for n in dict.fromkeys([*before, *after]) if n not in IGNORED]
    properties = {
        name: {"old": before.get(name), "new": after.get(name)}
        for name in names
        if before.get(name) != after.get(name)
    }
    return properties, before.get("geom") != after.get("geom")
