"""The bulk path: a bulk load gives the state incremental edits give, and geopandas agrees.

A generated town of 1 km × 1 km (seeded, so every run sees the same one): three districts side
by side (the last one stops short of the edge, so some addresses lie in none), twelve overlapping
areas and two hamlets with random statuses, and 150 addresses, a share of them exactly on an
area's corner. The same features go into two municipalities: one in a bulk load with the indexes
built afterwards, one by single inserts and edits through the triggers.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.vocabulary import Status
from service.coverage.rules import RANK
from service.db import bulk
from service.db.state import ewkb

X0, Y0 = 380000, 5760000
STATUSES = [str(s) for s in Status]


def _town(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Districts, areas, hamlets and addresses in local metres (shifted on insert)."""
    rng = np.random.default_rng(seed)
    districts = [
        {"name": f"Bezirk {i}", "shape": MultiPolygon([box(i * 350, 0, i * 350 + 350, 1000)])}
        for i in range(2)
    ] + [{"name": "Bezirk 2", "shape": MultiPolygon([box(700, 0, 950, 1000)])}]
    areas = []
    for i in range(12):
        x, y = rng.uniform(100, 900, 2)
        w, h = rng.uniform(80, 300, 2)
        areas.append(
            {
                "name": f"Gebiet {i:02d}",
                "status": STATUSES[int(rng.integers(0, len(STATUSES)))],
                "shape": MultiPolygon([box(x - w, y - h, x + w, y + h)]),
            }
        )
    hamlets = [
        {"name": f"Hof {i}", "status": STATUSES[i * 2], "shape": MultiPolygon([box(*corner)])}
        for i, corner in enumerate([(0, 0, 200, 150), (820, 820, 1000, 1000)])
    ]
    points = [Point(x, y) for x, y in rng.uniform(0, 1000, (120, 2))]
    corners = [Point(a["shape"].bounds[:2]) for a in areas]  # on the boundary: covered
    edges = [Point(350, y) for y in (100, 500, 900)]  # on the district border: lowest id
    addresses = [
        {"street": "Weg", "house_number": str(i + 1), "postcode": "48653", "shape": p}
        for i, p in enumerate(points + corners + edges)
    ]
    return {"districts": districts, "areas": areas, "hamlets": hamlets, "addresses": addresses}


TOWN = _town()


def _shifted(shape: BaseGeometry) -> str:
    return ewkb(affinity.translate(shape, X0, Y0))


def _municipality(db: Session, ags: str) -> int:
    outline = ewkb(MultiPolygon([box(X0 - 10, Y0 - 10, X0 + 1010, Y0 + 1010)]))
    return int(
        db.execute(
            text(
                "INSERT INTO municipality (ags, name, geom) "
                "VALUES (:ags, :ags, CAST(:g AS geometry)) RETURNING id"
            ),
            {"ags": ags, "g": outline},
        ).scalar_one()
    )


COLUMNS = {
    "districts": ("name",),
    "addresses": ("street", "house_number", "postcode"),
    "areas": ("name", "status"),
    "hamlets": ("name", "status"),
}
FIXED = {  # columns the generated rows leave to a constant
    "districts": {},
    "addresses": {},
    "areas": {"kind": "'settlement'", "funding": "'unknown'", "status_since": "DATE '2024-01-01'"},
    "hamlets": {"status_since": "DATE '2024-01-01'"},
}


def _insert(db: Session, table: str, m: int, rows: list[dict[str, Any]]) -> None:
    """All rows of a table in one INSERT statement (as a load does)."""
    names, fixed = COLUMNS[table], FIXED[table]
    values: list[str] = []
    params: dict[str, Any] = {"m": m}
    for i, row in enumerate(rows):
        own = ", ".join(f":{name}_{i}" for name in names)
        values.append(f"(:m, {own}, {', '.join([*fixed.values(), ''])}CAST(:g_{i} AS geometry))")
        params |= {f"{name}_{i}": row[name] for name in names}
        params[f"g_{i}"] = _shifted(row["shape"])
    columns = ", ".join(["municipality_id", *names, *fixed, "geom"])
    db.execute(text(f"INSERT INTO {table} ({columns}) VALUES {', '.join(values)}"), params)


