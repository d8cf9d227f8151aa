"""The web map: layers in, a self-contained Folium page out, in German, no third-party assets."""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from service.core.vocabulary import GERMAN_LABELS, Connection, Funding, Status
from service.coverage.rules import Unit
from service.layers import LAYERS, MapStyle, on_map

FIELD_LABELS = {
    "name": "Name",
    "kind_label": "Art",
    "status_label": "Status",
    "provider": "Anbieter",
    "funding_label": "Finanzierung",
    "since": "seit",
    "school_type": "Schulform",
    "pupils": "Schüler*innen",
    "connection_label": "Anschluss",
}


@dataclass(frozen=True)
class Style:
    """How one status looks: colour plus an outline dash or fill pattern, so colour is not all."""

    key: str
    label: str
    colour: str
    dash: str | None = None
    pattern: str | None = None


# The 2021 map's meaning is kept: red connected, yellow too little demand, green funded.
AREA_STYLES: list[Style] = [
    Style("connected", "erschlossen (eigenwirtschaftlich)", "#d7191c"),
    Style("funded", "erschlossen, gefördert (Gewerbegebiete)", "#1a9641", pattern="hatch"),
    Style(Status.INSUFFICIENT_DEMAND, "Nachfrage nicht ausreichend", "#ffd92f", dash="2 5"),
    Style(Status.UNDER_CONSTRUCTION, "im Bau", "#2c7bb6", dash="10 5"),
    Style(Status.IN_PREPARATION, "in Vorbereitung", "#8e63b5", dash="10 4 2 4", pattern="dots"),
    Style(Status.PLANNED, "geplant", "#8c8c8c", dash="4 4", pattern="cross"),
]
STYLE_BY_KEY = {style.key: style for style in AREA_STYLES}
SCHOOL_STYLES: dict[str, tuple[str, str]] = {
    Connection.FIBRE: ("#d7191c", "Schule mit Glasfaser"),
    Connection.COMMITMENT: ("#2c7bb6", "Schule mit Ausbauzusage"),
    Connection.LTE: ("#ffd92f", "Schule nur mit LTE"),
    Connection.NONE: ("#000000", "Schule ohne Anschluss"),
}


@dataclass(frozen=True)
class MapOptions:
    """Everything about a map page that is not data: framing, basemap, what to show first."""

    as_of: dt.date
    embed: bool = False
    basemap_url: str | None = None
    basemap_attribution: str = ""
    static_prefix: str = "/static"
    lookup_url: str = "/lookup"
    visible: frozenset[str] = field(default_factory=lambda: frozenset(on_map()))
    center: tuple[float, float] | None = None
    zoom: int | None = None
    highlight: tuple[str, int] | None = None


def style_key(status: str, funding: str | None = None) -> str:
    """Connected and publicly funded gets its own (green) style, as on the 2021 map."""
    if status == Status.CONNECTED and funding == Funding.FUNDED:
        return "funded"
    return status


def _german_date(value: str | None) -> str:
    return dt.date.fromisoformat(value).strftime("%d.%m.%Y") if value else ""


def label_features(name: str, collection: dict[str, Any]) -> dict[str, Any]:
    """Add the German labels and style key the popups and the styling read."""
    features = []
    for feature in collection["features"]:
        props = dict(feature["properties"])
        props["since"] = _german_date(props.get("status_since"))
        if "status" in props:
            props["status_label"] = GERMAN_LABELS.get(props["status"], props["status"])
            props["style"] = style_key(props["status"], props.get("funding"))
        if "kind" in props:
            props["kind_label"] = GERMAN_LABELS.get(props["kind"], props["kind"])
        if props.get("funding"):
            props["funding_label"] = GERMAN_LABELS.get(props["funding"], props["funding"])
        if "connection" in props:
            props["connection_label"] = GERMAN_LABELS.get(props["connection"], props["connection"])
        props["layer"] = name
        # folium's popups and tooltips insert values as HTML: data-package text must be escaped.
        safe = {k: html.escape(v) if isinstance(v, str) else v for k, v in props.items()}
        features.append({**feature, "properties": safe})
    return {**collection, "features": features}


