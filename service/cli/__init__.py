"""The `broadband` command: set up the database, migrate, seed and serve."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich import box
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.auth import queries as token_store
from service.core.errors import DomainError, InvalidDataError, PayloadTooLargeError, Problem
from service.core.settings import Settings
from service.coverage import figures, reports
from service.coverage.rules import STATUS_ORDER, Breakdown, Unit
from service.db import schema
from service.db.engine import make_engine, make_sessionmaker, transaction, wait_for
from service.db.models import Import
from service.layers import Role
from service.main import create_app, static_assets
from service.maps import pages
from service.maps.webmap import MapOptions
from service.ops.provisioning import db_up
from service.packages import deliveries
from service.packages.columns import Mapping
from service.packages.diff import LayerDiff
from service.packages.export_queries import package_frames
from service.packages.exports import ExportFormat, write_package
from service.packages.importing import ImportRequest, Match
from service.packages.seeding import seed as seed_package
from service.packages.sources import ReadOptions

app = typer.Typer(help="Broadband coverage service.", no_args_is_help=True)
db_app = typer.Typer(help="The PostGIS database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
token_app = typer.Typer(
    help="API tokens for writes (the secret is shown once).", no_args_is_help=True
)
app.add_typer(token_app, name="token")
console = Console()
errors = Console(stderr=True)


def _fail(error: DomainError) -> typer.Exit:
    text = error.describe() if isinstance(error, InvalidDataError) else str(error)
    errors.print(f"[bold red]error:[/] {text}", highlight=False, markup=True)
    return typer.Exit(code=1)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )


@db_app.command("up")
def db_up_command(
    env_file: Annotated[Path, typer.Option(help="Where to keep the connection settings")] = Path(
        ".env"
    ),
) -> None:
    """Make a PostGIS database available (local cluster, or check DATABASE_URL)."""
    try:
        with _progress() as progress:
            task = progress.add_task("bringing up PostGIS")
            report = db_up(env_file, lambda msg: progress.update(task, description=msg))
    except DomainError as error:
        raise _fail(error) from error
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
        raise _fail(error) from error
    console.print("database is reachable")


@app.command()
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
        raise _fail(error) from error


def _diff_table(diffs: dict[str, LayerDiff]) -> Table:
    table = Table("layer", "added", "changed", "removed", "unchanged", title="seeded")
    for layer, diff in diffs.items():
        counts = (diff.inserted, diff.updated, diff.deleted, diff.unchanged)
        table.add_row(layer, *(f"{count:,}" for count in counts))
    return table


@app.command()
def seed(
    path: Annotated[Path | None, typer.Argument(help="Package directory or GeoPackage")] = None,
    if_empty: Annotated[bool, typer.Option(help="Only when no municipality is loaded")] = False,
    actor: Annotated[str | None, typer.Option(help="Name recorded in the change log")] = None,
) -> None:
    """Load a municipality data package, replacing that municipality's data (all or nothing)."""
    settings = Settings()
    source = path or settings.default_package
    try:
        engine = make_engine(settings)
        with _progress() as progress:
            task = progress.add_task(f"seeding from {source}")
            diffs = seed_package(
                make_sessionmaker(engine),
                source,
                actor or f"cli:{getpass.getuser()}",
                only_if_empty=if_empty,
                step=lambda msg: progress.update(task, description=msg),
            )
    except DomainError as error:
        raise _fail(error) from error
    if diffs is None:
        console.print("database already holds a municipality; nothing seeded")
        return
    console.print(_diff_table(diffs))