def _bulk_load(db: Session, ags: str, defer_to: int = 10**9) -> int:
    """The town in one bulk load; `defer_to` forces the indexes to be built afterwards."""
    m = _municipality(db, ags)
    with bulk.bulk_load(db, [m]):
        for table in ("districts", "areas", "hamlets", "addresses"):
            assert bulk.defer_indexes(db, table, defer_to)
            _insert(db, table, m, TOWN[table])
    return m


def _edited_in(db: Session, ags: str) -> int:
    """The same town entered feature by feature, addresses first, then edited into shape."""
    m = _municipality(db, ags)
    for row in TOWN["addresses"]:
        _insert(db, "addresses", m, [row])
    for row in TOWN["districts"]:
        _insert(db, "districts", m, [row])
    for table in ("areas", "hamlets"):
        for row in TOWN[table]:  # first as planned, then their real status
            _insert(db, table, m, [{**row, "status": "planned"}])
            db.execute(
                text(f"UPDATE {table} SET status = :s WHERE municipality_id = :m AND name = :n"),
                {"s": row["status"], "m": m, "n": row["name"]},
            )
    return m


def _state(db: Session, m: int) -> tuple[Any, ...]:
    """The state by names (ids differ between the two towns): pairs, coverage, counts."""
    pairs = db.execute(
        text(
            "SELECT a.house_number, coalesce(s.name, h.name), p.rank FROM address_features p "
            "JOIN addresses a ON a.id = p.address_id "
            "LEFT JOIN areas s ON p.feature_table = 'areas' AND s.id = p.feature_id "
            "LEFT JOIN hamlets h ON p.feature_table = 'hamlets' AND h.id = p.feature_id "
            "WHERE a.municipality_id = :m ORDER BY 1, 2"
        ),
        {"m": m},
    ).all()
    coverage = db.execute(
        text(
            "SELECT a.house_number, d.name, c.best_rank FROM address_coverage c "
            "JOIN addresses a ON a.id = c.address_id LEFT JOIN districts d ON d.id = c.district_id "
            "WHERE c.municipality_id = :m ORDER BY 1"
        ),
        {"m": m},
    ).all()
    counts = db.execute(
        text(
            "SELECT d.name, c.best_rank, c.addresses FROM coverage_counts c "
            "LEFT JOIN districts d ON d.id = c.district_id "
            "WHERE c.municipality_id = :m AND c.addresses <> 0 ORDER BY 1, 2"
        ),
        {"m": m},
    ).all()
    return [tuple(r) for r in pairs], [tuple(r) for r in coverage], [tuple(r) for r in counts]


def _twin() -> list[tuple[str, str | None, int]]:
    """Each address's district and best rank by geopandas, from the generated shapes alone."""
    addresses = gpd.GeoDataFrame(
        {"house_number": [a["house_number"] for a in TOWN["addresses"]]},
        geometry=[a["shape"] for a in TOWN["addresses"]],
    )
    features = gpd.GeoDataFrame(
        {"rank": [RANK[Status(f["status"])] for f in TOWN["areas"] + TOWN["hamlets"]]},
        geometry=[f["shape"] for f in TOWN["areas"] + TOWN["hamlets"]],
    )
    districts = gpd.GeoDataFrame(
        {"district": [d["name"] for d in TOWN["districts"]]},
        geometry=[d["shape"] for d in TOWN["districts"]],
    )
    hits = gpd.sjoin(addresses, features, predicate="intersects")
    best = hits.groupby(level=0)["rank"].min().reindex(addresses.index, fill_value=6)
    located = gpd.sjoin(addresses, districts, predicate="intersects")
    district = located.groupby(level=0)["district"].min()  # the first district, as stored
    table = pd.DataFrame(
        {"house_number": addresses["house_number"], "district": district, "rank": best}
    )
    return sorted(
        (row.house_number, None if pd.isna(row.district) else row.district, int(row.rank))
        for row in table.itertuples()
    )


