"""Engine and sessions: one pool per process, opened by the app lifespan or the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.core.errors import DatabaseUnavailableError
from service.core.settings import Settings


def make_engine(settings: Settings) -> Engine:
    """Create the engine; pre-ping so a restarted database is picked up without restarting us."""
    return create_engine(
        settings.require_database_url(),
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        connect_args={"connect_timeout": settings.db_connect_timeout_s},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so results can be serialised afterwards."""
    return sessionmaker(engine, expire_on_commit=False)


def set_actor(session: Session, actor: str) -> None:
    """Name who is writing in this transaction; the change-log triggers record it."""
    session.execute(text("SELECT set_config('broadband.actor', :actor, true)"), {"actor": actor})


@contextmanager
def transaction(factory: sessionmaker[Session], actor: str) -> Iterator[Session]:
    """The one place that commits: a unit of work that is written whole or not at all."""
    with factory() as session, session.begin():
        set_actor(session, actor)
        yield session


@contextmanager
def snapshot(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only unit of work that sees one consistent state of the database throughout."""
    with factory() as session, session.begin():
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        yield session


def wait_for(engine: Engine, timeout_s: float, interval_s: float = 1.0) -> None:
    """Block until the database answers, so a container can start before its database is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                raise DatabaseUnavailableError(
                    f"database did not answer within {timeout_s:.0f} s: {exc.orig}"
                ) from exc
            time.sleep(interval_s)
