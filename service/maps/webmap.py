"""The web map: layers in, a self-contained Folium page out, in German, no third-party assets."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from service.core.vocabulary import GERMAN_LABELS, Connection, Funding, Status
from service.coverage.rules import Unit
from service.layers import LAYERS, MapStyle, on_map
from service.maps import address_layer, regionmap
from service.maps.numbers import german_month, german_number
from service.maps.palette import FUNDED_COLOUR
from service.maps.palette import STATUS_COLOURS as COLOURS

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
# What one feature of a layer is called when a screen reader or the details panel names it.
FEATURE_NOUNS = {"areas": "Ausbaugebiet", "hamlets": "Bauerschaft", "schools": "Schule"}
APPROXIMATE_NOTE = "Lage näherungsweise"
# Folium's page forbids zooming (WCAG 1.4.4); visitors must be able to enlarge the page.
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


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
    Style("connected", "erschlossen (eigenwirtschaftlich)", COLOURS[Status.CONNECTED]),
    Style("funded", "erschlossen, gefördert (Gewerbegebiete)", FUNDED_COLOUR, pattern="hatch"),
    Style(
        Status.INSUFFICIENT_DEMAND,
        "Nachfrage nicht ausreichend",
        COLOURS[Status.INSUFFICIENT_DEMAND],
        dash="2 5",
    ),
    Style(Status.UNDER_CONSTRUCTION, "im Bau", COLOURS[Status.UNDER_CONSTRUCTION], dash="10 5"),
    Style(
        Status.IN_PREPARATION,
        "in Vorbereitung",
        COLOURS[Status.IN_PREPARATION],
        dash="10 4 2 4",
        pattern="dots",
    ),
    Style(Status.PLANNED, "geplant", COLOURS[Status.PLANNED], dash="4 4", pattern="cross"),
]
STYLE_BY_KEY = {style.key: style for style in AREA_STYLES}
SCHOOL_STYLES: dict[str, tuple[str, str]] = {
    Connection.FIBRE: ("#d7191c", "Schule mit Glasfaser"),
    Connection.COMMITMENT: ("#2c7bb6", "Schule mit Ausbauzusage"),
    Connection.LTE: ("#ffd92f", "Schule nur mit LTE"),
    Connection.NONE: ("#000000", "Schule ohne Anschluss"),
}


# The files under /static the page loads (the CLI inlines them into a standalone page).
PAGE_ASSETS = (
    "leaflet/leaflet.css",
    "leaflet/leaflet.js",
    address_layer.ASSET,
    "map.css",
    "map.js",
)


@dataclass(frozen=True)
class MapOptions:
    """Everything about a map page that is not data: framing, basemap, what to show first."""

    as_of: dt.date
    embed: bool = False
    basemap_url: str | None = None
    basemap_attribution: str = ""
    # (name, URL) of the files under /static the page loads; the service gives content-hashed
    # URLs (so the page's ETag changes with them), without them the plain /static/<name>.
    asset_urls: tuple[tuple[str, str], ...] = ()
    lookup_url: str = "/lookup"  # empty: no address search (a Kreis map spans several towns)
    visible: frozenset[str] = field(default_factory=lambda: frozenset(on_map()))
    center: tuple[float, float] | None = None
    zoom: int | None = None
    highlight: tuple[str, int] | None = None
    text_view_url: str = "/map/tabelle"
    statement_url: str = "/barrierefreiheit"
    demand_quota: float = 0.40  # BROADBAND_DEMAND_QUOTA: for Bauerschaften without their own
    # Vector tiles of the address points (today's state); None: no points (a saved page).
    address_tiles_url: str | None = None
    time_travel: bool = False  # the "Zeitreise" slider: the service's full page, not a saved one
    timeline_url: str = "/map/timeline"

    def asset(self, name: str) -> str:
        """The URL of one of PAGE_ASSETS, e.g. `leaflet/leaflet.js`."""
        return dict(self.asset_urls).get(name, f"/static/{name}")


@dataclass(frozen=True)
class TimeTravel:
    """The months the "Zeitreise" slider steps through, from the first recorded to today's."""

    first: dt.date  # the first of the first month
    shown: dt.date
    today: dt.date
    timeline_url: str  # the coverage per month, for the chart beside the slider

    @staticmethod
    def months(start: dt.date, end: dt.date) -> int:
        """Whole months from start's month to end's."""
        return (end.year - start.year) * 12 + end.month - start.month

    @property
    def count(self) -> int:
        """Steps on the slider."""
        return self.months(self.first, self.today) + 1

    @property
    def index(self) -> int:
        """The step of the date shown."""
        return self.months(self.first, self.shown)


