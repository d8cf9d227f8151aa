"""No statement holds a backend for long: a short statement_timeout, a longer one for imports."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.core.settings import Settings
from service.db.engine import make_engine, make_sessionmaker, snapshot, timed_out, transaction


def test_every_connection_carries_the_request_timeout(settings: Settings) -> None:
    engine = make_engine(settings, 250)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "250ms"
            with pytest.raises(OperationalError) as cancelled:
                connection.execute(text("SELECT pg_sleep(2)"))
        assert timed_out(cancelled.value)
    finally:
        engine.dispose()


def test_the_service_uses_the_15_s_default_and_the_command_line_none(settings: Settings) -> None:
    served = make_engine(settings, settings.statement_timeout_ms)
    command_line = make_engine(settings)
    try:
        with served.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "15s"
        with command_line.connect() as connection:  # a seed or rebuild may take minutes
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "0"
    finally:
        served.dispose()
        command_line.dispose()


def test_a_transaction_may_set_its_own_longer_timeout(settings: Settings) -> None:
    engine = make_engine(settings, settings.statement_timeout_ms)
    factory = make_sessionmaker(engine)
    with transaction(factory, "test", statement_timeout_ms=300_000) as session:
        assert session.execute(text("SHOW statement_timeout")).scalar() == "5min"
    with (
        pytest.raises(OperationalError) as cancelled,
        snapshot(factory, statement_timeout_ms=100) as session,
    ):
        session.execute(text("SELECT pg_sleep(2)"))
    assert timed_out(cancelled.value)
    with factory() as session:  # the next transaction on the connection has the pool's again
        assert session.execute(text("SHOW statement_timeout")).scalar() == "15s"
    engine.dispose()


def test_a_lost_connection_is_no_timeout(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
            with make_sessionmaker(engine)() as other, pytest.raises(OperationalError) as lost:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()
                connection.execute(text("SELECT 1"))
        assert not timed_out(lost.value)
    finally:
        engine.dispose()
