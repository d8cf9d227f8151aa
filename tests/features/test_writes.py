"""The one write path: splitting an area writes both parts in one transaction, or nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.core.crs import DEFAULT, STORAGE
from service.core.errors import ConflictError, InvalidDataError
from service.features import writes
from service.layers import COLLECTIONS

AREAS = COLLECTIONS["areas"]


def _area(factory: sessionmaker[Session]) -> tuple[int, str, Any, int]:
    """A compact settlement area: id, name, geometry (EPSG:25832) and version."""
    with factory() as session:
        row = session.execute(
            text(
                "SELECT id, name, ST_AsBinary(geom) AS wkb, version FROM areas "
                "WHERE kind = 'settlement' ORDER BY ST_Area(geom) DESC LIMIT 1"
            )
        ).one()
    return row.id, row.name, shapely.from_wkb(bytes(row.wkb)), row.version


def _line_across(geometry: Any) -> dict[str, Any]:
    """A north-south line through the centre, beyond the area at both ends (CRS84)."""
    _, miny, _, maxy = geometry.bounds
    x = geometry.centroid.x
    line = shapely.LineString([(x, miny - 50), (x, maxy + 50)])
    to_crs84 = Transformer.from_crs(25832, 4326, always_xy=True)
    crossing: dict[str, Any] = mapping(
        shapely.transform(line, lambda xy: np.column_stack(to_crs84.transform(xy[:, 0], xy[:, 1])))
    )
    return crossing


def _count(factory: sessionmaker[Session], sql: str, **params: Any) -> int:
    with factory() as session:
        return int(session.execute(text(sql), params).scalar_one())


def _put_back(factory: sessionmaker[Session], fid: int, geometry: Any) -> None:
    document = {"type": "Feature", "geometry": mapping(geometry)}
    writes.change(factory, AREAS, fid, document, STORAGE, "test", lambda _: None, True)


def test_split_is_all_or_nothing(factory: sessionmaker[Session], restore: None) -> None:
    fid, name, geometry, version = _area(factory)
    try:
        _split_twice(factory, fid, name, geometry, version)
    finally:
        _put_back(factory, fid, geometry)


def _split_twice(
    factory: sessionmaker[Session], fid: int, name: str, geometry: Any, version: int
) -> None:
    blocker = {
        "type": "Feature",
        "properties": {
            "name": f"{name} (Teil 2)",
            "kind": "settlement",
            "status": "planned",
            "status_since": "2024-01-01",
        },
        "geometry": mapping(geometry.centroid.buffer(5)),
    }
    taken = writes.create(factory, AREAS, blocker, STORAGE, "test")
    changes_before = _count(factory, "SELECT count(*) FROM changes")
    with pytest.raises(ConflictError):
        writes.split(factory, AREAS, fid, _line_across(geometry), DEFAULT, "test", lambda _: None)
    assert _count(factory, "SELECT version FROM areas WHERE id = :i", i=fid) == version
    assert _count(factory, "SELECT count(*) FROM changes") == changes_before

    writes.delete(factory, AREAS, taken.id, "test", lambda _: None)
    kept, added = writes.split(
        factory, AREAS, fid, _line_across(geometry), DEFAULT, "test", lambda _: None
    )
    assert kept.id == fid and added.properties["name"] == f"{name} (Teil 2)"
    with factory() as session:
        parts = session.execute(
            text(
                "SELECT ST_Area(geom) FROM areas WHERE id IN (:a, :b) ORDER BY ST_Area(geom) DESC"
            ),
            {"a": kept.id, "b": added.id},
        ).scalars()
        sizes = list(parts)
        transactions = session.execute(
            text(
                "SELECT count(DISTINCT transaction_id) FROM changes "
                "WHERE table_name = 'areas' AND feature_id IN (:a, :b) AND id > :since"
            ),
            {"a": kept.id, "b": added.id, "since": changes_before},
        ).scalar_one()
    assert sizes[0] >= sizes[1] > 0
    assert sum(sizes) == pytest.approx(geometry.area, rel=1e-6)
    assert transactions == 1  # both parts in one transaction


def test_a_line_that_misses_the_area_changes_nothing(
    factory: sessionmaker[Session], restore: None
) -> None:
    fid, _name, _geometry, version = _area(factory)
    line = {"type": "LineString", "coordinates": [[0.0, 0.0], [0.001, 0.001]]}
    with pytest.raises(InvalidDataError, match="exactly once"):
        writes.split(factory, AREAS, fid, line, DEFAULT, "test", lambda _: None)
    assert _count(factory, "SELECT version FROM areas WHERE id = :i", i=fid) == version