def _path_style(feature: dict[str, Any]) -> dict[str, Any]:
    style = STYLE_BY_KEY.get(feature["properties"].get("style", ""), AREA_STYLES[0])
    result: dict[str, Any] = {
        "color": "#333333" if style.key == Status.INSUFFICIENT_DEMAND else style.colour,
        "weight": 2,
        "fillColor": style.colour,
        "fillOpacity": 0.55,
        "className": f"bb-{feature['properties']['layer']} bb-style-{style.key}",
    }
    if style.dash:
        result["dashArray"] = style.dash
    return result


def _outline_style(feature: dict[str, Any]) -> dict[str, Any]:
    layer = feature["properties"]["layer"]
    weight = 3 if layer == "municipality" else 1.5
    dash = None if layer == "municipality" else "6 4"
    return {
        "color": "#222222",
        "weight": weight,
        "fill": False,
        "dashArray": dash,
        "className": f"bb-{layer}",
    }


def _popup(name: str, data: dict[str, Any]) -> folium.GeoJsonPopup | None:
    if not data["features"]:  # folium checks the fields against the first feature
        return None
    fields = list(LAYERS[name].popup)
    return folium.GeoJsonPopup(
        fields=fields, aliases=[FIELD_LABELS[f] for f in fields], localize=False, labels=True
    )


def _add_layer(fmap: folium.Map, name: str, data: dict[str, Any], show: bool) -> folium.GeoJson:
    group = folium.FeatureGroup(name=LAYERS[name].german_title, show=show)
    style = LAYERS[name].map_style
    if style is MapStyle.POINT:
        layer = folium.GeoJson(
            data,
            name=LAYERS[name].german_title,
            marker=folium.CircleMarker(
                radius=7, weight=2, color="#000000", fill=True, fill_opacity=0.9
            ),
            style_function=lambda f: {
                "fill": True,
                "fillOpacity": 0.9,
                "fillColor": SCHOOL_STYLES[f["properties"]["connection"]][0],
                "className": f"bb-schools bb-school-{f['properties']['connection']}",
            },
            popup=_popup(name, data),
        )
    elif style is MapStyle.STATUS:
        layer = folium.GeoJson(
            data,
            name=LAYERS[name].german_title,
            style_function=_path_style,
            popup=_popup(name, data),
            highlight_function=lambda _: {"weight": 4},
        )
    else:
        layer = folium.GeoJson(
            data,
            name=LAYERS[name].german_title,
            style_function=_outline_style,
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        )
    layer.add_to(group)
    group.add_to(fmap)
    return layer


def build_map(layers: dict[str, dict[str, Any]], headline: Unit, options: MapOptions) -> str:
    """A complete HTML page; Leaflet comes from the service's own /static, nothing else loads."""
    fmap = folium.Map(tiles=None, control_scale=True, zoom_control=True, prefer_canvas=False)
    fmap.default_js = [("leaflet", f"{options.static_prefix}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{options.static_prefix}/leaflet/leaflet.css")]
    if options.basemap_url:
        folium.TileLayer(
            tiles=options.basemap_url,
            attr=options.basemap_attribution,
            name="Hintergrundkarte",
            overlay=False,
            control=False,
            max_zoom=19,
        ).add_to(fmap)
    labelled = {name: label_features(name, data) for name, data in layers.items()}
    geojson = {
        name: _add_layer(fmap, name, labelled[name], name in options.visible)
        for name in on_map()
        if name in labelled
    }
    folium.LayerControl(collapsed=options.embed).add_to(fmap)
    page = fmap.get_root()
    if not isinstance(page, Figure):
        raise TypeError("a folium map renders into a branca Figure")
    page.header.add_child(Element(_head(options)))
    page.html.add_child(Element(_panels(headline, options)))
    fmap.add_child(_Behaviour(geojson, labelled, options))
    return str(page.render()).replace("<html>", '<html lang="de">', 1)


