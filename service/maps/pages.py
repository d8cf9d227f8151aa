"""Map pages from the database: gathers layers and the headline figure for `maps.build_map`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from service.core.errors import BadRequestError, Problem
from service.coverage import figures
from service.coverage.rules import Unit
from service.db import state
from service.layers import WHITE_SPACE, highlightable, on_map
from service.maps import regionmap
from service.maps.printmap import print_map
from service.maps.queries import changes, first_recorded, map_layers, town_outlines
from service.maps.webmap import Changed, MapOptions, TimeTravel, build_map


def _problem(field: str, message: str) -> BadRequestError:
    return BadRequestError([Problem("query", None, field, message)], "invalid map parameters")


def _one_of(names: Sequence[str]) -> str:
    return "(?:" + "|".join(re.escape(name) for name in names) + ")"


# What the parsers below accept, as the patterns the API description gives their parameters.
_NAME = _one_of(on_map())
_SEPARATORS = f"[{WHITE_SPACE},]*"
LAYERS_PATTERN = (
    f"^{_SEPARATORS}(?:{_NAME}(?:[{WHITE_SPACE}]*,{_SEPARATORS}{_NAME})*)?{_SEPARATORS}$"
)
_DECIMAL = r"[+-]?[0-9]+(?:\.[0-9]+)?"
_LON = r"[+-]?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[0-9]{1,2})(?:\.[0-9]+)?)"
_LAT = r"[+-]?(?:90(?:\.0+)?|[0-8]?[0-9](?:\.[0-9]+)?)"
CENTER_PATTERN = rf"^(?:{_LON},{_LAT})?$"
HIGHLIGHT_PATTERN = rf"^(?:{_one_of(highlightable())}/[0-9]{{1,18}})?$"


def parse_layers(value: str | None) -> frozenset[str]:
    """`layers=areas,schools`: which layers show at first (the rest stay in the layer control)."""
    if not value:
        return frozenset(on_map())
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(names - set(on_map()))
    if unknown:
        allowed = ", ".join(on_map())
        raise _problem("layers", f"unknown layer(s) {', '.join(unknown)}; allowed: {allowed}")
    return names


def parse_center(value: str | None) -> tuple[float, float] | None:
    """`center=lon,lat` in degrees (WGS 84)."""
    if not value:
        return None
    if not re.fullmatch(rf"{_DECIMAL},{_DECIMAL}", value):
        raise _problem("center", f"expected lon,lat in decimal degrees, got {value!r}")
    if not re.fullmatch(CENTER_PATTERN, value):
        raise _problem("center", f"lon,lat out of range (±180, ±90): {value!r}")
    lon, lat = (float(part) for part in value.split(","))
    return lon, lat


def parse_highlight(value: str | None) -> tuple[str, int] | None:
    """`highlight=areas/12`: a feature to outline and open."""
    if not value:
        return None
    collection, _, feature = value.partition("/")
    if collection not in highlightable() or not re.fullmatch(r"[0-9]{1,18}", feature):
        allowed = ", ".join(highlightable())
        raise _problem("highlight", f"expected <collection>/<id> with collection in {allowed}")
    return collection, int(feature)


def _map_data(
    session: Session, ags: str | None, as_of: dt.date | None, srid: int
) -> tuple[state.MunicipalityRow, Unit, dict[str, dict[str, Any]]]:
    """Town, headline figure and layers of one date, the municipality looked up once; a past
    date draws the features as they stood that day."""
    town = state.municipality(session, ags)
    unit = figures.headline(session, town, as_of)
    past = figures.past_date(session, as_of)
    return town, unit, map_layers(session, town.id, unit.as_of, srid, past)


def map_page(
    session: Session,
    ags: str | None,
    as_of: dt.date | None,
    options: MapOptions,
    compare: dt.date | None = None,
) -> str:
    """The map page for a date: features in the version valid then, the headline of that date;
    for a Kreis or Land key, one figure per municipality. `compare` outlines what changed since."""
    day = as_of.isoformat() if as_of else None
    text_view = _with_query(options.text_view_url, as_of=day, ags=ags)
    area = figures.region(session, ags)
    if area.aggregated:
        if compare is not None:
            raise _problem("compare", "changes are shown on a municipality's map, not a region's")
        return _region_page(session, area, as_of, replace(options, text_view_url=text_view))
    town, unit, layers = _map_data(session, ags, as_of, 4326)
    changed = None
    if compare is not None:
        if compare >= unit.as_of:
            raise _problem(
                "compare", f"{compare} must lie before the date shown ({unit.as_of.isoformat()})"
            )
        changed = Changed(compare, changes(session, town.id, compare, unit.as_of))
    travel = _time_travel(session, town, unit.as_of, options) if options.time_travel else None
    # The search asks about the municipality and the date shown, also when several are loaded.
    past = unit.as_of.isoformat() if as_of is not None else None
    lookup = _with_query(options.lookup_url, ags=ags, as_of=past)
    shown = replace(options, as_of=unit.as_of, text_view_url=text_view, lookup_url=lookup)
    return build_map(layers, unit, shown, changed=changed, travel=travel)


def _time_travel(
    session: Session, town: state.MunicipalityRow, shown: dt.date, options: MapOptions
) -> TimeTravel:
    """The months the slider offers: from the first recorded one to today's."""
    today = state.today(session)
    first = min(_first_month(session, town, today), shown.replace(day=1))
    timeline = _with_query(options.timeline_url, ags=town.ags)
    return TimeTravel(first=first, shown=shown, today=today, timeline_url=timeline)


