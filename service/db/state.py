"""What every capability asks the database: which municipality, today's date, the data version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.errors import InvalidDataError, NotFoundError, Problem
from service.db.models import SRID


def ewkb(geometry: BaseGeometry) -> str:
    """Hex EWKB with the storage SRID: the cheapest exact way to hand a geometry to PostGIS."""
    return str(shapely.to_wkb(shapely.set_srid(geometry, SRID), hex=True, include_srid=True))


@dataclass(frozen=True)
class MunicipalityRow:
    """Which municipality a query is about."""

    id: int
    ags: str
    name: str


LEVELS = {2: "Land", 5: "Kreis"}
"""The keys that name several municipalities: the AGS's first 2 (Land) or 5 (Kreis) digits."""


def municipalities(session: Session, ags: str | None = None) -> list[MunicipalityRow]:
    """The municipalities a key names, in AGS order: one by its 8 digits, or every loaded one of
    a Kreis (5 digits) or Land (2); without a key, the only one loaded."""
    rows = session.execute(text("SELECT id, ags, name FROM municipality ORDER BY ags")).all()
    if ags is not None:
        rows = [row for row in rows if row.ags.startswith(ags)]
        if not rows and len(ags) in LEVELS:
            raise NotFoundError(f"no municipality of {LEVELS[len(ags)]} {ags} is loaded")
        if not rows:
            raise NotFoundError(f"no municipality with AGS {ags} is loaded")
    if not rows:
        raise NotFoundError("no municipality is loaded yet: run `broadband seed`")
    if ags is None and len(rows) > 1:
        keys = ", ".join(row.ags for row in rows)
        raise NotFoundError(f"several municipalities are loaded ({keys}): say which with ?ags=")
    return [MunicipalityRow(row.id, row.ags, row.name) for row in rows]


def municipality(session: Session, ags: str | None = None) -> MunicipalityRow:
    """The municipality with that key, or the only one loaded."""
    rows = municipalities(session, ags)
    if len(rows) > 1:
        keys = ", ".join(row.ags for row in rows)
        raise NotFoundError(f"{ags} names several municipalities ({keys}): give one's 8 digits")
    return rows[0]


def today(session: Session) -> dt.date:
    """The database's date, so 'today' means the same to every query and trigger."""
    value: dt.date = session.execute(text("SELECT current_date")).scalar_one()
    return value


def data_version(session: Session) -> tuple[int, dt.date]:
    """Keys caches: bumped by every committed write, and 'today' moves on at midnight."""
    version, day = session.execute(text("SELECT version, current_date FROM data_version")).one()
    return int(version), day


@dataclass(frozen=True)
class Boundary:
    """The municipality a feature belongs to, with its outline for the inside check."""

    id: int
    name: str
    geometry: BaseGeometry


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
