"""`broadband backup OUT` and `broadband restore IN`: the whole database in one file and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.output import console, fail, spinner
from service.core.errors import DomainError
from service.core.settings import Settings
from service.ops import backup


def backup_command(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="File to write (replaced whole)")],
) -> None:
    """Write the database (pg_dump custom format) and a manifest of it to one file OUT."""
    try:
        with spinner() as progress:
            progress.add_task("backing up the database")
            manifest = backup.backup(out, Settings())
    except DomainError as error:
        raise fail(error) from error
    console.print(
        f"backup written to {out}: schema revision {manifest.alembic_revision}, "
        f"{len(manifest.row_counts)} tables, {manifest.rows:,} rows, "
        f"data version {manifest.data_version}",
        highlight=False,
    )


def restore_command(
    source: Annotated[
        Path, typer.Argument(metavar="IN", help="A file written by `broadband backup`")
    ],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace what the database holds instead of refusing"),
    ] = False,
) -> None:
    """Restore a backup into an empty database (all or nothing), then migrate to the newest."""
    try:
        with spinner() as progress:
            progress.add_task("restoring the database")
            report = backup.restore(source, Settings(), replace=replace)
    except DomainError as error:
        raise fail(error) from error
    manifest = report.manifest
    replaced = f", replacing {len(report.replaced)} objects" if report.replaced else ""
    console.print(
        f"restored {len(manifest.row_counts)} tables, {manifest.rows:,} rows as counted in the "
        f"manifest (backup of {manifest.created_at:%Y-%m-%d %H:%M} UTC{replaced}); "
        f"database at revision {report.revision}",
        highlight=False,
    )
