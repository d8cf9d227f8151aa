"""The SQL engine and the geopandas twin must give identical numerators and denominators."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.vocabulary import Kind, Status
from service.coverage import figures
from service.coverage import frame as coverage_frame
from service.coverage.rules import AddressFigure, Breakdown
from service.db.state import ewkb

CRS = "EPSG:25832"


def _frame(db: Session, sql: str, m: int) -> gpd.GeoDataFrame:
    return gpd.read_postgis(text(sql).bindparams(m=m), db.connection(), geom_col="geom", crs=CRS)


def _twin(db: Session, m: int) -> dict[str, dict[object, coverage_frame.RankCounts]]:
    """Every breakdown computed by geopandas from the features as stored."""
    addresses = _frame(db, "SELECT id, geom FROM addresses WHERE municipality_id = :m", m)
    addresses = addresses.set_index("id")
    areas = _frame(
        db, "SELECT id, name, kind, status, geom FROM areas WHERE municipality_id = :m", m
    )
    hamlets = _frame(db, "SELECT id, name, status, geom FROM hamlets WHERE municipality_id = :m", m)
    districts = _frame(db, "SELECT id, name, geom FROM districts WHERE municipality_id = :m", m)
    features = gpd.GeoDataFrame(
        {
            "status": [*areas["status"], *hamlets["status"]],
            "geometry": [*areas.geometry, *hamlets.geometry],
        },
        crs=CRS,
    )
    by_id = coverage_frame.counts_by_district(addresses, features, districts)
    names = dict(zip(districts["id"], districts["name"], strict=True))
    return {
        "district": {names.get(k, "(outside every district)"): v for k, v in by_id.items()},
        "municipality": {"all": coverage_frame.totals(by_id)},
        "hamlet": coverage_frame.counts_by_feature(addresses, features, hamlets, "name"),
        "kind": coverage_frame.counts_by_feature(addresses, features, areas, "kind"),
    }


def _pairs(figure: AddressFigure) -> tuple[int, int, dict[str, int]]:
    return figure.numerator, figure.denominator, figure.by_status


def _assert_agree(db: Session, ags: str, m: int) -> None:
    twin = _twin(db, m)
    sql_municipality = figures.municipality_unit(db, ags, None)
    assert _pairs(sql_municipality.addresses) == _pairs(
        AddressFigure.from_ranks(twin["municipality"]["all"])
    )
    for breakdown in (Breakdown.DISTRICT, Breakdown.HAMLET, Breakdown.KIND):
        sql_units = {u.name: _pairs(u.addresses) for u in figures.units(db, breakdown, ags, None)}
        frame_units = {
            str(name): _pairs(AddressFigure.from_ranks(counts))
            for name, counts in twin[breakdown.value].items()
        }
        if breakdown is Breakdown.HAMLET:  # hamlets without addresses are units in SQL too
            frame_units |= {
                n: (0, 0, AddressFigure.from_ranks({}).by_status)
                for n in sql_units
                if n not in frame_units
            }
        assert sql_units == frame_units, breakdown


def test_sql_and_geopandas_agree_on_coesfeld(coesfeld: object, db: Session) -> None:
    m = db.execute(text("SELECT id FROM municipality WHERE ags = '05558012'")).scalar_one()
    _assert_agree(db, "05558012", m)


def _insert(db: Session, table: str, values: dict[str, object]) -> int:
    columns = ", ".join(values)
    params = ", ".join(f"CAST(:{k} AS geometry)" if k == "geom" else f":{k}" for k in values)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({params}) RETURNING id"
    return int(db.execute(text(sql), values).scalar_one())


def _generated_town(db: Session, seed: int) -> int:
    """Overlapping boxes with random statuses; addresses at random, on corners and on edges."""
    rng = np.random.default_rng(seed)
    x0, y0, size = 380000, 5740000, 2000
    m = _insert(
        db,
        "municipality",
        {
            "ags": "09999997",
            "name": "Zufallsdorf",
            "geom": ewkb(MultiPolygon([box(x0, y0, x0 + size, y0 + size)])),
        },
    )
    for i, (a, b) in enumerate(((0, 700), (700, 1300), (1300, 2000))):
        _insert(
            db,
            "districts",
            {
                "municipality_id": m,
                "name": f"D{i}",
                "geom": ewkb(MultiPolygon([box(x0 + a, y0, x0 + b, y0 + size)])),
            },
        )
    corners: list[tuple[float, float]] = []
    statuses = [s.value for s in Status]
    for i in range(40):
        left, bottom = (int(v) for v in rng.integers(0, size - 300, 2))
        width, height = (int(v) for v in rng.integers(50, 400, 2))
        right, top = min(left + width, size), min(bottom + height, size)
        shape = MultiPolygon([box(x0 + left, y0 + bottom, x0 + right, y0 + top)])
        corners += [
            (left, bottom),
            (right, top),
            ((left + right) // 2, bottom),
            (left, (bottom + top) // 2),
        ]
        table = "hamlets" if i % 5 == 0 else "areas"
        values: dict[str, object] = {
            "municipality_id": m,
            "name": f"F{i}",
            "geom": ewkb(shape),
            "status": statuses[int(rng.integers(0, len(statuses)))],
            "status_since": "2020-01-01",
        }
        if table == "areas":
            values["kind"] = [k.value for k in Kind][i % 3]
        _insert(db, table, values)
    points = [(float(x), float(y)) for x, y in rng.uniform(0, size, (1500, 2))] + corners
    points += [(700.0, float(y)) for y in rng.integers(0, size, 20)]  # on a district border
    # one statement, as the loaders write: each statement also recomputes address histories
    db.execute(
        text(
            "INSERT INTO addresses (municipality_id, street, house_number, postcode, geom) "
            "SELECT :m, 'Zufallsweg', n, '99999', CAST(g AS geometry) "
            "FROM unnest(CAST(:numbers AS text[]), CAST(:points AS text[])) AS t(n, g)"
        ),
        {
            "m": m,
            "numbers": [str(i) for i in range(len(points))],
            "points": [ewkb(Point(x0 + x, y0 + y)) for x, y in points],
        },
    )
    return m


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_and_geopandas_agree_on_generated_towns(db: Session, seed: int) -> None:
    m = _generated_town(db, seed)
    _assert_agree(db, "09999997", m)