# What changed since the compared date: outlined, dashed where the outline is the earlier one.
CHANGE_LABELS = {
    "added": "neu",
    "removed": "entfernt",
    "redrawn": "Umriss geändert",
    "status": "Status geändert",
}
CHANGES = "changes"  # the map layer of the outlines
CHANGE_COLOUR = "#000000"
CHANGE_DASH = "8 6"
EARLIER_OUTLINE = ("removed", "redrawn")


@dataclass(frozen=True)
class Changed:
    """What changed since `since`: the outlines of `queries.changes`."""

    since: dt.date
    features: dict[str, Any]


def label_changes(collection: dict[str, Any]) -> dict[str, Any]:
    """The German words for each change, the feature's name escaped like every popup text."""
    features = []
    for feature in collection["features"]:
        props = dict(feature["properties"])
        props["name"] = html.escape(str(props["name"]))
        props["noun"] = FEATURE_NOUNS[props["layer"]]
        props["change_label"] = CHANGE_LABELS[props["change"]]
        features.append({**feature, "properties": props})
    return {**collection, "features": features}


def style_key(status: str, funding: str | None = None) -> str:
    """Connected and publicly funded gets its own (green) style, as on the 2021 map."""
    if status == Status.CONNECTED and funding == Funding.FUNDED:
        return "funded"
    return status


def _german_date(value: str | None) -> str:
    return dt.date.fromisoformat(value).strftime("%d.%m.%Y") if value else ""


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def demand_labels(props: dict[str, Any], default_quota: float) -> dict[str, Any]:
    """A Bauerschaft's sign-ups against its quota, as numbers for a bar and as German text."""
    share = props.get("demand_share")
    if share is None:
        return {}
    quota = props.get("demand_quota")
    quota = float(quota) if quota is not None else default_quota
    share = float(share)
    reached = "erreicht" if share >= quota else f"noch {_percent(quota - share)} bis zur Quote"
    return {
        "demand_pct": round(share * 100, 1),
        "quota_pct": round(quota * 100, 1),
        "demand_label": f"{_percent(share)} von {_percent(quota)}",
        "demand_text": f"Anmeldungen: {_percent(share)} der Adressen, Quote {_percent(quota)} "
        f"({reached})",
    }


def label_features(
    name: str, collection: dict[str, Any], default_quota: float = 0.40
) -> dict[str, Any]:
    """Add the German labels and style key the popups and the styling read."""
    features = []
    for feature in collection["features"]:
        props = dict(feature["properties"])
        props |= demand_labels(props, default_quota)
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


def _change_style(feature: dict[str, Any]) -> dict[str, Any]:
    change = feature["properties"]["change"]
    earlier = change in EARLIER_OUTLINE
    return {
        "color": CHANGE_COLOUR,
        "weight": 3 if earlier else 4,
        "fill": False,
        "dashArray": CHANGE_DASH if earlier else None,
        "className": f"bb-change bb-change-{change}",
    }


