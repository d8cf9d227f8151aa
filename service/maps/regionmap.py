"""The Kreis (or Land) map's one layer: each municipality's outline shaded by its connected share.

Every municipality carries its figure as text too (a label on the map, its name as a button, a
row of the legend), so the shading is never the only way to read it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import folium

from service.coverage.rules import Unit
from service.maps.numbers import german_number, share_text

TOWNS = "towns"
"""The layer's name in the page's scripts (a map layer of its own, not a collection)."""
NOUN = "Gemeinde"
FIELDS = [
    ["share_text", "Anteil erschlossen"],
    ["counts_text", "erschlossene Adressen"],
    ["ags", "Gemeindeschlüssel"],
]
"""The rows of a municipality's details panel: (property, German label)."""


@dataclass(frozen=True)
class ShareClass:
    """A band of connected shares and its fill (ColorBrewer Reds: red means connected)."""

    below: float
    colour: str
    label: str


SHARE_CLASSES = [
    ShareClass(20, "#fee5d9", "unter 20 %"),
    ShareClass(40, "#fcae91", "20 bis unter 40 %"),
    ShareClass(60, "#fb6a4a", "40 bis unter 60 %"),
    ShareClass(80, "#de2d26", "60 bis unter 80 %"),
    ShareClass(float("inf"), "#a50f15", "80 % und mehr"),
]


def share_class(share_pct: float) -> int:
    """The index of the band a share falls in."""
    return next(i for i, band in enumerate(SHARE_CLASSES) if share_pct < band.below)


def town_features(
    units: list[Unit], outlines: dict[str, Any], links: dict[str, str]
) -> dict[str, Any]:
    """A FeatureCollection of the municipalities with their figure, escaped for the page."""
    features = []
    for unit in units:
        ags = unit.municipalities[0].ags
        figure = unit.addresses
        name = html.escape(unit.name)
        counts = f"{german_number(figure.numerator)} von {german_number(figure.denominator)}"
        properties = {
            "layer": TOWNS,
            "name": name,
            "ags": ags,
            "share_pct": figure.share_pct,
            "share_class": share_class(figure.share_pct),
            "share_text": share_text(figure.share_pct),
            "status_label": f"{share_text(figure.share_pct)} erschlossen",
            "counts_text": counts,
            "map_label": f"{name}<br/>{share_text(figure.share_pct)}",
            "href": links[ags],
        }
        geometry = outlines.get(ags)
        features.append(
            {"type": "Feature", "id": ags, "geometry": geometry, "properties": properties}
        )
    return {"type": "FeatureCollection", "features": features}


def _style(feature: dict[str, Any]) -> dict[str, Any]:
    band = feature["properties"]["share_class"]
    return {
        "color": "#222222",
        "weight": 2,
        "fillColor": SHARE_CLASSES[band].colour,
        "fillOpacity": 0.75,
        "className": f"bb-{TOWNS} bb-share-{band}",
    }


def add_towns(fmap: folium.Map, data: dict[str, Any]) -> folium.GeoJson:
    """The municipalities as one switchable layer of the map."""
    group = folium.FeatureGroup(name="Gemeinden", show=True)
    layer = folium.GeoJson(
        data, name="Gemeinden", style_function=_style, highlight_function=lambda _: {"weight": 4}
    )
    layer.add_to(group)
    group.add_to(fmap)
    return layer


def legend(data: dict[str, Any]) -> str:
    """The bands of the shading, then every municipality's figure with a link to its own map."""
    bands = "".join(
        f'<li data-share-class="{i}"><span class="bb-swatch" '
        f'style="background-color:{band.colour}"></span>{html.escape(band.label)}</li>'
        for i, band in enumerate(SHARE_CLASSES)
    )
    towns = "".join(
        f'<li data-ags="{p["ags"]}"><a href="{html.escape(p["href"])}">{p["name"]}</a>: '
        f"{p['share_text']} ({p['counts_text']} Adressen)</li>"
        for p in (feature["properties"] for feature in data["features"])
    )
    return (
        "<p>Anteil erschlossener Adressen je Gemeinde</p>"
        f"<ul>{bands}</ul>"
        '<h3 id="bb-towns-title">Gemeinden</h3>'
        f'<ol class="bb-towns" aria-labelledby="bb-towns-title">{towns}</ol>'
    )
