"""Feature queries for the OGC API: filtered, sorted, paged, reprojected in the database."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import FromClause, Select, Table, and_, column, func, select, true
from sqlalchemy.exc import DataError, InternalError, ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.core.crs import STORAGE_SRID, Crs
from service.core.errors import BadRequestError, NotFoundError, Problem
from service.db import refusals
from service.db.models import FEATURE_TABLES
from service.features import cql
from service.features.query import ItemQuery
from service.features.records import Extent, Row
from service.layers import Collection


def table(collection: Collection) -> Table:
    """The table behind a collection."""
    mapped: Any = FEATURE_TABLES[collection.id]
    result: Table = mapped.__table__
    return result


def source(collection: Collection, as_of: dt.date | None = None) -> FromClause:
    """The table, or (for a past date) the table as it stood at the end of that day, under the
    table's name and with its typed columns, so every filter, order and count reads it alike."""
    t = table(collection)
    if as_of is None:
        return t
    state = getattr(func, f"broadband_{t.name}_at")(as_of)
    typed = [column(c.name, c.type) for c in t.columns]
    result: FromClause = state.table_valued(*typed, name=t.name)
    return result


def queryable_columns(collection: Collection, t: FromClause | None = None) -> dict[str, Any]:
    """Property name → column, for filters and sorting; `geometry` is the stored geometry."""
    t = table(collection) if t is None else t
    columns: dict[str, Any] = {"id": t.c.id}
    columns |= {name: t.c[name] for name in collection.fields}
    columns["updated_at"] = t.c.updated_at
    columns["geometry"] = t.c.geom
    return columns


def output_geometry(column: Any, crs: Crs) -> Any:
    """GeoJSON text of the geometry in the requested CRS and its axis order."""
    geometry = column if crs.srid == STORAGE_SRID else func.ST_Transform(column, crs.srid)
    if crs.lat_first:
        geometry = func.ST_FlipCoordinates(geometry)
    return func.ST_AsGeoJSON(geometry, crs.decimals, 0)  # 0: no `crs` member (RFC 7946)


def envelope(bbox: tuple[float, float, float, float], crs: Crs) -> Any:
    """The bbox as a polygon in the storage CRS, densified so its edges stay straight in `crs`."""
    x1, y1, x2, y2 = bbox
    box = func.ST_MakeEnvelope(x1, y1, x2, y2, crs.srid)
    if crs.srid == STORAGE_SRID:
        return box
    step = max(x2 - x1, y2 - y1) / 32 or 1.0
    return func.ST_Transform(func.ST_Segmentize(box, step), STORAGE_SRID)


def _conditions(
    collection: Collection, query: ItemQuery, t: FromClause
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        t.c[name] == value for name, value in query.equals.items()
    ]
    if query.bbox is not None:
        conditions.append(func.ST_Intersects(t.c.geom, envelope(query.bbox, query.bbox_crs)))
    if query.period is not None and collection.temporal is not None:
        start, end = query.period
        column = t.c[collection.temporal]
        if start is not None:
            conditions.append(column >= start)
        if end is not None:
            conditions.append(column <= end)
    if query.filter is not None:
        columns = queryable_columns(collection, t)
        conditions.append(cql.to_sql(query.filter, columns, query.filter_crs, collection.id))
    return conditions


def _select_rows(collection: Collection, crs: Crs, t: FromClause) -> Select[Any]:
    names = list(collection.fields)
    return select(
        t.c.id,
        t.c.version,
        t.c.updated_at,
        *(t.c[name] for name in names),
        output_geometry(t.c.geom, crs).label("geojson"),
    )


def _row(collection: Collection, mapping: Any) -> Row:
    properties = {name: mapping[name] for name in collection.fields}
    properties["updated_at"] = mapping["updated_at"]
    return Row(mapping["id"], mapping["version"], properties, mapping["geojson"])