def test_a_bulk_load_equals_incremental_edits_and_geopandas(db: Session) -> None:
    bulk_town = _state(db, _bulk_load(db, "09999911"))
    edited_town = _state(db, _edited_in(db, "09999912"))
    assert bulk_town == edited_town
    assert sorted(bulk_town[1]) == _twin()
    assert len(bulk_town[0]) > len(TOWN["areas"])  # areas overlap: more pairs than areas


def test_a_rebuild_of_a_bulk_load_changes_nothing(db: Session) -> None:
    m = _bulk_load(db, "09999913")
    loaded = _state(db, m)
    bulk.rebuild(db, m)
    assert _state(db, m) == loaded


def test_a_bulk_load_logs_one_entry_per_table_naming_its_rows(db: Session) -> None:
    before = db.execute(text("SELECT coalesce(max(id), 0) FROM changes")).scalar_one()
    m = _bulk_load(db, "09999914")
    logged = db.execute(
        text("SELECT table_name, operation, feature_id, new FROM changes WHERE id > :b"),
        {"b": before},
    ).all()
    entries = {row.table_name: row for row in logged if row.table_name != "municipality"}
    assert sorted(entries) == ["addresses", "areas", "districts", "hamlets"]
    for table, entry in entries.items():
        stored = db.execute(
            text(f"SELECT id FROM {table} WHERE municipality_id = :m ORDER BY id"), {"m": m}
        ).scalars()
        listed = [i for first, last in entry.new["ids"] for i in range(first, last + 1)]
        assert entry.operation == "load"
        assert listed == list(stored)
        assert entry.new["rows"] == len(TOWN[table]) == len(listed)
        assert entry.feature_id == listed[0]


def _indexes(db: Session) -> list[tuple[str, str]]:
    rows = db.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('addresses', 'areas', 'hamlets', 'districts', 'address_features') ORDER BY 1"
        )
    ).all()
    constraints = db.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid IN "
            "('addresses'::regclass, 'areas'::regclass, 'address_features'::regclass) ORDER BY 1"
        )
    ).all()
    return [(str(a), str(b)) for a, b in [*rows, *constraints]]


def test_a_bulk_load_that_fails_midway_leaves_nothing_behind(db: Session) -> None:
    indexes, changes = _indexes(db), db.execute(text("SELECT count(*) FROM changes")).scalar()
    duplicate = {**TOWN["addresses"][0], "shape": Point(1, 1)}
    savepoint = db.begin_nested()
    m = _municipality(db, "09999915")
    with pytest.raises(IntegrityError, match="uq_addresses_address"), bulk.bulk_load(db, [m]):
        for table in ("districts", "areas", "hamlets", "addresses"):
            bulk.defer_indexes(db, table, 10**9)
            _insert(db, table, m, TOWN[table])
        _insert(db, "addresses", m, [duplicate])  # refused when the index is built again
    savepoint.rollback()
    assert (
        db.execute(text("SELECT count(*) FROM municipality WHERE ags = '09999915'")).scalar() == 0
    )
    assert db.execute(text("SELECT count(*) FROM changes")).scalar() == changes
    assert _indexes(db) == indexes
    assert db.execute(text("SELECT broadband_bulk()")).scalar() is False
    # and the triggers work again: a single address gets its state
    town = _municipality(db, "09999916")
    _insert(db, "addresses", town, TOWN["addresses"][:1])
    assert (
        db.execute(
            text("SELECT count(*) FROM address_coverage WHERE municipality_id = :m"), {"m": town}
        ).scalar()
        == 1
    )


def test_few_rows_keep_the_indexes(db: Session) -> None:
    m = _municipality(db, "09999917")
    with bulk.bulk_load(db, [m]):
        assert not bulk.defer_indexes(db, "addresses", 10)
        _insert(db, "addresses", m, TOWN["addresses"][:10])
    assert (
        db.execute(
            text("SELECT sum(addresses) FROM coverage_counts WHERE municipality_id = :m"), {"m": m}
        ).scalar()
        == 10
    )
