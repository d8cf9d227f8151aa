"""Three generated municipalities of one Kreis (05990), loaded beside Coesfeld as packages are.

Each town is 1 km × 1 km (local metres, side by side in UTM 32N), with districts Nord (y > 500)
and Süd, the settlement area "Dorf" box(0, 0, 400, 1000) (provider P1), the commercial area
"Gewerbe" box(600, 0, 1000, 400) (P2), the hamlet "Hof" box(600, 600, 900, 900), one school, and
addresses strictly inside Dorf, Gewerbe, Hof or none of them, so every figure is known by
construction. Every status dates from 2022-01-01.

Dorf, Gewerbe, Hof: status and addresses inside; then addresses outside, and the school.

- Westdorf (05990001): connected 3, under_construction 2, planned 1; 1 outside; fibre, 100 pupils
- Mittelbach (05990002): planned 1, connected 4, insufficient_demand 2; 2 outside; lte, 200
- Ostheim (05990004): insufficient_demand 2, connected 1, connected 1; none outside; fibre, 300
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.db import history
from service.db.engine import transaction
from service.packages.seeding import seed

KREIS = "05990"
X0, Y0 = 330000, 5730000
SINCE = "2022-01-01"


@dataclass(frozen=True)
class Town:
    """One generated municipality: statuses and address counts of its features."""

    ags: str
    name: str
    dorf: tuple[str, int]
    gewerbe: tuple[str, int]
    hof: tuple[str, int]
    outside: int
    school: tuple[str, int]


TOWNS = (
    Town("05990001", "Westdorf", ("connected", 3), ("under_construction", 2), ("planned", 1), 1,
         ("fibre", 100)),
    Town("05990002", "Mittelbach", ("planned", 1), ("connected", 4), ("insufficient_demand", 2), 2,
         ("lte", 200)),
    Town("05990004", "Ostheim", ("insufficient_demand", 2), ("connected", 1), ("connected", 1), 0,
         ("fibre", 300)),
)  # fmt: skip


def _frame(rows: list[dict[str, object]], shift: float) -> gpd.GeoDataFrame:
    for row in rows:
        shape = row["geometry"]
        assert isinstance(shape, BaseGeometry)
        row["geometry"] = affinity.translate(shape, X0 + shift, Y0)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:25832")


def _multi(x1: float, y1: float, x2: float, y2: float) -> MultiPolygon:
    return MultiPolygon([box(x1, y1, x2, y2)])


def _addresses(town: Town) -> list[dict[str, object]]:
    """Points strictly inside their feature (never on an edge, never on the district border)."""
    points = [Point(200, 100 + 150 * j) for j in range(town.dorf[1])]
    points += [Point(800, 50 + 60 * j) for j in range(town.gewerbe[1])]
    points += [Point(750, 650 + 50 * j) for j in range(town.hof[1])]
    points += [Point(500, 150 + 200 * j) for j in range(town.outside)]
    return [
        {"street": "Feldweg", "house_number": str(n), "postcode": "59999", "geometry": point}
        for n, point in enumerate(points, start=1)
    ]


def write_package(town: Town, target: Path, shift: float) -> Path:
    """The town as a single GeoPackage with every layer, as `broadband seed` reads one."""
    path = target / f"{town.ags}.gpkg"
    layers = {
        "municipality": [
            {"name": town.name, "ags": town.ags, "geometry": _multi(0, 0, 1000, 1000)}
        ],
        "districts": [
            {"name": "Nord", "geometry": _multi(0, 500, 1000, 1000)},
            {"name": "Süd", "geometry": _multi(0, 0, 1000, 500)},
        ],
        "areas": [
            {"name": "Dorf", "kind": "settlement", "status": town.dorf[0], "provider": "P1",
             "status_since": SINCE, "geometry": _multi(0, 0, 400, 1000)},
            {"name": "Gewerbe", "kind": "commercial", "status": town.gewerbe[0], "provider": "P2",
             "status_since": SINCE, "geometry": _multi(600, 0, 1000, 400)},
        ],
        "hamlets": [
            {"name": "Hof", "status": town.hof[0], "status_since": SINCE,
             "geometry": _multi(600, 600, 900, 900)},
        ],
        "schools": [
            {"name": "Schule", "school_type": "Grundschule", "pupils": town.school[1],
             "connection": town.school[0], "status_since": SINCE, "geometry": Point(300, 300)},
        ],
        "addresses": _addresses(town),
    }  # fmt: skip
    for layer, rows in layers.items():
        _frame(rows, shift).to_file(path, layer=layer, driver="GPKG")
    return path


def load(factory: sessionmaker[Session], target: Path) -> None:
    """Seed the three towns, each from its own package, side by side."""
    for index, town in enumerate(TOWNS):
        seed(factory, write_package(town, target, 1000.0 * index), actor="test-suite")


def remove(factory: sessionmaker[Session]) -> None:
    """Delete the generated towns and everything derived from them, so no other test sees them."""
    with transaction(factory, "test-suite") as session:
        ids = list(
            session.execute(
                text("SELECT id FROM municipality WHERE starts_with(ags, :k)"), {"k": KREIS}
            ).scalars()
        )
        history.forget(session)
        for table in ("addresses", "areas", "hamlets", "schools", "districts", "status_history"):
            session.execute(
                text(f"DELETE FROM {table} WHERE municipality_id = ANY(:m)"), {"m": ids}
            )
        session.execute(text("DELETE FROM municipality WHERE id = ANY(:m)"), {"m": ids})
        session.execute(text("SELECT broadband_touch()"))


@contextmanager
def loaded(factory: sessionmaker[Session], target: Path) -> Iterator[str]:
    """The towns loaded for the duration, and removed after (also after an interrupted run)."""
    remove(factory)
    load(factory, target)
    try:
        yield KREIS
    finally:
        remove(factory)
