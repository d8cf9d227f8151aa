"""The printable map for the council report: named areas, legend and key beside the map, ≥ 9 pt.

One figure builder serves `GET /map.png`, `broadband map --out x.png` and the report's map page.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from service.coverage.rules import Unit
from service.layers import LAYERS, Layer, MapStyle, printable
from service.maps.labels import Feature, KeyEntry, label_features
from service.maps.numbers import german_number
from service.maps.webmap import AREA_STYLES, SCHOOL_STYLES, STYLE_BY_KEY, style_key

WIDTH_PX, HEIGHT_PX, DPI = 1754, 1240, 150  # A4 landscape at 150 dpi
A4_LANDSCAPE_IN = (WIDTH_PX / DPI, HEIGHT_PX / DPI)
HATCHES = {"hatch": "////", "dots": "..", "cross": "++"}
CRS = "EPSG:25832"
MIN_PT = 9.0
TEXT_PT = 10.0
SOURCES = (
    "Grenzen: Land NRW (2023), dl-de/zero-2-0 · Schulen: IT.NRW, MSB NRW, dl-de/by-2-0, "
    "Standorte © OpenStreetMap-Mitwirkende (ODbL) · "
    "Ortsteile, Ausbaugebiete, Bauerschaften: Näherung"
)
LABELLED = {"districts": "district", "hamlets": "hamlet", "areas": "area"}
# Sheet layout in figure fractions: title on top, sources at the bottom, map left, panel right.
TOP, BOTTOM, LEFT, GAP, PANEL_MIN = 0.86, 0.085, 0.015, 0.02, 0.30


@dataclass(frozen=True)
class SheetText:
    """The words on the sheet besides the map: title, subtitle line and sources."""

    title: str
    subtitle: str
    sources: str = SOURCES


def _frame(collection: dict[str, Any]) -> gpd.GeoDataFrame:
    if not collection["features"]:
        return gpd.GeoDataFrame(geometry=[], crs=CRS)
    return gpd.GeoDataFrame.from_features(collection["features"], crs=CRS)


def _polygons(ax: Axes, frame: gpd.GeoDataFrame, zorder: float = 2) -> None:
    if frame.empty:
        return
    keys = pd.Series(
        [
            style_key(s, f)
            for s, f in zip(frame["status"], frame.get("funding", [None] * len(frame)), strict=True)
        ],
        index=frame.index,
    )  # a Series, not a list: a one-element list would be read as a list of column keys
    for key, group in frame.groupby(keys):
        style = STYLE_BY_KEY[str(key)]
        group.plot(
            ax=ax,
            facecolor=style.colour,
            edgecolor="#333333",
            linewidth=0.8,
            alpha=0.75,
            hatch=HATCHES.get(style.pattern or ""),
            linestyle="--" if style.dash else "-",
            zorder=zorder,
        )


def _round_length(target: float) -> float:
    """The longest 1, 2 or 5 × 10^n metres not above the target."""
    magnitude = 10 ** math.floor(math.log10(target))
    return float(max(m * magnitude for m in (1, 2, 5) if m * magnitude <= target))


def _scale_bar(ax: Axes) -> list[Artist]:
    """A metric bar in two halves, labelled 0 and its length in m or km; ≤ a fifth of the map."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _round_length((x1 - x0) / 5)
    left, bottom, height = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.03, (y1 - y0) * 0.008
    artists: list[Artist] = []
    for i, colour in enumerate(("black", "white")):
        artists.append(
            ax.add_patch(
                Rectangle(
                    (left + i * length / 2, bottom),
                    length / 2,
                    height,
                    facecolor=colour,
                    edgecolor="black",
                    linewidth=0.8,
                    zorder=9,
                )
            )
        )
    unit = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    for metres, label in ((0.0, "0"), (length, unit.replace(".", ","))):
        artists.append(
            ax.text(
                left + metres,
                bottom + height * 1.8,
                label,
                ha="center",
                va="bottom",
                fontsize=MIN_PT,
                zorder=9,
            )
        )
    return artists


def _north_arrow(ax: Axes) -> Artist:
    return ax.annotate(
        "N",
        xy=(0.95, 0.97),
        xytext=(0.95, 0.89),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=14,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 5, "headwidth": 14},
    )


def _legend_handles() -> list[Any]:
    handles: list[Any] = [
        Patch(
            facecolor=s.colour,
            edgecolor="#333333",
            hatch=HATCHES.get(s.pattern or ""),
            linestyle="--" if s.dash else "-",
            label=s.label,
        )
        for s in AREA_STYLES
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor=colour,
            markeredgecolor="black",
            markersize=8,
            label=label,
        )
        for colour, label in SCHOOL_STYLES.values()
    ]
    return [
        *handles,
        Line2D([], [], color="black", linewidth=2, label="Gemeindegrenze"),
        Line2D([], [], color="black", linewidth=1, linestyle="--", label="Ortsteilgrenze"),
    ]


def _panel_legend(
    figure: Figure, x: float, top: float, handles: list[Any], title: str, columns: int = 1
) -> Legend:
    legend = figure.legend(
        ncols=columns,
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(x, top),
        bbox_transform=figure.transFigure,
        fontsize=MIN_PT,
        title=title,
        title_fontsize=TEXT_PT + 1,
        alignment="left",
        frameon=False,
        borderaxespad=0,
        borderpad=0,
        handlelength=2.2,
    )
    return legend


def _key_handles(key: list[KeyEntry]) -> list[Any]:
    return [
        Line2D([], [], linestyle="", marker=f"${entry.number}$", markersize=9, color="black")
        for entry in key
    ]


