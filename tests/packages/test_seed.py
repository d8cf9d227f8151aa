"""Seeding the bundled Coesfeld package, and refusing broken packages without changing anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.core.errors import InvalidDataError
from service.core.settings import DEFAULT_PACKAGE
from service.packages.diff import LayerDiff
from service.packages.seeding import seed
from tests.helpers import snapshot

COMMERCIAL_FUNDED = {
    "Weißes Kreuz",
    "Berkelbogen",
    "Wasserturm",
    "Dreiskamp",
    "Otterkamp",
    "Rottkamp",
    "Königsbusch",
    "Krampe",
}


def _rows(db: Session, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in db.execute(text(sql)).all()]


def _names(db: Session, sql: str) -> dict[str, str]:
    """Rows of two text columns, a name and its value, as a dict."""
    pairs: dict[str, str] = {}
    for name, value in _rows(db, sql):
        assert isinstance(name, str) and isinstance(value, str)
        pairs[name] = value
    return pairs


def test_municipality_is_the_real_coesfeld_boundary(coesfeld: object, db: Session) -> None:
    name, ags, km2 = db.execute(
        text("SELECT name, ags, ST_Area(geom) / 1e6 FROM municipality")
    ).one()
    assert (name, ags) == ("Coesfeld", "05558012")
    assert km2 == pytest.approx(141.25, rel=0.002)


def test_schools_follow_the_2021_report(coesfeld: object, db: Session) -> None:
    rows = _names(db, "SELECT name, connection FROM schools")
    assert len(rows) == 17
    special = {name: c for name, c in rows.items() if c != "fibre"}
    assert special == {
        next(n for n in rows if "Laurentius" in n): "commitment",
        next(n for n in rows if "Mira-Lobe" in n): "lte",
    }


def test_hamlets_named_in_the_report_have_its_statuses(coesfeld: object, db: Session) -> None:
    statuses = _names(db, "SELECT name, status FROM hamlets")
    assert {name: statuses[name] for name in ("Brink Süd", "Wulferhook")} == {
        "Brink Süd": "in_preparation",
        "Wulferhook": "in_preparation",
    }
    for name in ("Herteler", "Beikel", "Stripperhook"):
        assert statuses[name] == "insufficient_demand"
    others = set(statuses) - {"Brink Süd", "Wulferhook", "Herteler", "Beikel", "Stripperhook"}
    assert others
    assert {statuses[name] for name in others} == {"connected"}


def test_commercial_areas_follow_the_report(coesfeld: object, db: Session) -> None:
    rows = {
        name: (status, funding, str(since))
        for name, status, funding, since in _rows(
            db, "SELECT name, status, funding, status_since FROM areas WHERE kind = 'commercial'"
        )
    }
    assert rows["Industriepark Nord.Westfalen"][:2] == ("connected", "private")
    for name in COMMERCIAL_FUNDED:
        assert rows[name] == ("connected", "funded", "2021-07-01")


def test_settlement_areas_cover_the_report_statuses(coesfeld: object, db: Session) -> None:
    statuses = {s for (s,) in _rows(db, "SELECT status FROM areas WHERE kind = 'settlement'")}
    assert statuses >= {"connected", "under_construction", "insufficient_demand"}


def test_districts_partition_the_municipality(coesfeld: object, db: Session) -> None:
    names = {n for (n,) in _rows(db, "SELECT name FROM districts")}
    assert names == {"Kernstadt", "Lette", "Goxel"}
    union_share = db.execute(
        text(
            "SELECT ST_Area(ST_Union(d.geom)) / min(ST_Area(m.geom)) "
            "FROM districts d, municipality m"
        )
    ).scalar_one()
    assert union_share == pytest.approx(1.0, abs=1e-4)


def test_addresses_are_many_and_denser_in_settlements(coesfeld: object, db: Session) -> None:
    total, in_settlement, settled_km2 = db.execute(
        text(
            "SELECT (SELECT count(*) FROM addresses), "
            "(SELECT count(*) FROM addresses a WHERE EXISTS (SELECT 1 FROM areas s "
            " WHERE s.kind = 'settlement' AND ST_Covers(s.geom, a.geom))), "
            "(SELECT sum(ST_Area(geom)) / 1e6 FROM areas WHERE kind = 'settlement')"
        )
    ).one()
    assert 11_000 <= total <= 13_000
    density_inside = in_settlement / settled_km2
    density_outside = (total - in_settlement) / (141.25 - settled_km2)
    assert density_inside > 10 * density_outside


def test_everything_lies_inside_the_boundary(coesfeld: object, db: Session) -> None:
    for table in ("districts", "areas", "hamlets", "schools", "addresses"):
        outside = db.execute(
            text(
                f"SELECT count(*) FROM {table} t, municipality m "
                "WHERE NOT ST_Covers(ST_Buffer(m.geom, 0.5), t.geom)"
            )
        ).scalar_one()
        assert outside == 0, table


def test_approximations_are_labelled(coesfeld: object, db: Session) -> None:
    for table in ("districts", "areas", "hamlets", "addresses"):
        real = db.execute(text(f"SELECT count(*) FROM {table} WHERE NOT approximate"))
        assert real.scalar_one() == 0, table
    assert db.execute(text("SELECT bool_or(approximate) FROM schools")).scalar_one() is False


def test_seed_is_logged_with_its_actor(coesfeld: dict[str, LayerDiff], db: Session) -> None:
    """A package is loaded in bulk: one `load` entry per table, with its actor and row count."""
    loads = _rows(
        db,
        "SELECT DISTINCT actor, (new->>'rows')::int FROM changes "
        "WHERE table_name = 'areas' AND operation = 'load'",
    )
    assert ("test-suite", coesfeld["areas"].inserted) in loads


def test_reseeding_the_same_package_changes_nothing(
    coesfeld: dict[str, LayerDiff], factory: sessionmaker[Session]
) -> None:
    version = text("SELECT version FROM data_version")
    with factory() as session:
        before = snapshot(session)
        version_before = session.execute(version).scalar_one()
    diffs = seed(factory, DEFAULT_PACKAGE, actor="test-suite")
    assert diffs is not None
    with factory() as session:  # nothing changed, so caches and ETags stay valid
        assert session.execute(version).scalar_one() == version_before
    assert {
        layer: (d.inserted, d.updated, d.deleted) for layer, d in diffs.items()
    } == dict.fromkeys(diffs, (0, 0, 0))
    with factory() as session:
        assert snapshot(session) == before


def test_seed_if_empty_skips_a_loaded_database(
    coesfeld: object, factory: sessionmaker[Session]
) -> None:
    assert seed(factory, DEFAULT_PACKAGE, actor="x", only_if_empty=True) is None


Features = list[dict[str, Any]]


def _edit(path: Path, change: Callable[[Features], object]) -> None:
    data = json.loads(path.read_text())
    change(data["features"])
    path.write_text(json.dumps(data))


def _set(index: int, **props: object) -> Callable[[Features], None]:
    def change(features: Features) -> None:
        features[index]["properties"].update(props)

    return change


def _geometry(index: int, geometry: dict[str, object]) -> Callable[[Features], None]:
    def change(features: Features) -> None:
        features[index]["geometry"] = geometry

    return change


BOWTIE = [
    [[371000, 5752000], [371100, 5752100], [371100, 5752000], [371000, 5752100], [371000, 5752000]]
]
FAR_AWAY: dict[str, object] = {"type": "Point", "coordinates": [390000, 5750000]}
A_POINT: dict[str, object] = {"type": "Point", "coordinates": [372000, 5752000]}


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda p: (p / "hamlets.geojson").unlink(), "hamlets: layer missing"),
        (
            lambda p: _edit(p / "areas.geojson", _set(0, status="fertig")),
            "field 'status': unknown value 'fertig'; allowed: connected",
        ),
        (
            lambda p: _edit(p / "areas.geojson", _set(2, status_since=None)),
            "field 'status_since': required, but empty",  # a package dates every status
        ),
        (
            lambda p: _edit(p / "areas.geojson", _geometry(1, A_POINT)),
            "field 'geometry': wrong geometry type: expected MultiPolygon or Polygon, got Point",
        ),
        (
            lambda p: _edit(
                p / "hamlets.geojson", _geometry(0, {"type": "Polygon", "coordinates": BOWTIE})
            ),
            "field 'geometry': invalid geometry: Self-intersection[371050 5752050]",
        ),
        (
            lambda p: _edit(p / "schools.geojson", _geometry(2, FAR_AWAY)),
            "field 'geometry': lies outside the municipality Coesfeld",
        ),
        (
            lambda p: _edit(p / "addresses.geojson", _set(5, postcode="ABC")),
            "field 'postcode': expected a 5-digit postcode, got 'ABC'",
        ),
    ],
    ids=[
        "missing-layer",
        "unknown-status",
        "undated-status",
        "wrong-type",
        "invalid-geometry",
        "outside",
        "postcode",
    ],
)
def test_broken_package_is_refused_and_changes_nothing(
    coesfeld: object,
    factory: sessionmaker[Session],
    package_copy: Path,
    breakage: Callable[[Path], object],
    expected: str,
) -> None:
    breakage(package_copy)
    with factory() as session:
        before = snapshot(session)
    with pytest.raises(InvalidDataError) as caught:
        seed(factory, package_copy, actor="test-suite")
    assert expected in caught.value.describe()
    with factory() as session:
        assert snapshot(session) == before
