"""The printable map for the council report: title, legend, scale bar, north arrow and date."""

from __future__ import annotations

import io
import math
from typing import Any

import geopandas as gpd
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from service.coverage.rules import Unit
from service.layers import LAYERS, Layer, MapStyle, printable
from service.maps.webmap import AREA_STYLES, SCHOOL_STYLES, STYLE_BY_KEY, german_number, style_key

WIDTH_PX, HEIGHT_PX, DPI = 1754, 1240, 150  # A4 landscape at 150 dpi
HATCHES = {"hatch": "////", "dots": "..", "cross": "++"}
CRS = "EPSG:25832"
SOURCES = (
    "Grenzen: Land NRW (2023), dl-de/zero-2-0 · Schulen: IT.NRW, MSB NRW, dl-de/by-2-0, "
    "Standorte © OpenStreetMap-Mitwirkende (ODbL) · "
    "Ortsteile, Ausbaugebiete, Bauerschaften: Näherung"
)


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


def _scale_bar(ax: Axes) -> None:
    """A bar of a round length (1, 2 or 5 × 10^n metres), a fifth of the map width at most."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) / 5
    magnitude = 10 ** math.floor(math.log10(target))
    length = max(m * magnitude for m in (1, 2, 5) if m * magnitude <= target)
    left, bottom, height = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04, (y1 - y0) * 0.008
    for i in range(2):
        colour = "black" if i == 0 else "white"
        ax.add_patch(
            Rectangle(
                (left + i * length / 2, bottom),
                length / 2,
                height,
                facecolor=colour,
                edgecolor="black",
                linewidth=0.8,
            )
        )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left + length / 2, bottom + height * 2, label, ha="center", va="bottom", fontsize=9)


def _north_arrow(ax: Axes) -> None:
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=14,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 5, "headwidth": 14},
    )


def _legend(ax: Axes) -> None:
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
    handles += [
        Line2D([], [], color="black", linewidth=2, label="Gemeindegrenze"),
        Line2D([], [], color="black", linewidth=1, linestyle="--", label="Ortsteilgrenze"),
    ]
    ax.legend(
        handles=handles,
        loc="lower right",
        fontsize=8,
        title="Legende",
        title_fontsize=10,
        framealpha=0.95,
    )


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


def print_map(layers: dict[str, dict[str, Any]], headline: Unit, title: str) -> bytes:
    """Render the map as PNG bytes; it needs no network (no basemap)."""
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.02, 0.06, 0.66, 0.82))
    frames = {name: _frame(collection) for name, collection in layers.items()}
    for name in printable():  # outlines first, then areas over hamlets, schools on top
        _draw(ax, LAYERS[name], frames.get(name))
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax)
    _north_arrow(ax)
    _legend(ax)
    figure_text = headline.addresses
    share = f"{figure_text.share_pct:.2f}".replace(".", ",")
    figure.suptitle(title, x=0.02, y=0.97, ha="left", fontsize=18, fontweight="bold")
    figure.text(
        0.02,
        0.905,
        f"Stand {headline.as_of.strftime('%d.%m.%Y')} · {share} % der "
        f"Adressen erschlossen ({german_number(figure_text.numerator)} von "
        f"{german_number(figure_text.denominator)})",
        fontsize=11,
    )
    figure.text(0.02, 0.02, SOURCES, fontsize=7, color="#444444")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
