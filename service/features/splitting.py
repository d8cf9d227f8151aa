"""Splitting an area in two along a drawn line: a pure rule, so it is tested without HTTP.

Leaflet-Geoman's free edition cuts with polygons only (its line split is a paid feature), and a
cut throws the cut-off piece away; shapely's `split` keeps both sides, so the map asks the server.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import LineString, MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

from service.core.errors import Problem


class SplitError(ValueError):
    """The line does not divide the area into exactly two parts."""


def _read(raw: Any, expected: tuple[str, ...], what: str) -> BaseGeometry:
    if not isinstance(raw, dict) or raw.get("type") not in expected:
        raise SplitError(f"{what}: expected a GeoJSON {' or '.join(expected)}")
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise SplitError(f"{what}: not a readable GeoJSON geometry: {exc}") from None
    if geometry.is_empty or not geometry.is_valid:
        raise SplitError(f"{what}: empty or invalid geometry")
    return geometry


def divide(polygon: BaseGeometry, line: BaseGeometry) -> tuple[MultiPolygon, MultiPolygon]:
    """The two parts of `polygon` on either side of `line` (same CRS), larger first."""
    parts = [p for p in split(polygon, line).geoms if isinstance(p, Polygon) and p.area > 0]
    if len(parts) != 2:
        raise SplitError(
            f"the line must cross the area from one edge to another exactly once; "
            f"it divides it into {len(parts)} part(s)"
        )
    parts.sort(key=lambda part: part.area, reverse=True)
    return MultiPolygon([parts[0]]), MultiPolygon([parts[1]])


def split_in_two(area: Any, line: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two parts of `area` on either side of `line` (GeoJSON in, GeoJSON out), larger first."""
    polygon = _read(area, ("Polygon", "MultiPolygon"), "area")
    cutter = _read(line, ("LineString",), "line")
    first, second = divide(polygon, cutter)
    return mapping(first), mapping(second)


def read_line(raw: Any) -> LineString:
    """The drawn line as a shapely LineString, or a SplitError saying what is wrong."""
    line = _read(raw, ("LineString",), "line")
    assert isinstance(line, LineString)
    return line


def split_problem(error: SplitError) -> Problem:
    """The refusal as the problem document's member for the line."""
    return Problem("areas", None, "line", str(error))
