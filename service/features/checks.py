"""Checks a feature a client sends (OGC API Part 4) before anything is written."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from service.core.crs import CRS84, STORAGE_SRID, Crs
from service.core.errors import BadRequestError, InvalidDataError, Problem
from service.features.status_dates import dated_status, undated
from service.layers import READ_ONLY, Collection
from service.packages.validation import BOUNDARY_TOLERANCE_M, check_geometry, parse_field, plain


@dataclass(frozen=True)
class Draft:
    """A feature as the client sent it: checked properties, geometry in the storage CRS."""

    properties: dict[str, Any]
    geometry: BaseGeometry | None
    swapped: BaseGeometry | None = None


def load_json(body: bytes, collection: str) -> Any:
    """Parse the body; malformed JSON is a 400 that says where."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, 5,000-digit ints
        raise BadRequestError(
            [Problem(collection, None, None, f"the body is not valid JSON: {exc}")],
            "malformed JSON",
        ) from exc


@functools.cache
def _transformer(crs: Crs) -> pyproj.Transformer:
    """From the client's CRS, in its own axis order, to the storage CRS."""
    source = pyproj.CRS("OGC:CRS84") if crs.uri == CRS84 else pyproj.CRS.from_epsg(crs.srid)
    return pyproj.Transformer.from_crs(source, pyproj.CRS.from_epsg(STORAGE_SRID))


def to_storage(geometry: BaseGeometry, crs: Crs) -> BaseGeometry:
    """A geometry in the client's CRS (its own axis order), in the storage CRS."""
    transformer = _transformer(crs)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geometry, project)


def _finite(geometry: BaseGeometry) -> bool:
    coordinates = shapely.get_coordinates(geometry)
    return bool(coordinates.size) and bool(np.isfinite(coordinates).all())


def _closed(raw: dict[str, Any]) -> bool:
    """RFC 7946 rings are closed; shapely would silently close them, hiding a truncated ring."""
    polygons = raw["coordinates"] if raw["type"] == "MultiPolygon" else [raw["coordinates"]]
    try:
        rings = [ring for polygon in polygons for ring in polygon]
        return all(len(ring) >= 4 and list(ring[0]) == list(ring[-1]) for ring in rings)
    except (TypeError, KeyError, IndexError):
        return False


def _geometry(raw: Any, collection: Collection, label: str, crs: Crs) -> Draft:
    """Read, check and reproject a GeoJSON geometry; also keep the axis-swapped reading."""
    if not isinstance(raw, dict) or "type" not in raw or "coordinates" not in raw:
        raise ValueError(
            f"expected a GeoJSON {collection.geometry_type} object with type and coordinates"
        )
    if raw["type"] in ("Polygon", "MultiPolygon") and not _closed(raw):
        raise ValueError("every ring needs at least 4 positions and must end where it starts")
    try:
        geometry = shape(raw)
    except (
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
        ShapelyError,
    ) as exc:
        raise ValueError(f"not a readable GeoJSON geometry: {exc}") from None
    if not geometry.is_empty and not _finite(geometry):
        raise ValueError("coordinates must be finite numbers")
    geometry = check_geometry(geometry, collection.geometry_type)  # says where, in its own CRS
    transformer = _transformer(crs)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    stored = shapely.transform(geometry, project)
    swapped = shapely.transform(shapely.transform(geometry, lambda xy: xy[:, ::-1]), project)
    if not _finite(stored) or not stored.is_valid:
        raise ValueError(
            f"coordinates cannot be placed in {crs.uri}; check the CRS and the axis order"
        )
    return Draft({}, stored, swapped)


_PLACE = re.compile(r"\[(-?[0-9.]+(?:e[-+]?[0-9]+)?) (-?[0-9.]+(?:e[-+]?[0-9]+)?)\]")
"""The place GEOS names in a validity reason, e.g. `Self-intersection[7.15 51.925]`."""


@functools.cache
def _to_lonlat(srid: int = STORAGE_SRID) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(srid, 4326, always_xy=True)