class OutputFormat(StrEnum):
    """How `broadband coverage` prints."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


SHORT_STATUS = {
    "under_construction": "constr.",
    "in_preparation": "prep.",
    "planned": "planned",
    "insufficient_demand": "low dem.",
    "none": "none",
}


def _coverage_table(units: list[Unit]) -> Table:
    day = units[0].as_of.isoformat() if units else "-"
    table = Table(
        title=f"Address coverage on {day}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("unit", max_width=14, overflow="fold")
    for header in ("connected", "total", "%", *SHORT_STATUS.values()):
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for unit in units:
        figure = unit.addresses
        counts = [f"{figure.by_status[status]:,}" for status in STATUS_ORDER[1:]]
        table.add_row(
            unit.name,
            f"{figure.numerator:,}",
            f"{figure.denominator:,}",
            f"{figure.share_pct:.2f}",
            *counts,
        )
    return table


@app.command()
def coverage(
    as_of: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Date (default: today)")
    ] = None,
    by: Annotated[Breakdown | None, typer.Option(help="Break down by unit")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output")] = OutputFormat.TABLE,
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
) -> None:
    """Print address coverage for the municipality or per district, hamlet, kind or provider."""
    day = as_of.date() if as_of else None
    try:
        engine = make_engine(Settings())
        with make_sessionmaker(engine)() as session:
            if by is None:
                found = [figures.municipality_unit(session, ags, day)]
            else:
                found = figures.units(session, by, ags, day)
    except DomainError as error:
        raise _fail(error) from error
    if output is OutputFormat.JSON:
        print(json.dumps([reports.unit_json(u) for u in found], default=str, ensure_ascii=False))
    elif output is OutputFormat.CSV:
        sys.stdout.write(reports.units_csv(found))
    else:
        console.print(_coverage_table(found))


@app.command("map")
def map_command(
    out: Annotated[Path, typer.Option("--out", help="FILE.png (print) or FILE.html (web map)")],
    as_of: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Date (default: today)")
    ] = None,
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
) -> None:
    """Write the map for the council report (PNG) or a standalone web map (HTML)."""
    if out.suffix.lower() not in {".png", ".html"}:
        errors.print(f"[bold red]error:[/] --out must end in .png or .html, got {out.name}")
        raise typer.Exit(code=2)
    settings = Settings()
    day = as_of.date() if as_of else None
    try:
        with make_sessionmaker(make_engine(settings))() as session:
            if out.suffix.lower() == ".png":
                out.write_bytes(pages.print_page(session, ags, day))
            else:
                options = MapOptions(
                    as_of=dt.date.today(),
                    basemap_url=settings.basemap,
                    basemap_attribution=settings.basemap_attribution,
                )
                page = pages.map_page(session, ags, day, options)
                out.write_text(pages.standalone(page, static_assets(settings)), encoding="utf-8")
    except DomainError as error:
        raise _fail(error) from error
    console.print(f"wrote {out}")


def _preview_table(record: Import) -> Table:
    counts = record.preview["counts"]
    table = Table(
        "",
        "features",
        title=f"import {record.id}: {record.file_name} → {record.layer}",
        box=box.SIMPLE_HEAD,
    )
    table.add_row("added", f"{counts['added']:,}")
    table.add_row("changed", f"{counts['changed']:,}")
    table.add_row("unchanged", f"{counts['unchanged']:,}")
    table.add_row(
        f"missing from the file ({record.preview['missing_will_be']})", f"{counts['missing']:,}"
    )
    return table


def _print_preview(record: Import) -> None:
    console.print(_preview_table(record))
    for entry in record.preview["added"][:50]:
        console.print(f"  + {entry['feature']}", highlight=False)
    for entry in record.preview["changed"][:50]:
        fields = ", ".join(f"{k}: {v['old']} → {v['new']}" for k, v in entry["fields"].items())
        if entry["geometry_changed"]:
            delta = entry.get("area_change_m2", entry.get("moved_m"))
            fields += ("; " if fields else "") + f"geometry changed ({delta:+,})"
        console.print(f"  ~ #{entry['id']} {entry['feature']}: {fields}", highlight=False)
    for entry in record.preview["missing"][:50]:
        sign = "-" if record.delete_missing else "="
        console.print(f"  {sign} #{entry['id']} {entry['feature']}", highlight=False)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="GeoPackage, zipped Shapefile, GeoJSON, CSV, XLSX")],
    layer: Annotated[str, typer.Option(help="areas, hamlets, schools, districts or addresses")],
    dry_run: Annotated[bool, typer.Option(help="Only show what would change")] = False,
    match: Annotated[Match, typer.Option(help="Find stored features by name or external_id")] = (
        Match.NAME
    ),
    mapping: Annotated[Path | None, typer.Option(help="TOML with more column names/values")] = None,
    delete_missing: Annotated[bool, typer.Option(help="Delete features not in the file")] = False,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that declares none")] = None,
    source_layer: Annotated[str | None, typer.Option(help="Layer inside a GeoPackage")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding, e.g. cp1252")] = None,
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
    actor: Annotated[str | None, typer.Option(help="Name recorded in the change log")] = None,
) -> None:
    """Import a provider's delivery into one layer: preview the diff, then apply it whole."""
    settings = Settings()
    try:
        size = file.stat().st_size if file.is_file() else 0
        if size > settings.max_import_bytes:
            raise PayloadTooLargeError(
                [
                    Problem(
                        file.name,
                        None,
                        None,
                        f"{size:,} bytes; the limit is "
                        f"{settings.max_import_bytes:,} (BROADBAND_MAX_IMPORT_BYTES)",
                    )
                ],
                "file too large",
            )
        request = ImportRequest(
            path=file,
            layer=layer,
            match=match,
            delete_missing=delete_missing,
            read=ReadOptions(source_layer=source_layer, crs=crs, encoding=encoding),
            mapping=Mapping.from_toml(mapping) if mapping else Mapping(),
            limit=settings.max_import_bytes,
        )
        who = actor or f"cli:{getpass.getuser()}"
        factory = make_sessionmaker(make_engine(settings))
        record = deliveries.preview(factory, request, who, ags)
        _print_preview(record)
        if dry_run:
            console.print(
                f"dry run: no feature changed (to apply it later: POST /imports/{record.id}/commit)"
            )
            return
        deliveries.commit(factory, record.id, who)
    except DomainError as error:
        raise _fail(error) from error
    console.print(f"[green]imported[/] {file.name} into {layer} (import {record.id})")