def _panel(figure: Figure, renderer: RendererBase, x: float, key: list[KeyEntry]) -> None:
    """Legend, then the key of numbered areas, then the map's scale as a ratio."""
    legend = _panel_legend(figure, x, TOP, _legend_handles(), "Legende")
    below = legend.get_window_extent(renderer).transformed(figure.transFigure.inverted()).y0
    if key:
        handles = _key_handles(key)
        for handle, entry in zip(handles, key, strict=True):
            handle.set_label(entry.name)
        columns = 1 if len(key) <= 12 else 2
        _panel_legend(figure, x, below - 0.03, handles, "Nummerierte Gebiete", columns)


def _ratio(ax: Axes, figure: Figure) -> str:
    """'Maßstab ca. 1:80.000' at the printed size of the sheet."""
    x0, x1 = ax.get_xlim()
    width_m = (ax.get_position().width * figure.get_figwidth()) * 0.0254
    ratio = (x1 - x0) / width_m
    rounded = round(ratio, -math.floor(math.log10(ratio)) + 1)
    return f"Maßstab ca. 1:{german_number(int(rounded))} (gedruckt auf A4)"


def _draw(ax: Axes, layer: Layer, frame: gpd.GeoDataFrame | None) -> None:
    """Draw one layer in its registry style; the municipality's outline is drawn heavier."""
    if frame is None or frame.empty:
        return
    if layer.map_style is MapStyle.OUTLINE:
        heavy = layer.name == "municipality"
        frame.boundary.plot(
            ax=ax, color="black", linewidth=2 if heavy else 0.8, linestyle="-" if heavy else "--"
        )
    elif layer.map_style is MapStyle.STATUS:
        _polygons(ax, frame, zorder=2 + list(LAYERS).index(layer.name) / 100)
    elif layer.map_style is MapStyle.POINT:
        colours = [SCHOOL_STYLES[c][0] for c in frame[layer.status_field or "connection"]]
        frame.plot(ax=ax, color=colours, edgecolor="black", markersize=40, zorder=5)


def _map_axes(figure: Figure, frames: dict[str, gpd.GeoDataFrame]) -> Axes:
    """As large as the sheet allows at the data's aspect, left, leaving the panel its room."""
    shapes = [f for f in frames.values() if not f.empty]
    if shapes:
        x0, y0, x1, y1 = pd.concat(shapes).total_bounds
    else:
        x0, y0, x1, y1 = 0.0, 0.0, 1.0, 1.0
    pad = max(x1 - x0, y1 - y0) * 0.02
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    fig_w, fig_h = figure.get_size_inches()
    height_in = (TOP - BOTTOM) * fig_h
    max_width = (1 - LEFT - GAP - PANEL_MIN) * fig_w
    scale = min(max_width / max(x1 - x0, 1e-9), height_in / max(y1 - y0, 1e-9))
    width, height = (x1 - x0) * scale / fig_w, (y1 - y0) * scale / fig_h
    ax = figure.add_axes((LEFT, BOTTOM + (TOP - BOTTOM - height) / 2, width, height))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    return ax


def _features(frames: dict[str, gpd.GeoDataFrame]) -> list[Feature]:
    found = []
    for layer, role in LABELLED.items():
        frame = frames.get(layer)
        if frame is None or frame.empty or "name" not in frame:
            continue
        for name, geometry in zip(frame["name"], frame.geometry, strict=True):
            if geometry is not None and not geometry.is_empty:
                found.append(Feature(str(name), geometry, role))
    return found


def headline_text(headline: Unit) -> str:
    """'Stand 01.12.2026 · 71,48 % der Adressen erschlossen (8.577 von 12.000)'."""
    figure = headline.addresses
    share = f"{figure.share_pct:.2f}".replace(".", ",")
    return (
        f"Stand {headline.as_of.strftime('%d.%m.%Y')} · {share} % der Adressen erschlossen "
        f"({german_number(figure.numerator)} von {german_number(figure.denominator)})"
    )


def map_figure(
    layers: dict[str, dict[str, Any]],
    text: SheetText,
    size: tuple[float, float] = A4_LANDSCAPE_IN,
) -> Figure:
    """The map sheet as a matplotlib figure (PNG or a PDF page); it needs no network."""
    figure = Figure(figsize=size, dpi=DPI)
    canvas = FigureCanvasAgg(figure)
    frames = {name: _frame(collection) for name, collection in layers.items()}
    ax = _map_axes(figure, frames)
    for name in printable():  # outlines first, then areas over hamlets, schools on top
        _draw(ax, LAYERS[name], frames.get(name))
    ax.set_xlabel("")  # geopandas names the CRS axes; the map shows none
    ax.set_ylabel("")
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    furniture = [*_scale_bar(ax), _north_arrow(ax)]
    taken = [artist.get_window_extent(renderer).padded(4) for artist in furniture]
    key = label_features(ax, renderer, _features(frames), taken)
    panel_x = ax.get_position().x1 + GAP
    _panel(figure, renderer, panel_x, key)
    figure.text(panel_x, BOTTOM, _ratio(ax, figure), fontsize=MIN_PT, va="bottom")
    figure.text(LEFT, 0.965, text.title, ha="left", va="top", fontsize=18, fontweight="bold")
    figure.text(LEFT, 0.905, text.subtitle, ha="left", va="top", fontsize=TEXT_PT + 2)
    width = int(size[0] * 72 / (MIN_PT * 0.55))  # characters per line at 9 pt
    sources = textwrap.fill(f"Quellen: {text.sources}", width=width)
    figure.text(LEFT, 0.015, sources, ha="left", va="bottom", fontsize=MIN_PT, color="#333333")
    return figure


def print_map(layers: dict[str, dict[str, Any]], headline: Unit, title: str) -> bytes:
    """Render the map as PNG bytes (A4 landscape, 150 dpi)."""
    figure = map_figure(layers, SheetText(title, headline_text(headline)))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