def _rows_statement(
    collection: Collection, query: ItemQuery, t: FromClause, where: Any
) -> Select[Any]:
    """The page's rows; past the first page the skipped rows' ids are found first, so only the
    rows shown are turned into GeoJSON (at offset 10,000 that is 100 geometries, not 10,100)."""
    columns = queryable_columns(collection, t)
    order = [columns[n].desc() if desc else columns[n].asc() for n, desc in query.sortby]
    order.append(t.c.id.asc())
    rows = _select_rows(collection, query.crs, t)
    if query.offset == 0:
        return rows.where(where).order_by(*order).limit(query.limit)
    ids = select(t.c.id).where(where).order_by(*order).limit(query.limit).offset(query.offset)
    return rows.where(t.c.id.in_(ids)).order_by(*order)


@contextmanager
def _client_values(session: Session, collection: Collection, query: ItemQuery) -> Iterator[None]:
    """A statement the client's filter literals or bbox corners make fail is a 400 naming them."""
    try:
        yield
    except (DataError, InternalError, ProgrammingError) as exc:
        # Only client-supplied values can make these fail: filter literals, bbox corners.
        parameter = "filter" if query.filter is not None else "bbox" if query.bbox else None
        if parameter is None:
            raise
        session.rollback()
        message = refusals.refusal(exc, f"reading {collection.id} with a {parameter}")
        raise BadRequestError(
            [Problem("request", None, parameter, f"cannot be applied to the data: {message}")],
            f"invalid {parameter}",
        ) from exc


def rows(session: Session, collection: Collection, query: ItemQuery) -> list[Row]:
    """One page of the features a query selects, in its order (`as_of`: a past date or None)."""
    t = source(collection, query.as_of)
    where = and_(true(), *_conditions(collection, query, t))
    with _client_values(session, collection, query):
        found = session.execute(_rows_statement(collection, query, t, where)).mappings()
        return [_row(collection, mapping) for mapping in found]


def count(session: Session, collection: Collection, query: ItemQuery) -> int:
    """How many features the query selects in all (numberMatched)."""
    t = source(collection, query.as_of)
    where = and_(true(), *_conditions(collection, query, t))
    with _client_values(session, collection, query):
        return int(session.execute(select(func.count()).select_from(t).where(where)).scalar_one())


def parse_id(collection: Collection, feature_id: str) -> int:
    """Feature ids are whole numbers; anything else cannot exist."""
    if not re.fullmatch(r"[0-9]{1,18}", feature_id):  # isdigit() also accepts '²'
        raise NotFoundError(f"no feature {feature_id!r} in {collection.id}")
    return int(feature_id)


def one(
    session: Session,
    collection: Collection,
    feature_id: int,
    crs: Crs,
    as_of: dt.date | None = None,
) -> Row:
    """One feature (as it stood at the end of `as_of`, a past date), or NotFoundError."""
    t = source(collection, as_of)
    found = session.execute(_select_rows(collection, crs, t).where(t.c.id == feature_id))
    mapping = found.mappings().one_or_none()
    if mapping is None:
        when = "" if as_of is None else f" on {as_of}"
        raise NotFoundError(f"no feature {feature_id} in {collection.id}{when}")
    return _row(collection, mapping)


def _down(value: float) -> float:
    return math.floor(value * 1e6) / 1e6


def _up(value: float) -> float:
    return math.ceil(value * 1e6) / 1e6


def extent(session: Session, collection: Collection) -> Extent:
    """The collection's extent, computed from the data (cheap: index-backed aggregates)."""
    t = table(collection)
    # Transforming each geometry (not the stored box) keeps the box tight in degrees.
    box = func.ST_Extent(func.ST_Transform(t.c.geom, 4326))
    row = session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
    ).one()
    bbox = None
    if row[0] is not None:
        west, south, east, north = (float(v) for v in row)
        bbox = (_down(west), _down(south), _up(east), _up(north))
    first = last = None
    if collection.temporal is not None:
        column = t.c[collection.temporal]
        first, last = session.execute(select(func.min(column), func.max(column))).one()
    return Extent(bbox, first, last)
