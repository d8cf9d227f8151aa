"""Coverage figures on a small town built for the purpose, every expectation worked out by hand.

Prüfdorf is 1 km × 1 km (local metres, shifted into UTM 32N), split at x = 500 into the districts
West and Ost. Areas: A1 "Nord" box(0, 500, 600, 1000), under construction from 2020-01-01 and
connected from 2021-03-01, provider P1; A2 "Mitte" box(400, 300, 800, 700), planned from
2019-06-01 and insufficient demand from 2021-01-01; A3 "Gewerbe" box(700, 0, 1000, 300),
commercial, under construction from 2022-06-01, provider P2. Hamlet H1 "Hof" box(100, 0, 300, 200),
planned from 2019-01-01. Addresses: a1 (100, 900) in A1; a2 (500, 600) in A1 and A2 and on the
district border; a3 (700, 400) in A2; a4 (600, 500) on A1's corner and inside A2; a5 (850, 300)
on A3's edge; a6 (200, 100) in H1; a7 (300, 300) and a8 (950, 950) in nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.errors import InvalidDataError, NotFoundError
from service.coverage import figures
from service.coverage.rules import Breakdown, Unit, share_pct, step_dates
from service.db import history
from service.db.state import ewkb

X0, Y0 = 370000, 5750000
AGS = "09999998"


def geom(shape: BaseGeometry) -> str:
    return ewkb(affinity.translate(shape, X0, Y0))


def multi(x1: float, y1: float, x2: float, y2: float) -> str:
    return geom(MultiPolygon([box(x1, y1, x2, y2)]))


def _insert(db: Session, table: str, values: dict[str, object]) -> int:
    columns = ", ".join(values)
    params = ", ".join(f"CAST(:{k} AS geometry)" if k == "geom" else f":{k}" for k in values)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({params}) RETURNING id"
    return int(db.execute(text(sql), values).scalar_one())


ADDRESSES = {
    "a1": (100, 900),
    "a2": (500, 600),
    "a3": (700, 400),
    "a4": (600, 500),
    "a5": (850, 300),
    "a6": (200, 100),
    "a7": (300, 300),
    "a8": (950, 950),
}


@pytest.fixture
def town(db: Session) -> dict[str, int]:
    """Prüfdorf, inside the rolled-back test transaction; returns feature ids by name."""
    ids: dict[str, int] = {}
    # the town's first load: its addresses and districts are its baseline, there all along
    history.mark_baseline(db, "municipality", None)
    m = _insert(
        db, "municipality", {"ags": AGS, "name": "Prüfdorf", "geom": multi(0, 0, 1000, 1000)}
    )
    ids["m"] = m
    for name, x1, x2 in (("West", 0, 500), ("Ost", 500, 1000)):
        ids[name] = _insert(
            db, "districts", {"municipality_id": m, "name": name, "geom": multi(x1, 0, x2, 1000)}
        )

    def area(
        name: str,
        kind: str,
        status: str,
        since: str,
        provider: str | None,
        box_: tuple[float, float, float, float],
    ) -> int:
        values = {"municipality_id": m, "name": name, "kind": kind, "status": status}
        values |= {"status_since": since, "provider": provider, "geom": multi(*box_)}
        return _insert(db, "areas", values)

    ids["A1"] = area(
        "Nord", "settlement", "under_construction", "2020-01-01", "P1", (0, 500, 600, 1000)
    )
    ids["A2"] = area("Mitte", "settlement", "planned", "2019-06-01", None, (400, 300, 800, 700))
    ids["A3"] = area(
        "Gewerbe", "commercial", "under_construction", "2022-06-01", "P2", (700, 0, 1000, 300)
    )
    db.execute(
        text("UPDATE areas SET status = 'connected', status_since = '2021-03-01' WHERE id = :id"),
        {"id": ids["A1"]},
    )
    db.execute(
        text(
            "UPDATE areas SET status = 'insufficient_demand', status_since = '2021-01-01' "
            "WHERE id = :id"
        ),
        {"id": ids["A2"]},
    )
    ids["H1"] = _insert(
        db,
        "hamlets",
        {
            "municipality_id": m,
            "name": "Hof",
            "status": "planned",
            "status_since": "2019-01-01",
            "geom": multi(100, 0, 300, 200),
        },
    )
    for number, (name, (x, y)) in enumerate(ADDRESSES.items(), start=1):
        ids[name] = _insert(
            db,
            "addresses",
            {
                "municipality_id": m,
                "street": "Teststraße",
                "house_number": str(number),
                "postcode": "99999",
                "geom": geom(Point(x, y)),
            },
        )
    for name, connection, pupils, since in (
        ("S1", "fibre", 100, "2020-01-01"),
        ("S2", "lte", 50, "2020-01-01"),
        ("S3", "commitment", 50, "2021-01-01"),
    ):
        _insert(
            db,
            "schools",
            {
                "municipality_id": m,
                "name": name,
                "school_type": "Grundschule",
                "pupils": pupils,
                "connection": connection,
                "status_since": since,
                "geom": geom(Point(50, 50)),
            },
        )
    return ids


def _figure(unit: Unit) -> tuple[int, int, float]:
    return unit.addresses.numerator, unit.addresses.denominator, unit.addresses.share_pct


def _by_name(units: list[Unit]) -> dict[str, tuple[int, int, float]]:
    return {unit.name: _figure(unit) for unit in units}


def test_today_municipality_and_districts(town: dict[str, int], db: Session) -> None:
    unit = figures.municipality_unit(db, AGS, None)
    assert _figure(unit) == (3, 8, 37.5)
    assert unit.addresses.by_status == {
        "connected": 3,
        "under_construction": 1,
        "in_preparation": 0,
        "planned": 1,
        "insufficient_demand": 1,
        "none": 2,
    }
    districts = _by_name(figures.units(db, Breakdown.DISTRICT, AGS, None))
    # a2 lies on the border x=500 and counts for the district with the lower id (West).
    assert districts == {"Ost": (1, 4, 25.0), "West": (2, 4, 50.0)}


def test_hamlets_kinds_and_providers(town: dict[str, int], db: Session) -> None:
    assert _by_name(figures.units(db, Breakdown.HAMLET, AGS, None)) == {"Hof": (0, 1, 0.0)}
    assert _by_name(figures.units(db, Breakdown.KIND, AGS, None)) == {
        "commercial": (0, 1, 0.0),
        "settlement": (3, 4, 75.0),
    }
    providers = figures.units(db, Breakdown.PROVIDER, AGS, None)
    assert _by_name(providers) == {"P1": (3, 8, 37.5), "P2": (0, 8, 0.0)}
    p2 = next(unit for unit in providers if unit.name == "P2")
    assert p2.addresses.by_status["under_construction"] == 1
    assert p2.addresses.by_status["none"] == 7


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # Nothing had a version yet: every address is 'none'.
        ("2018-01-01", {"none": 8}),
        # A1 under construction, A2 planned, A3 not yet there, H1 planned.
        ("2020-06-30", {"under_construction": 3, "planned": 2, "none": 3}),
        # A2 switched to insufficient demand on 2021-01-01; A1 still under construction.
        (
            "2021-02-01",
            {"under_construction": 3, "insufficient_demand": 1, "planned": 1, "none": 3},
        ),
        # A1 connected since 2021-03-01; A3 appears on 2022-06-01.
        (
            "2022-06-01",
            {
                "connected": 3,
                "under_construction": 1,
                "insufficient_demand": 1,
                "planned": 1,
                "none": 2,
            },
        ),
    ],
)
def test_as_of_uses_the_version_valid_on_that_date(
    town: dict[str, int], db: Session, as_of: str, expected: dict[str, int]
) -> None:
    unit = figures.municipality_unit(db, AGS, dt.date.fromisoformat(as_of))
    assert {k: v for k, v in unit.addresses.by_status.items() if v} == expected
    assert unit.as_of == dt.date.fromisoformat(as_of)


def test_as_of_today_equals_the_maintained_state(town: dict[str, int], db: Session) -> None:
    today = db.execute(text("SELECT current_date")).scalar_one()
    for breakdown in Breakdown:
        assert figures.units(db, breakdown, AGS, today) == figures.units(db, breakdown, AGS, None)


def test_area_and_school_figures(town: dict[str, int], db: Session) -> None:
    summary = figures.summary(db, AGS, None)
    areas = {a.kind: a for a in summary.areas}
    assert areas["settlement"].hectares_by_status["connected"] == 30.0
    assert areas["settlement"].hectares_by_status["insufficient_demand"] == 16.0
    assert areas["settlement"].connected_share_pct == share_pct(30, 46) == 65.22
    assert areas["commercial"].total_hectares == 9.0
    assert areas["commercial"].connected_share_pct == 0.0
    assert summary.schools.pupils_on_fibre_pct == 50.0
    assert summary.schools.schools_by_connection == {
        "fibre": 1,
        "commitment": 1,
        "lte": 1,
        "none": 0,
    }
    earlier = figures.summary(db, AGS, dt.date(2020, 6, 30))
    assert earlier.schools.pupils == 150
    assert earlier.schools.pupils_on_fibre_pct == 66.67
    assert {a.kind: a.total_hectares for a in earlier.areas}["commercial"] == 0.0


def test_timeline_follows_the_history(town: dict[str, int], db: Session) -> None:
    points = figures.timeline(db, AGS, dt.date(2020, 1, 1), dt.date(2022, 1, 1), "year")
    assert [(p.as_of.isoformat(), p.addresses.numerator) for p in points] == [
        ("2020-01-01", 0),
        ("2021-01-01", 0),
        ("2022-01-01", 3),
    ]
    assert all(p.addresses.denominator == 8 for p in points)


def _state(db: Session, m: int) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in db.execute(
            text(
                "SELECT c.address_id, c.district_id, c.best_rank FROM address_coverage c "
                "WHERE c.municipality_id = :m ORDER BY 1"
            ),
            {"m": m},
        )
    ]


def _counts(db: Session, m: int) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in db.execute(
            text(
                "SELECT district_id, best_rank, addresses FROM coverage_counts "
                "WHERE municipality_id = :m AND addresses <> 0 ORDER BY 1, 2"
            ),
            {"m": m},
        )
    ]


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE areas SET status = 'connected' WHERE name = 'Gewerbe'",
        "UPDATE areas SET geom = ST_Translate(geom, -300, 0) WHERE name = 'Mitte'",
        "DELETE FROM areas WHERE name = 'Nord'",
        "UPDATE hamlets SET status = 'connected' WHERE name = 'Hof'",
        "UPDATE addresses SET geom = ST_Translate(geom, 600, 0) WHERE house_number = '7'",
        "DELETE FROM addresses WHERE house_number = '1'",
        "UPDATE districts SET geom = ST_Multi(ST_Buffer(geom, 0)) WHERE name = 'Ost'",
        "UPDATE districts SET name = 'Osten' WHERE name = 'Ost'",
        "DELETE FROM districts WHERE name = 'West'",
    ],
)
def test_incremental_state_equals_a_rebuild(town: dict[str, int], db: Session, change: str) -> None:
    db.execute(text(f"{change}"))
    incremental = (_state(db, town["m"]), _counts(db, town["m"]))
    db.execute(text("SELECT broadband_rebuild_coverage(:m)"), {"m": town["m"]})
    assert (_state(db, town["m"]), _counts(db, town["m"])) == incremental


def test_a_status_change_moves_the_figure(town: dict[str, int], db: Session) -> None:
    db.execute(text("UPDATE areas SET status = 'connected' WHERE name = 'Gewerbe'"))
    assert _by_name(figures.units(db, Breakdown.DISTRICT, AGS, None)) == {
        "Ost": (2, 4, 50.0),
        "West": (2, 4, 50.0),
    }


def test_bad_requests_are_refused(town: dict[str, int], db: Session) -> None:
    with pytest.raises(InvalidDataError, match="lies in the future"):
        figures.municipality_unit(db, AGS, dt.date(2999, 1, 1))
    with pytest.raises(NotFoundError, match="no municipality with AGS 01234567"):
        figures.municipality_unit(db, "01234567", None)
    with pytest.raises(InvalidDataError, match="after the end date"):
        figures.timeline(db, AGS, dt.date(2022, 1, 1), dt.date(2021, 1, 1), "month")


def test_step_dates_keep_the_day_within_short_months() -> None:
    assert step_dates(dt.date(2021, 1, 31), dt.date(2021, 4, 30), "month") == [
        dt.date(2021, 1, 31),
        dt.date(2021, 2, 28),
        dt.date(2021, 3, 31),
        dt.date(2021, 4, 30),
    ]


def test_share_is_rounded_half_up() -> None:
    assert share_pct(1, 8) == 12.5
    assert share_pct(2, 3) == 66.67
    assert share_pct(1, 200) == 0.5
    assert share_pct(0, 0) == 0.0


def test_an_address_in_a_hamlet_and_an_area_takes_the_better_status(
    town: dict[str, int], db: Session
) -> None:
    # "Hofrand" overlaps the hamlet Hof around a6 (200, 100); the hamlet is 'planned'.
    values = {"municipality_id": town["m"], "name": "Hofrand", "kind": "outskirts"}
    values |= {"status": "insufficient_demand", "status_since": "2022-01-01"}
    area = _insert(db, "areas", {**values, "geom": multi(150, 50, 250, 150)})
    hof = figures.units(db, Breakdown.HAMLET, AGS, None)[0].addresses
    assert hof.by_status["planned"] == 1  # planned beats insufficient_demand
    db.execute(text("UPDATE areas SET status = 'connected' WHERE id = :id"), {"id": area})
    hof = figures.units(db, Breakdown.HAMLET, AGS, None)[0].addresses
    assert (hof.numerator, hof.denominator) == (1, 1)
    outskirts = _by_name(figures.units(db, Breakdown.KIND, AGS, None))["outskirts"]
    assert outskirts == (1, 1, 100.0)
    before = figures.units(db, Breakdown.HAMLET, AGS, dt.date(2021, 12, 31))[0].addresses
    assert before.by_status["planned"] == 1


def test_back_dated_and_same_day_corrections_replace_later_versions(
    town: dict[str, int], db: Session
) -> None:
    def versions() -> list[tuple[str, str]]:
        rows = db.execute(
            text(
                "SELECT status, CAST(status_since AS text) FROM status_history "
                "WHERE feature_table = 'areas' AND feature_id = :id ORDER BY status_since"
            ),
            {"id": town["A1"]},
        )
        return [(status, since) for status, since in rows]

    assert versions() == [("under_construction", "2020-01-01"), ("connected", "2021-03-01")]
    db.execute(text("UPDATE areas SET status = 'planned' WHERE id = :id"), {"id": town["A1"]})
    assert versions() == [("under_construction", "2020-01-01"), ("planned", "2021-03-01")]
    db.execute(
        text("UPDATE areas SET status = 'connected', status_since = '2020-06-01' WHERE id = :id"),
        {"id": town["A1"]},
    )
    assert versions() == [("under_construction", "2020-01-01"), ("connected", "2020-06-01")]
    db.execute(  # the same status, dated later: the version's date moves, nothing stays behind
        text("UPDATE areas SET status_since = '2022-02-01' WHERE id = :id"), {"id": town["A1"]}
    )
    assert versions() == [("under_construction", "2020-01-01"), ("connected", "2022-02-01")]
