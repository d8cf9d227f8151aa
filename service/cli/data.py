"""Data in and out: seed a package, import a delivery, export every layer."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from service.auth.tokens import Principal
from service.cli.output import console, fail, spinner
from service.core.errors import DomainError
from service.core.limits import ImportLimits
from service.core.settings import Settings
from service.db.engine import make_engine, make_sessionmaker
from service.db.models import Import
from service.layers import Role
from service.packages import deliveries
from service.packages.columns import Mapping
from service.packages.diff import LayerDiff
from service.packages.export_queries import package_frames
from service.packages.exports import ExportFormat, write_package
from service.packages.importing import ImportRequest, Match
from service.packages.seeding import seed as seed_package
from service.packages.sources import ReadOptions
from service.web.bodies import too_large


def _diff_table(diffs: dict[str, LayerDiff]) -> Table:
    table = Table("layer", "added", "changed", "removed", "unchanged", title="seeded")
    for layer, diff in diffs.items():
        counts = (diff.inserted, diff.updated, diff.deleted, diff.unchanged)
        table.add_row(layer, *(f"{count:,}" for count in counts))
    return table


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
        with spinner() as progress:
            task = progress.add_task(f"seeding from {source}")
            diffs = seed_package(
                make_sessionmaker(engine),
                source,
                actor or f"cli:{getpass.getuser()}",
                only_if_empty=if_empty,
                step=lambda msg: progress.update(task, description=msg),
            )
    except DomainError as error:
        raise fail(error) from error
    if diffs is None:
        console.print("database already holds a municipality; nothing seeded")
        return
    console.print(_diff_table(diffs))


def _preview_table(record: Import) -> Table:
    counts = record.preview["counts"]
    table = Table(
        "",
        "features",
        title=f"import {record.public_id}: {record.file_name} → {record.layer}",
        box=box.SIMPLE_HEAD,
    )
    table.add_row("added", f"{counts['added']:,}")
    table.add_row("changed", f"{counts['changed']:,}")
    table.add_row("unchanged", f"{counts['unchanged']:,}")
    table.add_row(
        f"missing from the file ({record.preview['missing_will_be']})", f"{counts['missing']:,}"
    )
    return table


def _status_dates(preview: dict[str, Any]) -> str | None:
    """Where the statuses take their dates from: `status dates: 3 today, 20 unchanged`."""
    dates = preview.get("status_dates")
    if dates is None:
        return None
    names = {"--status-since": f"--status-since {dates['given']}", "file": "from the file"}
    counts = [f"{n:,} {names.get(source, source)}" for source, n in dates["counts"].items() if n]
    return "status dates: " + (", ".join(counts) or "none")


def _dated(entry: dict[str, Any]) -> str:
    """The date a new or changed status gets and where it came from: ` [since … (today)]`."""
    dated = entry.get("status_date")
    if dated is None or dated["from"] == "unchanged":
        return ""
    return f" [status since {dated['date']} ({dated['from']})]"


def _print_preview(record: Import) -> None:
    console.print(_preview_table(record))
    if (dates := _status_dates(record.preview)) is not None:
        console.print(dates, highlight=False)
    for entry in record.preview["added"][:50]:
        console.print(f"  + {entry['feature']}{_dated(entry)}", highlight=False, markup=False)
    for entry in record.preview["changed"][:50]:
        fields = ", ".join(f"{k}: {v['old']} → {v['new']}" for k, v in entry["fields"].items())
        if entry["geometry_changed"]:
            moved = f"geometry moved up to {entry['moved_m']:,} m"
            if "area_change_m2" in entry:
                moved += f", area {entry['area_change_m2']:+,} m²"
            fields += ("; " if fields else "") + moved
        line = f"  ~ #{entry['id']} {entry['feature']}: {fields}{_dated(entry)}"
        console.print(line, highlight=False, markup=False)  # names may hold [brackets]
    for entry in record.preview["missing"][:50]:
        sign = "-" if record.delete_missing else "="
        console.print(f"  {sign} #{entry['id']} {entry['feature']}", highlight=False)


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
    status_since: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d", "%d.%m.%Y"],
            help="Date of every new or changed status without one (default: today)",
        ),
    ] = None,
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
    actor: Annotated[str | None, typer.Option(help="Name recorded in the change log")] = None,
) -> None:
    """Import a provider's delivery into one layer: preview the diff, then apply it whole."""
    settings = Settings()
    try:
        size = file.stat().st_size if file.is_file() else 0
        if size > settings.max_import_bytes:
            raise too_large(
                file.name, "file", settings.max_import_bytes, "BROADBAND_MAX_IMPORT_BYTES"
            )
        request = ImportRequest(
            path=file,
            layer=layer,
            match=match,
            delete_missing=delete_missing,
            read=ReadOptions(source_layer=source_layer, crs=crs, encoding=encoding),
            mapping=Mapping.from_toml(mapping) if mapping else Mapping(),
            limit=settings.max_import_bytes,
            limits=ImportLimits.from_settings(settings),
            status_since=status_since.date() if status_since else None,
        )
        who = actor or f"cli:{getpass.getuser()}"
        factory = make_sessionmaker(make_engine(settings))
        record = deliveries.preview(factory, request, who, ags)
        _print_preview(record)
        if dry_run:
            later = f"POST /imports/{record.public_id}/commit"
            console.print(f"dry run: no feature changed (to apply it later: {later})")
            return
        deliveries.commit(
            factory, record.public_id, Principal(who, Role.ADMIN)
        )  # the server's shell
    except DomainError as error:
        raise fail(error) from error
    console.print(f"[green]imported[/] {file.name} into {layer} (import {record.public_id})")


def export_command(
    out: Annotated[
        Path, typer.Argument(help="FILE.gpkg, or a folder (or FOLDER.zip) for the rest")
    ],
    output: Annotated[ExportFormat, typer.Option("--format", help="File format")] = (
        ExportFormat.GPKG
    ),
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Every layer as it stood that date (default: today)"
        ),
    ] = None,
) -> None:
    """Write every layer of the municipality; `broadband seed` or `import` reads it back."""
    try:
        with make_sessionmaker(make_engine(Settings()))() as session:
            frames = package_frames(session, ags, as_of.date() if as_of else None)
    except DomainError as error:
        raise fail(error) from error
    written = write_package(frames, output, out)
    counts = ", ".join(f"{layer} {len(frame):,}" for layer, frame in frames.items())
    console.print(f"wrote {written} ({counts})")
