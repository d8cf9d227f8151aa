"""Small readable HTML pages for the OGC API (`f=html`), rendered with autoescaping Jinja2."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parents[1] / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
)


@dataclass(frozen=True)
class Cell:
    """A table cell, optionally a link."""

    text: Any
    href: str | None = None


@dataclass(frozen=True)
class Table:
    """A table of rows under named columns."""

    headers: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Page:
    """What one page shows: a title, facts, a table and links."""

    title: str
    description: str | None = None
    facts: list[tuple[str, Any]] = field(default_factory=list)
    table: Table | None = None
    links: list[dict[str, str]] = field(default_factory=list)


def render(page: Page, base: str) -> str:
    """The page as HTML; every value is escaped."""
    return _ENV.get_template("ogc.html").render(
        base=base,
        title=page.title,
        description=page.description,
        facts=page.facts,
        table=page.table,
        links=page.links,
    )
