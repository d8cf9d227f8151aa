"""Engine and sessions: one pool per process, opened by the app lifespan or the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.errors import QueryCanceled
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.core.errors import DatabaseUnavailableError
from service.core.settings import Settings


def make_engine(settings: Settings, statement_timeout_ms: int | None = None) -> Engine:
    """Create the engine; pre-ping so a restarted database is picked up without restarting us.

    The service passes `BROADBAND_STATEMENT_TIMEOUT_MS`: every statement on its connections is
    cancelled after it, so no request holds a backend for long (an import sets its longer limit
    per transaction). The command line passes nothing: a seed or a rebuild may take minutes.
    """
    # No JIT: the date functions' row estimates are far off, and compiling for them cost more
    # than running them (0.5 s of a 0.75 s change summary); no query here is long enough to gain.
    options = "-c jit=off"
    if statement_timeout_ms:
        options += f" -c statement_timeout={statement_timeout_ms}"
    connect_args: dict[str, object] = {
        "connect_timeout": settings.db_connect_timeout_s,
        "options": options,
    }
    return create_engine(
        settings.require_database_url(),
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args=connect_args,
    )


def timed_out(error: OperationalError) -> bool:
    """Whether PostgreSQL cancelled the statement (statement_timeout), not lost the connection."""
    return isinstance(error.orig, QueryCanceled)


def set_statement_timeout(session: Session, milliseconds: int | None) -> None:
    """This transaction's statement_timeout (0: none); None keeps the connection's."""
    if milliseconds is not None:
        session.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(milliseconds)}
        )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so results can be serialised afterwards."""
    return sessionmaker(engine, expire_on_commit=False)


def set_actor(session: Session, actor: str) -> None:
    """Name who is writing in this transaction; the change-log triggers record it."""
    session.execute(text("SELECT set_config('broadband.actor', :actor, true)"), {"actor": actor})


@contextmanager
def transaction(
    factory: sessionmaker[Session], actor: str, statement_timeout_ms: int | None = None
) -> Iterator[Session]:
    """The one place that commits: a unit of work that is written whole or not at all.

    `statement_timeout_ms` replaces the connection's statement timeout for this transaction
    (an import's longer `BROADBAND_IMPORT_STATEMENT_TIMEOUT_MS`).
    """
    with factory() as session, session.begin():
        set_actor(session, actor)
        set_statement_timeout(session, statement_timeout_ms)
        yield session


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """Reads of independent statements, each its own snapshot, outside a transaction
    (autocommit): a request asking one or two questions pays no BEGIN and ROLLBACK round trips."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with connection, Session(bind=connection) as session:
        yield session


@contextmanager
def snapshot(
    factory: sessionmaker[Session], statement_timeout_ms: int | None = None
) -> Iterator[Session]:
    """A read-only unit of work that sees one consistent state of the database throughout."""
    with factory() as session, session.begin():
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        set_statement_timeout(session, statement_timeout_ms)
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