def _head(options: MapOptions) -> str:
    """Page title, language and the styles of legend, panel, search and the fill patterns."""
    size = "11px" if options.embed else "13px"
    return f"""<title>Glasfaserausbau – Karte</title>
<link rel="icon" href="data:,"/>
<link rel="stylesheet" href="{options.static_prefix}/map.css"/>
<script src="{options.static_prefix}/map.js"></script>
<style>.bb-panel {{ font-size: {size}; }}</style>"""


def _swatch(style: Style) -> str:
    classes = f"bb-swatch bb-swatch-{style.key}"
    return f'<span class="{classes}" style="background-color:{style.colour}"></span>'


def _legend(options: MapOptions) -> str:
    rows = [
        f'<li data-status="{s.key}">{_swatch(s)}{html.escape(s.label)}</li>' for s in AREA_STYLES
    ]
    schools = [
        f'<li data-connection="{key}"><span class="bb-dot" style="background-color:{colour}">'
        f"</span>{html.escape(label)}</li>"
        for key, (colour, label) in SCHOOL_STYLES.items()
    ]
    outlines = [
        '<li><span class="bb-line bb-line-municipality"></span>Gemeindegrenze</li>',
        '<li><span class="bb-line bb-line-districts"></span>Ortsteilgrenze</li>',
    ]
    items = "".join(rows + schools + outlines)
    return (
        '<div class="bb-panel bb-legend" id="bb-legend"><h2>Legende</h2>'
        "<p>Ausbaugebiete und Bauerschaften</p>"
        f'<ul>{items}</ul><p class="bb-note">Stand {options.as_of.strftime("%d.%m.%Y")}</p></div>'
    )


def german_number(value: int) -> str:
    """12000 → '12.000', as German readers write it."""
    return f"{value:,}".replace(",", ".")


def _headline(unit: Unit) -> str:
    figure = unit.addresses
    share = f"{figure.share_pct:.2f}".replace(".", ",")
    counts = f"{german_number(figure.numerator)} von {german_number(figure.denominator)}"
    return (
        '<div class="bb-panel bb-headline" id="bb-headline">'
        f'<strong class="bb-share">{share} %</strong> der Adressen erschlossen<br/>'
        f'<span class="bb-counts">{counts} Adressen</span> · '
        f"Stand {unit.as_of.strftime('%d.%m.%Y')}</div>"
    )


def _panels(headline: Unit, options: MapOptions) -> str:
    search = (
        '<form class="bb-panel bb-search" id="bb-search" role="search">'
        '<label for="bb-q">Adresse suchen</label>'
        '<input id="bb-q" name="q" type="search" placeholder="z. B. Marktplatz 1" '
        'autocomplete="off"/><button type="submit">Suchen</button>'
        '<div id="bb-result" aria-live="polite"></div></form>'
    )
    return _headline(headline) + search + _legend(options)


class _Behaviour(MacroElement):
    """Registers the layers for scripts and tests, fits the view, highlights, and wires search."""

    _template = Template(
        """{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var layers = { {% for name, layer in this.layers.items() %}
    "{{ name }}": {{ layer.get_name() }},{% endfor %} };
  var config = {{ this.config }};
  window.broadbandMap = { map: map, layers: layers, config: config };
  broadbandMapSetup(map, layers, config);
})();
{% endmacro %}"""
    )

    def __init__(
        self,
        layers: dict[str, folium.GeoJson],
        data: dict[str, dict[str, Any]],
        options: MapOptions,
    ) -> None:
        super().__init__()
        self._name = "BroadbandBehaviour"
        self.layers = layers
        config = {
            "lookupUrl": options.lookup_url,
            "embed": options.embed,
            "center": list(options.center) if options.center else None,
            "zoom": options.zoom,
            "highlight": list(options.highlight) if options.highlight else None,
            "counts": {name: len(collection["features"]) for name, collection in data.items()},
        }
        self.config = json.dumps(config)
