"""Coverage figures on the command line: a table, JSON or CSV."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from service.cli.output import console, fail
from service.core.errors import DomainError
from service.core.settings import Settings
from service.coverage import figures, reports
from service.coverage.rules import STATUS_ORDER, Breakdown, HamletUnit, Unit
from service.db.engine import make_engine, make_sessionmaker


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


def _demand_cells(unit: Unit) -> list[str]:
    """Sign-ups, quota (* = the default) and missing sign-ups of a hamlet."""
    if not isinstance(unit, HamletUnit):
        return []
    share = "-" if unit.demand_share is None else f"{100 * unit.demand_share:.1f}"
    quota = f"{100 * unit.demand_quota:.0f}" + ("*" if unit.demand_quota_default else "")
    gap = "-" if unit.demand_gap_addresses is None else f"{unit.demand_gap_addresses:,}"
    return [share, quota, gap]


def _coverage_table(units: list[Unit]) -> Table:
    day = units[0].as_of.isoformat() if units else "-"
    table = Table(
        title=f"Address coverage on {day}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("unit", max_width=14, overflow="fold")
    demand = bool(units) and isinstance(units[0], HamletUnit)
    headers = ["connected", "total", "%", *SHORT_STATUS.values()]
    headers += ["demand %", "quota %", "gap"] if demand else []
    for header in headers:
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
            *_demand_cells(unit),
        )
    if demand:
        table.caption = "quota %: * = BROADBAND_DEMAND_QUOTA; gap: sign-ups missing to the quota"
    return table


def coverage(
    as_of: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Date (default: today)")
    ] = None,
    by: Annotated[Breakdown | None, typer.Option(help="Break down by unit")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output")] = OutputFormat.TABLE,
    ags: Annotated[
        str | None,
        typer.Option(
            help="Municipality (8 digits), Kreis (5) or Land (2) key; needed if several are loaded"
        ),
    ] = None,
) -> None:
    """Print address coverage for the municipality or per district, hamlet, kind or provider."""
    day = as_of.date() if as_of else None
    try:
        settings = Settings()
        engine = make_engine(settings)
        with make_sessionmaker(engine)() as session:
            if by is None:
                found = [figures.municipality_unit(session, ags, day)]
            else:
                quota = settings.demand_quota
                found = figures.units(session, by, ags, day, demand_quota=quota)
    except DomainError as error:
        raise fail(error) from error
    if output is OutputFormat.JSON:
        print(json.dumps([reports.unit_json(u) for u in found], default=str, ensure_ascii=False))
    elif output is OutputFormat.CSV:
        sys.stdout.write(reports.units_csv(found))
    else:
        console.print(_coverage_table(found))
