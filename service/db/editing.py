"""Writes single features for the API, with the row lock that makes If-Match checks safe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, insert, literal, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.collections import Collection
from service.db.items import table
from service.db.loading import ewkb
from service.editing import Draft
from service.errors import ConflictError, InvalidDataError, NotFoundError, Problem


@dataclass(frozen=True)
class Boundary:
    """The municipality a feature belongs to, with its outline for the inside check."""

    id: int
    name: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Current:
    """A feature as stored, locked for this transaction."""

    version: int
    municipality_id: int | None
    properties: dict[str, Any]


def boundary_for(
    session: Session, geometry: BaseGeometry | None, municipality_id: int | None
) -> Boundary:
    """The feature's own municipality, or the one that contains (or is nearest to) a new feature."""
    query = "SELECT id, name, ST_AsBinary(geom) AS wkb FROM municipality"
    params: dict[str, Any] = {}
    if municipality_id is not None:
        query += " WHERE id = :m"
        params["m"] = municipality_id
    elif geometry is not None:
        query += " ORDER BY ST_Distance(geom, CAST(:g AS geometry)), id LIMIT 1"
        params["g"] = ewkb(geometry)
    row = session.execute(text(query), params).first()
    if row is None:
        raise InvalidDataError(
            [Problem("municipality", None, None, "no municipality loaded; run `broadband seed`")],
            "no municipality",
        )
    return Boundary(row.id, row.name, shapely.from_wkb(bytes(row.wkb)))


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


def _unique_problem(collection: Collection, error: IntegrityError) -> ConflictError:
    key = "+".join(collection.layer.key)
    return ConflictError(
        [Problem(collection.id, None, key, f"another feature already has this {key}")],
        f"conflict in {collection.id}",
    )


def _write(session: Session, statement: Any, collection: Collection) -> Any:
    try:
        with session.begin_nested():
            return session.execute(statement)
    except IntegrityError as exc:
        if "unique" in str(exc.orig).lower() or "duplicate" in str(exc.orig).lower():
            raise _unique_problem(collection, exc) from exc
        raise


def create(session: Session, collection: Collection, draft: Draft, municipality_id: int) -> int:
    """Insert a checked feature; returns its id."""
    if draft.geometry is None:
        raise InvalidDataError(
            [Problem(collection.id, "new feature", "geometry", "a new feature needs a geometry")]
        )
    t = table(collection)
    values = {**draft.properties, "geom": _geometry(draft.geometry)}
    values["municipality_id"] = municipality_id
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
    changed: Any = literal(properties != current.properties)
    if geometry is not None:
        values["geom"] = _geometry(geometry)
        changed = or_(changed, ~func.ST_OrderingEquals(t.c.geom, values["geom"]))
    statement = update(t).where(t.c.id == feature_id, changed).values(values).returning(t.c.version)
    version: int | None = _write(session, statement, collection).scalar_one_or_none()
    return current.version if version is None else version


def remove(session: Session, collection: Collection, feature_id: int) -> None:
    """Delete a locked feature; its history leaves with it, the change log keeps the old row."""
    t = table(collection)
    session.execute(delete(t).where(t.c.id == feature_id))
