"""Alembic, driven from Python: upgrade, downgrade and 'is this database migrated?'."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from service.core.settings import PROJECT_ROOT


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration for the project's migrations, optionally at a given database."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to `revision` (`base` removes every table)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every revision the code has a migration for, so a newer database can be told apart."""
    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None when never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def readiness(engine: Engine) -> str | None:
    """Why the database cannot serve requests right now, or None when it can."""
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return f"database unreachable: {type(cause).__name__}"
    head = head_revision()
    if current != head:
        return f"database schema is at revision {current}, expected {head}: run `broadband migrate`"
    return None