@app.command("export")
def export_command(
    out: Annotated[
        Path, typer.Argument(help="FILE.gpkg, or a folder (or FOLDER.zip) for the rest")
    ],
    output: Annotated[ExportFormat, typer.Option("--format", help="File format")] = (
        ExportFormat.GPKG
    ),
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
) -> None:
    """Write every layer of the municipality; `broadband seed` or `import` reads it back."""
    try:
        with make_sessionmaker(make_engine(Settings()))() as session:
            frames = package_frames(session, ags)
    except DomainError as error:
        raise _fail(error) from error
    written = write_package(frames, output, out)
    counts = ", ".join(f"{layer} {len(frame):,}" for layer, frame in frames.items())
    console.print(f"wrote {written} ({counts})")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who holds it; becomes the actor in the change log")],
    role: Annotated[Role, typer.Option(help="editor: areas, hamlets, schools; admin: all")] = (
        Role.EDITOR
    ),
) -> None:
    """Create a token and print its secret once; only a hash is stored."""
    try:
        with transaction(make_sessionmaker(make_engine(Settings())), "cli") as session:
            secret = token_store.create(session, name, role)
    except DomainError as error:
        raise _fail(error) from error
    errors.print(f"token [bold]{name}[/] ({role}) created; keep the secret, it is not shown again:")
    print(secret)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name")]) -> None:
    """Revoke a token; requests with it are refused from now on."""
    try:
        with transaction(make_sessionmaker(make_engine(Settings())), "cli") as session:
            token_store.revoke(session, name)
    except DomainError as error:
        raise _fail(error) from error
    console.print(f"token {name} revoked")


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    try:
        with make_sessionmaker(make_engine(Settings()))() as session:
            found = token_store.listing(session)
    except DomainError as error:
        raise _fail(error) from error
    table = Table("name", "role", "created", "revoked", box=box.SIMPLE_HEAD)
    for info in found:
        revoked = info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else ""
        table.add_row(info.name, info.role, info.created_at.isoformat(timespec="seconds"), revoked)
    console.print(table)


@app.command()
def serve(
    port: Annotated[int, typer.Option(envvar="PORT", help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
) -> None:
    """Run the HTTP service."""
    if reload:
        uvicorn.run("service.main:create_app", factory=True, host=host, port=port, reload=True)
        return
    uvicorn.run(create_app(Settings()), host=host, port=port, proxy_headers=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
