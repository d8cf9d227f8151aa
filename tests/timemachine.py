"""Zeitdorf: a hand-built town whose past differs from its present in every way the time machine
must get right, for tests of `as_of` everywhere.

Built in two steps, both today: first the town as it stood (statuses dated in the past, so its
areas existed back then; its addresses and districts are the baseline), then today's edits:

- `Umgebaut` is redrawn: yesterday it covered A1 and A2, today A1 and A3.
- `Geteilt` is split: yesterday one area over A4 and A5, today `Geteilt` over A4 and
  `Geteilt (Teil 2)` over A5, the part existing only from today.
- `Entfernt` (under construction over A6) is deleted.
- `Nachgetragen` was planned since 2020-01-01 over A7; today it is recorded connected since
  2022-01-01 (a back-dated status).
- `Neu` is created today, connected since today, over A8.
- A9 lies in no area; A10 lies in the hamlet `Hof` (planned since 2020-01-01).

The figures each date must give are written out below as plain data, counted by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.db import history
from service.db.engine import transaction

AGS = "05999001"
NAME = "Zeitdorf"
SRID = 25832
X0, Y0 = 370000, 5750000


def box(*rects: tuple[float, float, float, float]) -> str:
    """Rectangles in metres from the town's corner, as one EWKT MultiPolygon."""
    polygons = []
    for x1, y1, x2, y2 in rects:
        a, b, c, d = X0 + x1, Y0 + y1, X0 + x2, Y0 + y2
        polygons.append(f"(({a} {b}, {c} {b}, {c} {d}, {a} {d}, {a} {b}))")
    return f"SRID={SRID};MULTIPOLYGON({', '.join(polygons)})"


def point(x: float, y: float) -> str:
    return f"SRID={SRID};POINT({X0 + x} {Y0 + y})"


# Addresses on a line, 100 m apart; West district left of x=550, Ost right of it.
ADDRESSES = {f"A{i}": point(i * 100, 500) for i in range(1, 11)}
DISTRICTS = {"West": box((0, 0, 550, 1000)), "Ost": box((550, 0, 1100, 1000))}
TOWN = box((0, 0, 1100, 1000))

# Areas as they stood before today's edits: name -> (status, status_since, outline).
AREAS_BEFORE = {
    "Umgebaut": ("connected", "2020-01-01", box((50, 450, 250, 550))),  # A1, A2
    "Geteilt": ("connected", "2020-03-01", box((350, 450, 550, 550))),  # A4, A5
    "Entfernt": ("under_construction", "2021-01-01", box((560, 450, 640, 550))),  # A6
    "Nachgetragen": ("planned", "2020-01-01", box((660, 450, 740, 550))),  # A7
}
HAMLET = ("Hof", "planned", "2020-01-01", box((960, 450, 1040, 550)))  # A10
REDRAWN_TO = box((50, 450, 150, 550), (250, 450, 350, 550))  # A1, A3
SPLIT_KEEP = box((350, 450, 450, 550))  # A4
SPLIT_PART = box((450, 450, 550, 550))  # A5 (A5 lies at x=500)
NEW_AREA = box((760, 450, 840, 550))  # A8
BACKDATED_SINCE = dt.date(2022, 1, 1)

# What each date must show, counted by hand: address -> best status.
YESTERDAY = {
    "A1": "connected",
    "A2": "connected",
    "A3": "none",
    "A4": "connected",
    "A5": "connected",
    "A6": "under_construction",
    "A7": "connected",  # the back-dated status reaches back to 2022
    "A8": "none",
    "A9": "none",
    "A10": "planned",
}
TODAY = YESTERDAY | {"A2": "none", "A3": "connected", "A6": "none", "A8": "connected"}
MID_2021 = YESTERDAY | {"A7": "planned"}  # before the back-dated connection
DISTRICT_OF = {name: "West" if int(name[1:]) <= 5 else "Ost" for name in ADDRESSES}

AREAS_YESTERDAY = {"Umgebaut", "Geteilt", "Entfernt", "Nachgetragen"}
AREAS_TODAY = {"Umgebaut", "Geteilt", "Geteilt (Teil 2)", "Nachgetragen", "Neu"}


