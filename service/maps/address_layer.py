"""The address points of the web map: drawn from the vector tiles (address_coverage layer) from
zoom 15 on, each in the colour of its best status, and explained in the legend."""

from __future__ import annotations

import html
from typing import Any

from service.core.vocabulary import GERMAN_LABELS
from service.coverage.rules import STATUS_ORDER
from service.maps.palette import NO_AREA, OUTLINE_COLOUR, address_colour

ASSET = "protomaps-leaflet/protomaps-leaflet.js"
"""The Leaflet plugin that draws vector tiles (npm: protomaps-leaflet)."""
TILES_URL = "/tiles/WebMercatorQuad/{z}/{x}/{y}?collections=address_coverage"
"""Where the page fetches the address points: the dataset tiles, this one layer only."""
LAYER = "address_coverage"
MIN_ZOOM = 15
LABELS = {**GERMAN_LABELS, NO_AREA: "in keinem Ausbaugebiet"}


def legend() -> str:
    """The legend's part for the points: one dot per status, and where the numbers are as text."""
    items = "".join(
        f'<li data-address-status="{status}"><span class="bb-dot" style="background-color:'
        f'{address_colour(status)};border-color:{OUTLINE_COLOUR}"></span>'
        f"{html.escape(LABELS[status])}</li>"
        for status in STATUS_ORDER
    )
    return (
        f'<p id="bb-address-legend">Adressen (ab Zoomstufe {MIN_ZOOM}), nach bestem Status</p>'
        f'<ul aria-labelledby="bb-address-legend">{items}</ul>'
        '<p class="bb-note">Adressen je Status als Zahlen: siehe Tabellenansicht.</p>'
    )


def config(url: str | None, script: str) -> dict[str, Any] | None:
    """What map.js needs to draw the points (it fetches the plugin at `script` on first reaching
    MIN_ZOOM), or None when the page shows none."""
    if url is None:
        return None
    return {
        "url": url,
        "script": script,
        "layer": LAYER,
        "minZoom": MIN_ZOOM,
        "outline": OUTLINE_COLOUR,
    }
