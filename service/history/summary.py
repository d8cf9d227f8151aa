"""The comparison of two dates, pure: which features came, went or were redrawn, which statuses
changed, and how many addresses were connected at each date."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from service.core.errors import BadRequestError, Problem

OUTSIDE = "(outside every district)"
"""The unit of addresses no district contains, named as the coverage figures name it."""


def period(start: dt.date, end: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The two dates compared (`to` defaults to today); refuses dates past today or reversed."""
    end = today if end is None else end
    for field, day in (("from", start), ("to", end)):
        if day > today:
            message = f"{day} lies in the future (today is {today})"
            raise BadRequestError([Problem("query", None, field, message)], f"invalid {field}")
    if start > end:
        message = f"{start} lies after to ({end})"
        raise BadRequestError([Problem("query", None, "from", message)], "invalid from")
    return start, end


@dataclass(frozen=True)
class Shape:
    """A feature's name and measure at one date: a polygon's area, or a point's coordinates."""

    name: str
    area_m2: float | None = None
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True)
class FeaturePair:
    """One feature at both dates (None where it did not exist), when they differ."""

    id: int
    before: Shape | None
    after: Shape | None


@dataclass(frozen=True)
class FeatureChange:
    """A feature added, removed or redrawn; a redrawn one says by how much."""

    id: int
    name: str
    area_change_m2: float | None = None
    moved_m: float | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.area_change_m2 is not None:
            found["area_change_m2"] = round(self.area_change_m2, 2)
        if self.moved_m is not None:
            found["moved_m"] = round(self.moved_m, 2)
        return found


@dataclass(frozen=True)
class CollectionChanges:
    """What changed in one feature collection between the dates."""

    collection: str
    added: tuple[FeatureChange, ...]
    removed: tuple[FeatureChange, ...]
    redrawn: tuple[FeatureChange, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "added": [f.as_json() for f in self.added],
            "removed": [f.as_json() for f in self.removed],
            "redrawn": [f.as_json() for f in self.redrawn],
        }


def _redrawn(pair: FeaturePair, before: Shape, after: Shape) -> FeatureChange:
    """Polygons by their change of area, points by the distance they moved."""
    if before.area_m2 is not None and after.area_m2 is not None:
        return FeatureChange(pair.id, after.name, area_change_m2=after.area_m2 - before.area_m2)
    if None in (before.x, before.y, after.x, after.y):
        return FeatureChange(pair.id, after.name)
    moved = math.dist((before.x, before.y), (after.x, after.y))  # type: ignore[arg-type]
    return FeatureChange(pair.id, after.name, moved_m=moved)


def compare_features(collection: str, pairs: Iterable[FeaturePair]) -> CollectionChanges:
    """Sort the differing features into added, removed and redrawn, each in name order."""
    added, removed, redrawn = [], [], []
    for pair in pairs:
        if pair.before is None and pair.after is not None:
            added.append(FeatureChange(pair.id, pair.after.name))
        elif pair.after is None and pair.before is not None:
            removed.append(FeatureChange(pair.id, pair.before.name))
        elif pair.before is not None and pair.after is not None:
            redrawn.append(_redrawn(pair, pair.before, pair.after))

    def ordered(changes: list[FeatureChange]) -> tuple[FeatureChange, ...]:
        return tuple(sorted(changes, key=lambda c: (c.name, c.id)))

    return CollectionChanges(collection, ordered(added), ordered(removed), ordered(redrawn))


@dataclass(frozen=True)
class StatusPair:
    """A feature present at both dates with its status at each, and since when the later holds."""

    collection: str
    id: int
    name: str
    before: str
    after: str
    since: dt.date


@dataclass(frozen=True)
class StatusVersion:
    """One dated status of a feature, as its status history records it."""

    collection: str
    id: int
    name: str
    status: str
    since: dt.date

    def as_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "since": self.since.isoformat(),
        }


def status_changes(pairs: Iterable[StatusPair]) -> tuple[StatusPair, ...]:
    """The features whose status at the later date is another than at the earlier."""
    changed = [p for p in pairs if p.before != p.after]
    return tuple(sorted(changed, key=lambda p: (p.collection, p.name, p.id)))


def status_json(pair: StatusPair) -> dict[str, Any]:
    return {
        "collection": pair.collection,
        "id": pair.id,
        "name": pair.name,
        "old": pair.before,
        "new": pair.after,
        "since": pair.since.isoformat(),
    }


@dataclass(frozen=True)
class Count:
    """Connected addresses of all a unit's addresses at one date."""

    connected: int
    total: int

    def as_json(self) -> dict[str, int]:
        return {"connected": self.connected, "total": self.total}


NONE = Count(0, 0)


@dataclass(frozen=True)
class UnitCount:
    """A unit's name and count at one date (the key that identifies it lies outside)."""

    name: str | None
    count: Count


@dataclass(frozen=True)
class UnitCoverage:
    """A unit's connected addresses at both dates."""

    name: str
    before: Count
    after: Count

    @property
    def difference(self) -> int:
        """Addresses connected at the later date, less those at the earlier."""
        return self.after.connected - self.before.connected

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "from": self.before.as_json(),
            "to": self.after.as_json(),
            "difference": self.difference,
        }


def compare_units(
    before: Mapping[Any, UnitCount], after: Mapping[Any, UnitCount]
) -> tuple[UnitCoverage, ...]:
    """Units of either date side by side (one absent at a date counts nothing then), in name
    order, the addresses outside every unit (key None) last."""
    found = []
    for key in dict.fromkeys([*before, *after]):
        then, now = before.get(key), after.get(key)
        name = (now.name if now else None) or (then.name if then else None) or OUTSIDE
        found.append(
            (
                key is None,
                name,
                UnitCoverage(name, then.count if then else NONE, now.count if now else NONE),
            )
        )
    return tuple(unit for _, _, unit in sorted(found, key=lambda f: (f[0], f[1])))


def total(units: Iterable[UnitCoverage], name: str) -> UnitCoverage:
    """The municipality's figure: its districts' and the outside's added up."""
    listed = list(units)
    before = Count(sum(u.before.connected for u in listed), sum(u.before.total for u in listed))
    after = Count(sum(u.after.connected for u in listed), sum(u.after.total for u in listed))
    return UnitCoverage(name, before, after)


@dataclass(frozen=True)
class ChangeSummary:
    """Everything that changed in a municipality between the end of one day and another's."""

    ags: str
    name: str
    start: dt.date
    end: dt.date
    collections: tuple[CollectionChanges, ...]
    status_changes: tuple[StatusPair, ...]
    status_versions: tuple[StatusVersion, ...]
    municipality: UnitCoverage
    districts: tuple[UnitCoverage, ...]
    hamlets: tuple[UnitCoverage, ...]

    def as_json(self) -> dict[str, Any]:
        """The JSON form served by `/changes/summary` and printed by `broadband changes --json`."""
        return {
            "municipality": {"ags": self.ags, "name": self.name},
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "features": {c.collection: c.as_json() for c in self.collections},
            "statuses": {
                "changed": [status_json(p) for p in self.status_changes],
                "versions": [v.as_json() for v in self.status_versions],
            },
            "coverage": {
                "municipality": self.municipality.as_json(),
                "districts": [u.as_json() for u in self.districts],
                "hamlets": [u.as_json() for u in self.hamlets],
            },
        }
