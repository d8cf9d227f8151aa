"""The database keeps every version of a feature with its period, in the edit's transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.coverage import queries
from service.coverage.rules import STATUS_OF_RANK
from tests import timemachine
from tests.timemachine import DISTRICT_OF, MID_2021, TODAY, YESTERDAY


def _today(session: Session) -> dt.date:
    day: dt.date = session.execute(text("SELECT current_date")).scalar_one()
    return day


def _state(session: Session, m: int, day: dt.date) -> dict[str, tuple[str, str]]:
    rows = session.execute(
        text(
            "SELECT a.house_number, d.name, c.best_rank FROM broadband_coverage_at(:m, :d) c "
            "JOIN broadband_addresses_at(:d) a ON a.id = c.address_id "
            "LEFT JOIN districts d ON d.id = c.district_id"
        ),
        {"m": m, "d": day},
    ).all()
    return {number: (district, STATUS_OF_RANK[rank]) for number, district, rank in rows}


def _expected(statuses: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {name: (DISTRICT_OF[name], status) for name, status in statuses.items()}


def test_each_date_gives_the_state_of_that_date(
    factory: sessionmaker[Session], zeitdorf: int
) -> None:
    with factory() as session:
        today = _today(session)
        assert _state(session, zeitdorf, today - dt.timedelta(days=1)) == _expected(YESTERDAY)
        assert _state(session, zeitdorf, dt.date(2021, 6, 1)) == _expected(MID_2021)
        assert _state(session, zeitdorf, today) == _expected(TODAY)


def test_the_state_of_today_agrees_with_the_maintained_state(
    factory: sessionmaker[Session], zeitdorf: int
) -> None:
    with factory() as session:
        today = _today(session)
        maintained: dict[str, int] = dict(
            session.execute(
                text(
                    "SELECT a.house_number, c.best_rank FROM address_coverage c "
                    "JOIN addresses a ON a.id = c.address_id WHERE c.municipality_id = :m"
                ),
                {"m": zeitdorf},
            ).all()
        )
        assert {k: v[1] for k, v in _state(session, zeitdorf, today).items()} == {
            k: STATUS_OF_RANK[r] for k, r in maintained.items()
        }


def test_areas_of_each_date(factory: sessionmaker[Session], zeitdorf: int) -> None:
    with factory() as session:
        today = _today(session)

        def names(day: dt.date) -> set[str]:
            return set(
                session.execute(
                    text("SELECT name FROM broadband_areas_at(:d) WHERE municipality_id = :m"),
                    {"d": day, "m": zeitdorf},
                ).scalars()
            )

        assert names(today - dt.timedelta(days=1)) == timemachine.AREAS_YESTERDAY
        assert names(today) == timemachine.AREAS_TODAY
        assert names(dt.date(2020, 2, 1)) == {"Umgebaut", "Nachgetragen"}
        assert names(dt.date(2019, 12, 31)) == set()


def _counts_from_geometry(
    session: Session, m: int, day: dt.date
) -> dict[tuple[int | None, int], int]:
    rows = session.execute(
        text(
            "SELECT district_id, best_rank, count(*) FROM broadband_coverage_at(:m, :d) "
            "GROUP BY 1, 2"
        ),
        {"m": m, "d": day},
    ).all()
    return {(district, rank): count for district, rank, count in rows}


def _counts_from_states(
    session: Session, m: int, day: dt.date
) -> dict[tuple[int | None, int], int]:
    return {
        (district, rank): count
        for district, ranks in queries.counts_by_district(session, m, day).items()
        for rank, count in ranks.items()
    }


@pytest.mark.parametrize("town", ["Zeitdorf", "Coesfeld"])
def test_the_kept_address_states_agree_with_the_state_of_each_date(
    factory: sessionmaker[Session], zeitdorf: int, town: str
) -> None:
    with factory() as session:
        m = session.execute(
            text("SELECT id FROM municipality WHERE name = :n"), {"n": town}
        ).scalar_one()
        today = _today(session)
        days = [dt.date(2019, 6, 1), dt.date(2021, 6, 1), dt.date(2023, 12, 31)]
        days += [today - dt.timedelta(days=1), today]
        for day in days:
            assert _counts_from_states(session, m, day) == _counts_from_geometry(session, m, day), (
                day
            )
        open_states = session.execute(
            text(
                "SELECT address_id, district_id, best_rank FROM address_states "
                "WHERE municipality_id = :m AND until IS NULL ORDER BY 1"
            ),
            {"m": m},
        ).all()
        maintained = session.execute(
            text(
                "SELECT address_id, district_id, best_rank FROM address_coverage "
                "WHERE municipality_id = :m ORDER BY 1"
            ),
            {"m": m},
        ).all()
        assert open_states == maintained


def test_a_transaction_of_many_edits_holds_few_locks(db: Session, zeitdorf: int) -> None:
    """Each edit recomputes address states in helper tables; a long transaction (an import, a
    script) must not gather a lock per edit until the server's lock table is full."""
    ids = list(
        db.execute(
            text("SELECT id FROM addresses WHERE municipality_id = :m"), {"m": zeitdorf}
        ).scalars()
    )
    for step in range(50):
        db.execute(
            text("UPDATE addresses SET street = :s WHERE id = :id"),
            {"s": f"Zeitweg {step}", "id": ids[step % len(ids)]},
        )
    held = db.execute(
        text("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()")
    ).scalar_one()
    assert held < 200
