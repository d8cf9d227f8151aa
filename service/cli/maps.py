"""The print map and the standalone web map as files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from service.cli.output import console, errors, fail
from service.core.errors import DomainError
from service.core.settings import Settings
from service.db.engine import make_engine, make_sessionmaker
from service.main import static_assets
from service.maps import pages
from service.maps.webmap import MapOptions


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
        raise fail(error) from error
    console.print(f"wrote {out}")