def _insert_town(session: Session) -> int:
    history.mark_baseline(session, "municipality", None)
    m: int = session.execute(
        text("INSERT INTO municipality (ags, name, geom) VALUES (:a, :n, :g) RETURNING id"),
        {"a": AGS, "n": NAME, "g": TOWN},
    ).scalar_one()
    history.mark_baseline(session, "districts", m)
    for name, geom in DISTRICTS.items():
        session.execute(
            text("INSERT INTO districts (municipality_id, name, geom) VALUES (:m, :n, :g)"),
            {"m": m, "n": name, "g": geom},
        )
    history.mark_baseline(session, "addresses", m)
    for number, geom in ADDRESSES.items():
        session.execute(
            text(
                "INSERT INTO addresses (municipality_id, street, house_number, postcode, geom) "
                "VALUES (:m, 'Zeitweg', :n, '48653', :g)"
            ),
            {"m": m, "n": number, "g": geom},
        )
    for name, (status, since, geom) in AREAS_BEFORE.items():
        session.execute(
            text(
                "INSERT INTO areas (municipality_id, name, kind, status, status_since, "
                "provider, geom) VALUES (:m, :n, 'settlement', :s, :d, 'Zeitnetz', :g)"
            ),
            {"m": m, "n": name, "s": status, "d": since, "g": geom},
        )
    hamlet, status, since, geom = HAMLET
    session.execute(
        text(
            "INSERT INTO hamlets (municipality_id, name, status, status_since, geom) "
            "VALUES (:m, :n, :s, :d, :g)"
        ),
        {"m": m, "n": hamlet, "s": status, "d": since, "g": geom},
    )
    return m


def _edit_today(session: Session, m: int) -> None:
    def area(name: str) -> int:
        found: int = session.execute(
            text("SELECT id FROM areas WHERE municipality_id = :m AND name = :n"),
            {"m": m, "n": name},
        ).scalar_one()
        return found

    session.execute(
        text("UPDATE areas SET geom = :g WHERE id = :id"),
        {"g": REDRAWN_TO, "id": area("Umgebaut")},
    )
    # as the workspace splits: the feature keeps one part, a new one gets the other from now on
    session.execute(
        text("UPDATE areas SET geom = :g WHERE id = :id"),
        {"g": SPLIT_KEEP, "id": area("Geteilt")},
    )
    session.execute(
        text(
            "INSERT INTO areas (municipality_id, name, kind, status, status_since, provider, "
            "geom, valid_from) SELECT municipality_id, 'Geteilt (Teil 2)', kind, status, "
            "status_since, provider, :g, now() FROM areas WHERE id = :id"
        ),
        {"g": SPLIT_PART, "id": area("Geteilt")},
    )
    session.execute(text("DELETE FROM areas WHERE id = :id"), {"id": area("Entfernt")})
    session.execute(
        text("UPDATE areas SET status = 'connected', status_since = :d WHERE id = :id"),
        {"d": BACKDATED_SINCE, "id": area("Nachgetragen")},
    )
    session.execute(
        text(
            "INSERT INTO areas (municipality_id, name, kind, status, status_since, provider, "
            "geom) VALUES (:m, 'Neu', 'settlement', 'connected', current_date, 'Zeitnetz', :g)"
        ),
        {"m": m, "g": NEW_AREA},
    )


def remove(factory: sessionmaker[Session]) -> None:
    """Remove Zeitdorf and its past."""
    with transaction(factory, "test-suite") as session:
        ids = list(
            session.execute(
                text("SELECT id FROM municipality WHERE ags = :a"), {"a": AGS}
            ).scalars()
        )
        if not ids:
            return
        history.forget(session)
        for table in ("addresses", "areas", "hamlets", "schools", "districts"):
            session.execute(
                text(f"DELETE FROM {table} WHERE municipality_id = ANY(:m)"), {"m": ids}
            )
        session.execute(text("DELETE FROM municipality WHERE id = ANY(:m)"), {"m": ids})
        session.execute(text("SELECT broadband_touch()"))


@contextmanager
def zeitdorf(factory: sessionmaker[Session]) -> Iterator[int]:
    """Build Zeitdorf (its past, then today's edits), yield its id, remove it afterwards."""
    remove(factory)
    with transaction(factory, "test-suite") as session:
        m = _insert_town(session)
    with transaction(factory, "test-suite") as session:
        _edit_today(session, m)
    try:
        yield m
    finally:
        remove(factory)