def _lonlat(point: BaseGeometry) -> tuple[float, float] | None:
    """A point of the storage CRS as [lon, lat], rounded to about 1 cm."""
    lon, lat = _to_lonlat().transform(point.x, point.y)
    return (round(lon, 7), round(lat, 7)) if np.isfinite([lon, lat]).all() else None


def _failing_place(message: str, crs: Crs) -> tuple[float, float] | None:
    """Where an invalid geometry fails, from the reason's coordinates (in the client's CRS)."""
    found = _PLACE.search(message)
    if found is None:
        return None
    x, y = _transformer(crs).transform(float(found[1]), float(found[2]))
    return _lonlat(shapely.Point(x, y)) if np.isfinite([x, y]).all() else None


def check(
    body: Any, collection: Collection, label: str, crs: Crs, geometry_required: bool = True
) -> Draft:
    """Check a GeoJSON Feature: known properties with valid values, and a valid geometry."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidDataError(
            [Problem(collection.id, label, None, "expected a GeoJSON Feature object")],
            f"invalid feature for {collection.id}",
        )
    raw_properties = body.get("properties") or {}
    problems: list[Problem] = []
    if not isinstance(raw_properties, dict):
        raw_properties = {}
        problems.append(Problem(collection.id, label, "properties", "expected a JSON object"))
    allowed = ", ".join(collection.fields)
    for name in raw_properties:
        if name not in collection.fields and name not in READ_ONLY:
            problems.append(
                Problem(collection.id, label, name, f"unknown property; allowed: {allowed}")
            )
    properties: dict[str, Any] = {}
    for name, spec in undated(collection).fields.items():  # status_date dates it
        try:
            properties[name] = parse_field(spec, _plain(raw_properties.get(name)))
        except ValueError as exc:
            problems.append(Problem(collection.id, label, name, str(exc)))
    draft = Draft(properties, None)
    if geometry_required or "geometry" in body:
        try:
            located = _geometry(body.get("geometry"), collection, label, crs)
            draft = Draft(properties, located.geometry, located.swapped)
        except ValueError as exc:
            where = _failing_place(str(exc), crs)
            problems.append(Problem(collection.id, label, "geometry", str(exc), where))
    if problems:
        raise InvalidDataError(problems, f"invalid feature for {collection.id}")
    return draft


def json_values(properties: dict[str, Any]) -> dict[str, Any]:
    """Stored values as JSON would carry them, so a merge patch sees what a client sees."""
    return {name: plain(value) for name, value in properties.items()}


def _plain(value: Any) -> Any:
    """Numbers and booleans arrive typed from JSON; lists and objects are never a field value."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def check_inside(
    draft: Draft, collection: Collection, label: str, boundary: BaseGeometry, town: str
) -> None:
    """The feature must lie in the municipality; say so if swapping lat/lon would fix it."""
    if draft.geometry is None:
        return
    envelope = boundary.buffer(BOUNDARY_TOLERANCE_M)
    if envelope.covers(draft.geometry):
        return
    if draft.swapped is not None and draft.swapped.is_valid and envelope.covers(draft.swapped):
        message = (
            "coordinates look like latitude/longitude swapped: GeoJSON (CRS84) wants "
            "longitude first; EPSG:4326 wants latitude first"
        )
    elif draft.geometry.geom_type == "Point":
        distance = boundary.distance(draft.geometry)
        message = f"lies outside the municipality {town} ({distance:,.0f} m outside)"
    else:
        outside = draft.geometry.difference(boundary).area
        message = f"lies outside the municipality {town} ({outside:,.0f} m² outside)"
    beyond = draft.geometry.difference(envelope)
    where = _lonlat((draft.geometry if beyond.is_empty else beyond).representative_point())
    problem = Problem(collection.id, label, "geometry", message, where)
    raise InvalidDataError([problem], "invalid location")


def merge_patch(current: dict[str, Any], patch: Any) -> dict[str, Any]:
    """RFC 7396 JSON merge patch of the properties: `null` removes, objects merge."""
    result = dict(current)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        else:
            result[key] = value
    return result


# `dated_status` is the one dating rule of `status_dates`, re-exported for the write path.
__all__ = [
    "Draft",
    "check",
    "check_inside",
    "dated_status",
    "json_values",
    "load_json",
    "merge_patch",
]