def _first_month(session: Session, town: state.MunicipalityRow, today: dt.date) -> dt.date:
    """The first of the month the municipality's recorded past begins in."""
    return (first_recorded(session, town.id) or today).replace(day=1)


def month_timeline(session: Session, ags: str | None) -> list[tuple[str, float]]:
    """(date, share of connected addresses) on the first of every month since the first
    recorded one: the chart beside the slider."""
    town = state.municipality(session, ags)
    first = _first_month(session, town, state.today(session))
    points = figures.timeline(session, town.ags, first, None, "month")
    return [(point.as_of.isoformat(), point.addresses.share_pct) for point in points]


def _region_page(
    session: Session, area: figures.Region, as_of: dt.date | None, options: MapOptions
) -> str:
    """The Kreis or Land map: each municipality shaded by its share, linked to its own map."""
    unit = figures.region_unit(session, area, as_of)
    towns = figures.town_units(session, area, unit.as_of)
    outlines = town_outlines(session, [town.id for town in area.towns])
    page = "/map/embed" if options.embed else "/map"
    day = as_of.isoformat() if as_of else None
    links = {town.ags: _with_query(page, ags=town.ags, as_of=day) for town in area.towns}
    data = regionmap.town_features(towns, outlines, links)
    shown = replace(options, as_of=unit.as_of, lookup_url="")
    return build_map({}, unit, shown, towns=data)


def _with_query(url: str, **params: str | None) -> str:
    """The text view shows what the map shows: the same date and municipality, if given."""
    given = {key: value for key, value in params.items() if value}
    return f"{url}?{urlencode(given)}" if given else url


def print_page(session: Session, ags: str | None, as_of: dt.date | None) -> bytes:
    """The printable PNG map of a date, for the council report."""
    town, unit, layers = _map_data(session, ags, as_of, 25832)
    return print_map(layers, unit, f"Glasfaserausbau in {town.name}")


def standalone(page: str, assets: dict[str, Path]) -> str:
    """Inline the page's own scripts and styles, so a saved HTML file works without the service."""
    for url, path in assets.items():
        content = path.read_text(encoding="utf-8")
        if url.endswith(".js"):
            page = page.replace(f'<script src="{url}"></script>', f"<script>{content}</script>")
        else:
            page = page.replace(
                f'<link rel="stylesheet" href="{url}"/>', f"<style>{content}</style>"
            )
    return page
