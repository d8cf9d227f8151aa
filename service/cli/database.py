"""The PostGIS database: bring it up, wait for it, migrate it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.output import console, fail, spinner
from service.core.errors import DomainError
from service.core.settings import Settings
from service.db import schema
from service.db.engine import make_engine, wait_for
from service.ops.provisioning import db_up

db_app = typer.Typer(help="The PostGIS database.", no_args_is_help=True)


@db_app.command("up")
def db_up_command(
    env_file: Annotated[Path, typer.Option(help="Where to keep the connection settings")] = Path(
        ".env"
    ),
) -> None:
    """Make a PostGIS database available (local cluster, or check DATABASE_URL)."""
    try:
        with spinner() as progress:
            task = progress.add_task("bringing up PostGIS")
            report = db_up(env_file, lambda msg: progress.update(task, description=msg))
    except DomainError as error:
        raise fail(error) from error
    for action in report.actions:
        console.print(f"  • {action}")
    where = report.database_url.rsplit("@", 1)[-1]
    console.print(
        f"[green]PostGIS ready[/] at {where}" + ("" if report.actions else " (unchanged)")
    )


@db_app.command("wait")
def db_wait(
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most")] = 60,
) -> None:
    """Wait until the database answers (for containers that start before their database)."""
    try:
        wait_for(make_engine(Settings()), timeout)
    except DomainError as error:
        raise fail(error) from error
    console.print("database is reachable")


def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION")] = False,
) -> None:
    """Bring the database schema to a revision (default: the newest)."""
    try:
        engine = make_engine(Settings())
        (schema.downgrade if down else schema.upgrade)(engine, revision)
        with engine.connect() as connection:
            console.print(f"database at revision {schema.current_revision(connection)}")
    except DomainError as error:
        raise fail(error) from error
