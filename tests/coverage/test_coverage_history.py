"""Coverage of a past date is the figure of that date's state, and stays so after later edits."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.db.engine import transaction
from tests import timemachine
from tests.timemachine import AGS, DISTRICT_OF, MID_2021, TODAY, YESTERDAY


def _days(factory: sessionmaker[Session]) -> tuple[dt.date, dt.date]:
    with factory() as session:
        today: dt.date = session.execute(text("SELECT current_date")).scalar_one()
    return today - dt.timedelta(days=1), today


def _connected(statuses: dict[str, str], district: str | None = None) -> tuple[int, int]:
    chosen = [n for n in statuses if district is None or DISTRICT_OF[n] == district]
    return sum(statuses[n] == "connected" for n in chosen), len(chosen)


def _figure(unit: dict[str, Any]) -> tuple[int, int]:
    return unit["addresses"]["numerator"], unit["addresses"]["denominator"]


def test_the_municipality_and_its_districts_on_each_date(
    factory: sessionmaker[Session], zeitdorf: int, client: TestClient
) -> None:
    yesterday, today = _days(factory)
    for day, statuses in ((yesterday, YESTERDAY), (today, TODAY), (dt.date(2021, 6, 1), MID_2021)):
        params = {"ags": AGS, "as_of": day.isoformat()}
        summary = client.get("/coverage", params=params).json()
        assert _figure(summary) == _connected(statuses), day
        assert summary["addresses"]["by_status"] == {
            status: Counter(statuses.values()).get(status, 0)
            for status in summary["addresses"]["by_status"]
        }
        districts = {
            u["name"]: _figure(u) for u in client.get("/coverage/districts", params=params).json()
        }
        assert districts == {d: _connected(statuses, d) for d in ("West", "Ost")}, day


def test_areas_kinds_providers_and_hamlets_on_each_date(
    factory: sessionmaker[Session], zeitdorf: int, client: TestClient
) -> None:
    yesterday, today = _days(factory)
    # hand-measured outlines (ha): yesterday Umgebaut 2, Geteilt 2, Nachgetragen 0.8 connected,
    # Entfernt 0.8 under construction; today Umgebaut 2, both parts of Geteilt 1 each,
    # Nachgetragen 0.8 and Neu 0.8, all connected
    hectares = {
        yesterday: {"connected": 4.8, "under_construction": 0.8},
        today: {"connected": 5.6, "under_construction": 0.0},
    }
    # addresses inside areas: yesterday A1 A2 A4 A5 A6 A7, today A1 A3 A4 A5 A7 A8
    inside = {yesterday: (5, 6), today: (6, 6)}
    for day in (yesterday, today):
        params = {"ags": AGS, "as_of": day.isoformat()}
        areas = client.get("/coverage", params=params).json()["areas"]
        settlement = next(a for a in areas if a["kind"] == "settlement")
        for status, expected in hectares[day].items():
            assert settlement["hectares_by_status"][status] == pytest.approx(expected), day
        kinds = {u["name"]: _figure(u) for u in client.get("/coverage/kinds", params=params).json()}
        assert kinds == {"settlement": inside[day]}
        providers = client.get("/coverage/providers", params=params).json()
        statuses = YESTERDAY if day == yesterday else TODAY
        assert {u["name"]: _figure(u) for u in providers} == {"Zeitnetz": _connected(statuses)}
        hamlets = client.get("/coverage/hamlets", params=params).json()
        assert {u["name"]: _figure(u) for u in hamlets} == {"Hof": (0, 1)}


def test_the_timeline_gives_each_dates_own_state(
    factory: sessionmaker[Session], zeitdorf: int, client: TestClient
) -> None:
    yesterday, today = _days(factory)
    for day, statuses in ((yesterday, YESTERDAY), (today, TODAY)):
        points = client.get(
            "/coverage/timeline",
            params={"ags": AGS, "from": day.isoformat(), "to": day.isoformat()},
        ).json()
        assert [(p["as_of"], _figure(p)) for p in points] == [
            (day.isoformat(), _connected(statuses))
        ]
    early = client.get(
        "/coverage/timeline",
        params={"ags": AGS, "from": "2019-06-01", "to": "2021-06-01", "step": "year"},
    ).json()
    # before 2020 no area had begun; in mid-2021 Nachgetragen was still planned
    assert [_figure(p) for p in early] == [(0, 10), (4, 10), _connected(MID_2021)]


def _later_edits(session: Session, m: int) -> None:
    """Edits of today touching everything yesterday's figures were made of."""
    session.execute(
        text("DELETE FROM areas WHERE municipality_id = :m AND name = 'Umgebaut'"), {"m": m}
    )
    session.execute(
        text(
            "UPDATE areas SET status = 'planned', status_since = current_date "
            "WHERE municipality_id = :m AND name = 'Geteilt'"
        ),
        {"m": m},
    )
    session.execute(
        text(
            "UPDATE addresses SET geom = ST_Translate(geom, 0, 10) "
            "WHERE municipality_id = :m AND house_number = 'A9'"
        ),
        {"m": m},
    )
    session.execute(
        text(
            "INSERT INTO addresses (municipality_id, street, house_number, postcode, geom) "
            "VALUES (:m, 'Zeitweg', 'A11', '48653', :g)"
        ),
        {"m": m, "g": timemachine.point(800, 500)},
    )
    session.execute(
        text(
            "UPDATE districts SET name = 'Westen', geom = :g "
            "WHERE municipality_id = :m AND name = 'West'"
        ),
        {"m": m, "g": timemachine.box((0, 0, 450, 1000))},
    )
    session.execute(
        text("UPDATE hamlets SET geom = :g WHERE municipality_id = :m"),
        {"m": m, "g": timemachine.box((860, 450, 1040, 550))},
    )


def test_a_past_dates_figures_never_change_after_later_edits(
    factory: sessionmaker[Session], coesfeld: object, client: TestClient
) -> None:
    yesterday, _ = _days(factory)
    paths = [
        "/coverage",
        *(f"/coverage/{u}" for u in ("districts", "hamlets", "kinds", "providers")),
    ]
    with timemachine.zeitdorf(factory) as m:
        asked = [
            (path, {"ags": AGS, "as_of": day.isoformat()})
            for path in paths
            for day in (yesterday, dt.date(2021, 6, 1))
        ]
        asked.append(
            (
                "/coverage/timeline",
                {"ags": AGS, "from": "2019-01-01", "step": "month", "to": yesterday.isoformat()},
            )
        )
        stored = [client.get(path, params=params).json() for path, params in asked]
        with transaction(factory, "test-suite") as session:
            _later_edits(session, m)
        today_after = client.get("/coverage", params={"ags": AGS}).json()
        assert _figure(today_after) != _connected(TODAY)  # the edits did change today
        assert [client.get(path, params=params).json() for path, params in asked] == stored
