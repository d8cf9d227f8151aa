"""Writes single features for the API, with the row lock that makes If-Match checks safe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from psycopg import errors
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.errors import ConflictError, InvalidDataError, NotFoundError, Problem
from service.db import refusals
from service.db.state import ewkb
from service.features.checks import Draft, json_values
from service.features.queries import table
from service.layers import Collection

SAME_GEOMETRY_M = 0.01
"""Closer than this (1 cm, what CRS84 output at 7 decimals keeps) counts as unmoved."""


@dataclass(frozen=True)
class Current:
    """A feature as stored, locked for this transaction."""

    version: int
    municipality_id: int | None
    properties: dict[str, Any]


def lock(session: Session, collection: Collection, feature_id: int) -> Current:
    """Read and lock a feature; a concurrent writer waits here and then sees the new version."""
    t = table(collection)
    columns = [t.c.version, *(t.c[name] for name in collection.fields)]
    member = "municipality_id" in t.c
    if member:
        columns.append(t.c.municipality_id)
    row = (
        session.execute(select(*columns).where(t.c.id == feature_id).with_for_update())
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"no feature {feature_id} in {collection.id}")
    properties = {name: row[name] for name in collection.fields}
    return Current(row["version"], row["municipality_id"] if member else None, properties)


def geometry(session: Session, collection: Collection, feature_id: int) -> BaseGeometry:
    """A feature's stored geometry (EPSG:25832), exactly, for edits computed on the server."""
    t = table(collection)
    wkb = session.execute(
        select(func.ST_AsBinary(t.c.geom)).where(t.c.id == feature_id)
    ).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def _unique_problem(collection: Collection, error: IntegrityError) -> ConflictError:
    key = "+".join(collection.key)
    return ConflictError(
        [Problem(collection.id, None, key, f"another feature already has this {key}")],
        f"conflict in {collection.id}",
    )


def _write(session: Session, statement: Any, collection: Collection) -> Any:
    """Run a write; a violated constraint becomes a problem for the client, not a 500."""
    try:
        with session.begin_nested():
            return session.execute(statement)
    except IntegrityError as exc:
        if isinstance(exc.orig, errors.UniqueViolation):
            raise _unique_problem(collection, exc) from exc
        message = refusals.refusal(exc, f"writing to {collection.id}")
        constraint = refusals.constraint_of(exc)
        raise InvalidDataError(
            [Problem(collection.id, None, constraint, f"refused by the database: {message}")],
            f"invalid feature for {collection.id}",
        ) from exc


def create(
    session: Session,
    collection: Collection,
    draft: Draft,
    municipality_id: int,
    recorded_now: bool = False,
) -> int:
    """Insert a checked feature; returns its id. `recorded_now`: it exists from this moment,
    even if its status is older (a part cut off another area did not exist before the cut)."""
    if draft.geometry is None:
        raise InvalidDataError(
            [Problem(collection.id, "new feature", "geometry", "a new feature needs a geometry")]
        )
    t = table(collection)
    values = {**draft.properties, "geom": _geometry(draft.geometry)}
    values["municipality_id"] = municipality_id
    if recorded_now:
        values["valid_from"] = func.now()
    new_id: int = _write(
        session, insert(t).values(values).returning(t.c.id), collection
    ).scalar_one()
    return new_id


def _geometry(geometry: BaseGeometry) -> Any:
    return func.ST_GeomFromEWKB(func.decode(ewkb(geometry), "hex"))


def replace(
    session: Session,
    collection: Collection,
    current: Current,
    feature_id: int,
    properties: dict[str, Any],
    geometry: BaseGeometry | None,
) -> int:
    """Update a locked feature; a write that changes nothing keeps the version (and the ETag)."""
    t = table(collection)
    values: dict[str, Any] = dict(properties)
    if geometry is not None and not _moved(session, t, feature_id, geometry):
        geometry = None  # what the client read back, rounded: keep the stored coordinates
    if geometry is not None:
        values["geom"] = _geometry(geometry)
    elif json_values(properties) == json_values(current.properties):
        return current.version
    statement = update(t).where(t.c.id == feature_id).values(values).returning(t.c.version)
    version: int = _write(session, statement, collection).scalar_one()
    return version


def _moved(session: Session, t: Any, feature_id: int, geometry: BaseGeometry) -> bool:
    """Whether a geometry differs from the stored one by more than the served precision."""
    distance = func.ST_HausdorffDistance(t.c.geom, _geometry(geometry))
    found = session.execute(select(distance).where(t.c.id == feature_id)).scalar_one()
    return bool(found > SAME_GEOMETRY_M)


def remove(session: Session, collection: Collection, feature_id: int) -> None:
    """Delete a locked feature; its history leaves with it, the change log keeps the old row."""
    t = table(collection)
    session.execute(delete(t).where(t.c.id == feature_id))
