"""What changed between two dates on the command line, the same as `GET /changes/summary`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from service.cli.output import console, fail
from service.core.errors import DomainError
from service.core.settings import Settings
from service.db.engine import make_engine, make_sessionmaker
from service.history import compare
from service.history.summary import ChangeSummary, UnitCoverage


def _table(title: str, *headers: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in headers:
        right = header in ("id", "m²", "m", "from", "to", "+/-")
        table.add_column(header, justify="right" if right else "left")
    return table


def _features(found: ChangeSummary) -> Table:
    """One row per feature added, removed or redrawn, with how much a redrawn one changed."""
    table = _table("Features", "collection", "change", "id", "name", "m²", "m")
    for changes in found.collections:
        for kind, listed in (
            ("added", changes.added),
            ("removed", changes.removed),
            ("redrawn", changes.redrawn),
        ):
            for f in listed:
                area = "" if f.area_change_m2 is None else f"{f.area_change_m2:+,.0f}"
                moved = "" if f.moved_m is None else f"{f.moved_m:,.1f}"
                table.add_row(changes.collection, kind, str(f.id), f.name, area, moved)
    return table


def _statuses(found: ChangeSummary) -> Table:
    """Status changes from one date to the other, then every status dated in between."""
    table = _table("Statuses", "collection", "name", "old", "new", "since")
    for p in found.status_changes:
        table.add_row(p.collection, p.name, p.before, p.after, p.since.isoformat())
    for v in found.status_versions:
        table.add_row(v.collection, v.name, "(dated)", v.status, v.since.isoformat())
    return table


def _coverage(found: ChangeSummary) -> Table:
    """Connected of all addresses at both dates, for the town, its districts and hamlets."""
    table = _table("Connected addresses", "unit", "from", "to", "+/-")

    def row(unit: UnitCoverage, prefix: str = "") -> None:
        before, after = unit.before, unit.after
        table.add_row(
            prefix + unit.name,
            f"{before.connected:,}/{before.total:,}",
            f"{after.connected:,}/{after.total:,}",
            f"{unit.difference:+,}",
        )

    row(found.municipality)
    for unit in found.districts:
        row(unit, "district ")
    for unit in found.hamlets:
        row(unit, "hamlet ")
    return table


def changes(
    start: Annotated[
        dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="Earlier date")
    ],
    end: Annotated[
        dt.datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Later date (default: today)"),
    ] = None,
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Print what changed between two dates: features, statuses, connected addresses."""
    try:
        with make_sessionmaker(make_engine(Settings()))() as session:
            found = compare.summary(session, ags, start.date(), end.date() if end else None)
    except DomainError as error:
        raise fail(error) from error
    if as_json:
        print(json.dumps(found.as_json(), ensure_ascii=False))
        return
    console.print(f"{found.name} ({found.ags}): {found.start} → {found.end}")
    for table in (_features(found), _statuses(found), _coverage(found)):
        console.print(table)