def _add_changes(fmap: folium.Map, data: dict[str, Any]) -> folium.GeoJson:
    """The outlines of what changed, over every layer; not clickable (the list names them)."""
    group = folium.FeatureGroup(name="Änderungen", show=True)
    layer = folium.GeoJson(data, name="Änderungen", style_function=_change_style, interactive=False)
    layer.add_to(group)
    group.add_to(fmap)
    return layer


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
        )
    elif style is MapStyle.STATUS:
        layer = folium.GeoJson(
            data,
            name=LAYERS[name].german_title,
            style_function=_path_style,
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


def build_map(
    layers: dict[str, dict[str, Any]],
    headline: Unit,
    options: MapOptions,
    towns: dict[str, Any] | None = None,
    changed: Changed | None = None,
    travel: TimeTravel | None = None,
) -> str:
    """A complete HTML page; Leaflet comes from the service's own /static, nothing else loads.

    `towns` (`regionmap.town_features`) makes it the map of a Kreis or Land: one shaded outline
    per municipality, listed with its figure in the legend. `changed` is outlined and listed;
    `travel` adds the "Zeitreise" slider and its chart.
    """
    # The metric-only scale bar is added by map.js: folium's control_scale adds miles too.
    fmap = folium.Map(tiles=None, control_scale=False, zoom_control=True, prefer_canvas=False)
    fmap.default_js = [("leaflet", options.asset("leaflet/leaflet.js"))]
    fmap.default_css = [("leaflet_css", options.asset("leaflet/leaflet.css"))]
    if options.basemap_url:
        folium.TileLayer(
            tiles=options.basemap_url,
            attr=options.basemap_attribution,
            name="Hintergrundkarte",
            overlay=False,
            control=False,
            max_zoom=19,
        ).add_to(fmap)
    labelled = {
        name: label_features(name, data, options.demand_quota) for name, data in layers.items()
    }
    geojson = {
        name: _add_layer(fmap, name, labelled[name], name in options.visible)
        for name in on_map()
        if name in labelled
    }
    if towns is not None:
        geojson[regionmap.TOWNS] = regionmap.add_towns(fmap, towns)
        labelled[regionmap.TOWNS] = towns
    if changed is not None:
        changed = replace(changed, features=label_changes(changed.features))
        geojson[CHANGES] = _add_changes(fmap, changed.features)
        labelled[CHANGES] = changed.features
    folium.LayerControl(collapsed=False).add_to(fmap)  # map.js moves it into the "Ebenen" panel
    page = fmap.get_root()
    if not isinstance(page, Figure):
        raise TypeError("a folium map renders into a branca Figure")
    page.header.add_child(Element(_head(options)))
    page.html.add_child(Element(_panels(headline, options, towns, changed, travel)))
    fmap.add_child(_Behaviour(geojson, labelled, options, headline, travel))
    rendered = str(page.render()).replace("<html>", '<html lang="de">', 1)
    return _FOLIUM_VIEWPORT.sub(VIEWPORT, rendered, count=1)


def _head(options: MapOptions) -> str:
    """Page title, language and the styles of legend, panel, search and the fill patterns."""
    size = "11px" if options.embed else "13px"
    return f"""<title>Glasfaserausbau – Karte</title>
<link rel="icon" href="data:,"/>
<link rel="stylesheet" href="{options.asset("map.css")}"/>
<script src="{options.asset("map.js")}"></script>
<style>.bb-panel {{ font-size: {size}; }}</style>"""


def _swatch(style: Style) -> str:
    classes = f"bb-swatch bb-swatch-{style.key}"
    return f'<span class="{classes}" style="background-color:{style.colour}"></span>'


def _changes_legend(changed: Changed) -> str:
    """The key to the outlines and, for screen readers and keyboards, the changes as a list."""
    since = changed.since.strftime("%d.%m.%Y")
    items = [
        f'<li data-layer="{p["layer"]}" data-change="{p["change"]}">{p["noun"]} {p["name"]}: '
        f"{p['change_label']}</li>"
        for p in (f["properties"] for f in changed.features["features"])
    ]
    count = len(items)
    listed = (
        f"<details><summary>{count} {'Änderung' if count == 1 else 'Änderungen'}</summary>"
        f'<ul class="bb-changes">{"".join(items)}</ul></details>'
        if items
        else "<p>Keine Änderungen.</p>"
    )
    return (
        f'<h3>Änderungen</h3><p class="bb-compare">Umrandet: geändert seit {since}</p><ul>'
        '<li><span class="bb-line bb-line-added"></span>neu oder Status geändert</li>'
        '<li><span class="bb-line bb-line-removed"></span>entfernt oder früherer Umriss</li>'
        f"</ul>{listed}"
    )


def _legend(
    options: MapOptions, towns: dict[str, Any] | None = None, changed: Changed | None = None
) -> str:
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
    statement = (
        ""
        if options.embed
        else f' · <a href="{html.escape(options.statement_url)}">Barrierefreiheit</a>'
    )
    keys = (
        "<p>Ausbaugebiete und Bauerschaften</p>"
        f"<ul>{items}</ul>"
        f'<p class="bb-note bb-approx-note">{APPROXIMATE_NOTE}: Umrisse und Lagen sind ungefähr, '
        "nicht grundstücksgenau.</p>"
    )
    body = (
        '<h2 id="bb-legend-title">Legende</h2>'
        f"{keys if towns is None else regionmap.legend(towns)}"
        f"{'' if changed is None else _changes_legend(changed)}"
        f"{'' if options.address_tiles_url is None else address_layer.legend()}"
        f'<p class="bb-note">Stand {options.as_of.strftime("%d.%m.%Y")}{statement}</p>'
    )
    return _collapsible("bb-legend", "bb-legend", "bb-legend-title", body)


def _collapsible(panel_id: str, css: str, title_id: str, body: str) -> str:
    """A panel that a phone shows only on request: its button is in the toolbar."""
    return (
        f'<section class="bb-panel bb-collapsible {css}" id="{panel_id}" '
        f'aria-labelledby="{title_id}" tabindex="-1">{body}'
        '<button type="button" class="bb-close" data-close>Schließen</button></section>'
    )


def _headline(unit: Unit) -> str:
    figure = unit.addresses
    share = f"{figure.share_pct:.2f}".replace(".", ",")
    counts = f"{german_number(figure.numerator)} von {german_number(figure.denominator)}"
    return (
        '<div class="bb-panel bb-headline" id="bb-headline">'
        f'<h1 class="bb-sr">Glasfaserausbau in {html.escape(unit.name)} – Karte</h1>'
        f'<strong class="bb-share">{share} %</strong> '
        '<span class="bb-long">der Adressen</span> erschlossen<span class="bb-long"><br/></span>'
        f'<span class="bb-counts"> {counts} Adressen</span> · '
        f'<span class="bb-date"><span class="bb-stand">Stand </span>'
        f"{unit.as_of.strftime('%d.%m.%Y')}</span></div>"
    )


def _toolbar(options: MapOptions, travel: TimeTravel | None = None) -> str:
    """Buttons for the panels a phone collapses, and the link to the same data as tables."""
    panels = [("bb-search", "Suche"), ("bb-layers", "Ebenen"), ("bb-legend", "Legende")]
    if travel is not None:
        panels.append(("bb-time", "Zeitreise"))
    buttons = "".join(
        f'<button type="button" class="bb-toggle" aria-expanded="false" aria-controls="{target}">'
        f"{label}</button>"
        for target, label in panels
        if options.lookup_url or target != "bb-search"  # no address search without a lookup
    )
    target = ' target="_blank" rel="noopener"' if options.embed else ""
    hint = '<span class="bb-sr"> (öffnet ein neues Fenster)</span>' if options.embed else ""
    link = (
        f'<a class="bb-textview" href="{html.escape(options.text_view_url)}"{target}>'
        f"Tabellenansicht{hint}</a>"
    )
    nav = '<nav class="bb-toolbar" id="bb-toolbar" aria-label="Kartenwerkzeuge">'
    return f"{nav}{buttons}{link}</nav>"


def _time_panel(travel: TimeTravel) -> str:
    """The "Zeitreise" slider, one step a month, and the coverage chart (drawn by map.js)."""
    month = german_month(travel.shown)
    body = (
        '<h2 id="bb-time-title"><label for="bb-zeit">Zeitreise</label></h2>'
        f'<input type="range" id="bb-zeit" min="0" max="{travel.count - 1}" step="1" '
        f'value="{travel.index}" aria-valuetext="{month}" aria-describedby="bb-zeit-hint"/>'
        f'<output id="bb-zeit-monat" for="bb-zeit">{month}</output>'
        '<p class="bb-note" id="bb-zeit-hint">Je Schritt ein Monat (Pfeiltasten); die Karte '
        "zeigt den Stand am Monatsende.</p>"
        '<figure class="bb-chart" id="bb-chart"><figcaption id="bb-chart-title">'
        "Anteil erschlossener Adressen je Monat</figcaption></figure>"
    )
    return _collapsible("bb-time", "bb-time", "bb-time-title", body)


def _panels(
    headline: Unit,
    options: MapOptions,
    towns: dict[str, Any] | None = None,
    changed: Changed | None = None,
    travel: TimeTravel | None = None,
) -> str:
    search = _collapsible(
        "bb-search",
        "bb-search",
        "bb-search-title",
        '<form role="search" aria-labelledby="bb-search-title">'
        '<h2 id="bb-search-title" class="bb-sr">Adresssuche</h2>'
        '<label for="bb-q">Adresse suchen</label>'
        '<input id="bb-q" name="q" type="search" placeholder="z. B. Marktplatz 1" '
        'autocomplete="off"/><button type="submit">Suchen</button>'
        '<div id="bb-result" aria-live="polite"></div></form>',
    )
    layers = _collapsible(
        "bb-layers", "bb-layers", "bb-layers-title", '<h2 id="bb-layers-title">Ebenen</h2>'
    )
    details = (
        '<section class="bb-panel bb-details" id="bb-details" aria-labelledby="bb-details-title" '
        'hidden><h2 id="bb-details-title" tabindex="-1"></h2>'
        '<div id="bb-details-body" aria-live="polite"></div>'
        '<button type="button" class="bb-close" id="bb-details-close">Schließen</button></section>'
    )
    if not options.lookup_url:
        search = ""
    time = "" if travel is None else _time_panel(travel)
    side = (
        f'<div class="bb-side">{_headline(headline)}{_toolbar(options, travel)}{search}{time}</div>'
    )
    return side + layers + _legend(options, towns, changed) + details


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
        headline: Unit,
        travel: TimeTravel | None = None,
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
            "nouns": {**FEATURE_NOUNS, regionmap.TOWNS: regionmap.NOUN},
            "fields": {
                **{
                    name: [[f, FIELD_LABELS[f]] for f in LAYERS[name].popup if f != "name"]
                    for name in FEATURE_NOUNS
                },
                regionmap.TOWNS: regionmap.FIELDS,
            },
            "approximateNote": APPROXIMATE_NOTE,
            "addressTiles": address_layer.config(
                options.address_tiles_url, options.asset(address_layer.ASSET)
            ),
            "timeTravel": None
            if travel is None
            else {
                "first": travel.first.isoformat(),
                "today": travel.today.isoformat(),
                "shown": travel.shown.isoformat(),
                "share": headline.addresses.share_pct,
                "timelineUrl": travel.timeline_url,
            },
        }
        self.config = json.dumps(config)
