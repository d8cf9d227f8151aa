"""Names on the print map: placed where they collide with nothing, else a number with a key.

A greedy placement, as small cartographic tools do it: Bauerschaften first (large and sparse),
then areas from the largest down, then districts; each name tries its shape's representative
point, points around and inside the shape; a shape too crowded for its name gets a number that
the key beside the map explains.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

LABEL_PT = 9.0
DISTRICT_PT = 12.0
HALO: list[patheffects.AbstractPathEffect] = [
    patheffects.withStroke(linewidth=3, foreground="white")
]
# Path effects turn text into outlines; the halo is a copy underneath, so the label stays text
# (searchable and extractable in the PDF).
PADDING_PX = 2.0
GRID = 7  # interior candidates per axis for large shapes
ROUNDS = 6


@dataclass(frozen=True)
class Feature:
    """A shape to name: districts are context (larger, italic); others are numbered if need be."""

    name: str
    geometry: BaseGeometry
    role: str  # "district", "hamlet" or "area"


@dataclass(frozen=True)
class KeyEntry:
    """A number on the map and the name it stands for."""

    number: int
    name: str


def _candidates(geometry: BaseGeometry, where: str) -> Iterator[tuple[float, float, str]]:
    """Anchor points in metres with alignment, best first.

    `centre`: the representative point only; `around`: also beside the shape; `inside`: also
    points of a grid inside it, nearest to the centre first.
    """
    centre = geometry.representative_point()
    yield centre.x, centre.y, "center"
    x0, y0, x1, y1 = geometry.bounds
    if where == "around":
        gap = max(x1 - x0, y1 - y0) * 0.08
        yield x1 + gap, centre.y, "left"
        yield x0 - gap, centre.y, "right"
        yield centre.x, y1 + gap * 2, "center"
        yield centre.x, y0 - gap * 2, "center"
    elif where == "inside":
        xs, ys = np.linspace(x0, x1, GRID + 2)[1:-1], np.linspace(y0, y1, GRID + 2)[1:-1]
        points = [Point(x, y) for x in xs for y in ys]
        inside = [p for p in points if geometry.contains(p)]
        inside.sort(key=lambda p: p.distance(centre))
        for point in inside:
            yield point.x, point.y, "center"


def _halo(ax: Axes, artist: Text) -> None:
    """A white outline under the label, drawn by a copy of it."""
    x, y = artist.get_position()
    halo = ax.text(x, y, artist.get_text(), zorder=7.9, color="white")
    halo.update_from(artist)
    halo.set_color("white")
    halo.set_zorder(7.9)
    halo.set_path_effects(HALO)


class Placer:
    """Keeps the boxes already taken on one map, in display pixels."""

    def __init__(self, ax: Axes, renderer: RendererBase, taken: list[Bbox]) -> None:
        self.ax = ax
        self.renderer = renderer
        self.taken = list(taken)
        self.frame = ax.get_window_extent(renderer)

    def _fits(self, box: Bbox) -> bool:
        inside = (
            box.x0 >= self.frame.x0
            and box.x1 <= self.frame.x1
            and box.y0 >= self.frame.y0
            and box.y1 <= self.frame.y1
        )
        return inside and not any(box.overlaps(other) for other in self.taken)

    def _try(self, text: str, x: float, y: float, ha: str, **style: object) -> Text | None:
        artist = self.ax.text(x, y, text, ha=ha, va="center", zorder=8, **style)  # type: ignore[arg-type]
        box = artist.get_window_extent(self.renderer).padded(PADDING_PX)
        if self._fits(box):
            self.taken.append(box)
            _halo(self.ax, artist)
            return artist
        artist.remove()
        return None

    def place(self, text: str, geometry: BaseGeometry, where: str, **style: object) -> bool:
        """Put the text at the first candidate that collides with nothing."""
        for x, y, ha in _candidates(geometry, where):
            if self._try(text, x, y, ha, **style) is not None:
                return True
        return False

    def force(self, text: str, geometry: BaseGeometry, **style: object) -> None:
        """A number must appear: on its shape if free, else beside it, else on it regardless."""
        if self.place(text, geometry, "inside", **style):
            return
        if self.place(text, geometry, "around", **style):
            return
        point = geometry.representative_point()
        artist = self.ax.text(point.x, point.y, text, ha="center", va="center", zorder=8, **style)  # type: ignore[arg-type]
        _halo(self.ax, artist)
        self.taken.append(artist.get_window_extent(self.renderer).padded(PADDING_PX))


def _attempt(
    ax: Axes,
    renderer: RendererBase,
    named: list[Feature],
    numbered: list[Feature],
    taken: list[Bbox],
) -> tuple[Placer, list[Feature]]:
    """Numbers first (small, on their shapes), then names; returns the names that found no room."""
    placer = Placer(ax, renderer, taken)
    for number, feature in enumerate(numbered, start=1):
        placer.force(str(number), feature.geometry, fontsize=LABEL_PT, fontweight="bold")
    failed = []
    for feature in named:
        style: dict[str, object] = {"fontsize": LABEL_PT, "color": "#111111"}
        where = "centre"  # an area's name beside it could be read as its neighbour's
        if feature.role == "hamlet":
            style["fontstyle"] = "italic"
            where = "around"
        if not placer.place(feature.name, feature.geometry, where, **style):
            failed.append(feature)
    return placer, failed


def label_features(
    ax: Axes, renderer: RendererBase, features: list[Feature], taken: list[Bbox]
) -> list[KeyEntry]:
    """Name every hamlet and area (or number it), then the districts where room is left.

    A shape whose name finds no room is numbered, and the placement starts over with the numbers
    placed first, so a number never lands on a name; a few rounds settle it.
    """
    named = [f for f in features if f.role != "district" and f.name]
    named.sort(key=lambda f: (f.role != "hamlet", -f.geometry.area))
    numbered: list[Feature] = []
    for _ in range(ROUNDS):
        before = len(ax.texts)
        placer, failed = _attempt(ax, renderer, named, numbered, taken)
        if not failed:
            break
        for artist in list(ax.texts)[before:]:
            artist.remove()
        named = [f for f in named if f not in failed]
        numbered = sorted([*numbered, *failed], key=_reading_order)
    else:  # still crowded: the last names without room get the next numbers where they are
        for feature in failed:
            numbered.append(feature)
            placer.force(str(len(numbered)), feature.geometry, fontsize=LABEL_PT, fontweight="bold")
    for feature in (f for f in features if f.role == "district"):
        style = {"fontsize": DISTRICT_PT, "fontstyle": "italic", "color": "#333333"}
        placer.place(feature.name.upper(), feature.geometry, "inside", **style)
    return [KeyEntry(number, f.name) for number, f in enumerate(numbered, start=1)]


def _reading_order(feature: Feature) -> tuple[float, float]:
    """Numbers run from north-west to south-east, as a reader scans the map."""
    point = feature.geometry.representative_point()
    return (-round(point.y / 500), point.x)
