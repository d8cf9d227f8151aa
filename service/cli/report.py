"""The council report as a PDF file, the same as `GET /report.pdf`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from service.cli.output import console, errors, fail
from service.core.errors import DomainError
from service.core.settings import Settings
from service.db.engine import make_engine, make_sessionmaker
from service.maps.report import build_report
from service.maps.report_pdf import report_pdf


def report_command(
    out: Annotated[Path, typer.Option("--out", help="FILE.pdf")] = Path("bericht.pdf"),
    as_of: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Date (default: today)")
    ] = None,
    ags: Annotated[str | None, typer.Option(help="Municipality key, if several")] = None,
) -> None:
    """Write the council report (A4 PDF, German): map, tables, chart, sources."""
    if out.suffix.lower() != ".pdf":
        errors.print(f"[bold red]error:[/] --out must end in .pdf, got {out.name}")
        raise typer.Exit(code=2)
    settings = Settings()
    day = as_of.date() if as_of else None
    try:
        with make_sessionmaker(make_engine(settings))() as session:
            report = build_report(session, ags, day, settings.demand_quota)
    except DomainError as error:
        raise fail(error) from error
    out.write_bytes(report_pdf(report))
    console.print(f"wrote {out}")
