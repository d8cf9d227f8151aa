"""Checks a package before anything is written; names layer, feature and field of each fault."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from service.core.errors import InvalidDataError, Problem
from service.core.vocabulary import GERMAN_LABELS, values
from service.layers import LAYERS, FieldSpec, FieldType, Layer
from service.packages.format import RawPackage

BOUNDARY_TOLERANCE_M = 0.5
MAX_PROBLEMS = 500
MAX_INTEGER = 2**31 - 1  # PostgreSQL integer


@dataclass(frozen=True)
class Feature:
    """A checked feature: typed properties and a valid geometry in EPSG:25832."""

    label: str
    properties: dict[str, Any]
    geometry: BaseGeometry


@dataclass(frozen=True)
class Package:
    """A checked package, ready to be written in one transaction."""

    source: str
    municipality: Feature
    layers: dict[str, list[Feature]]
    reference: list[dict[str, Any]] | None = None


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime | pd.Timestamp):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip()
        try:  # a GeoPackage DATETIME arrives as 2024-03-01T00:00:00
            day = dt.date.fromisoformat(text[:10] if re.match(r"\d{4}-\d\d-\d\dT", text) else text)
        except ValueError:
            raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}") from None
    if day > dt.date.today():
        raise ValueError(
            f"{day.isoformat()} lies in the future; a status is dated from when it holds"
        )
    return day


def _short(value: Any) -> str:
    """A value for an error message, cut short: a client may send megabytes."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _integer(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected a whole number, got {_short(value)}") from None
    if not number.is_integer() or not 0 <= number <= MAX_INTEGER:
        raise ValueError(f"expected a whole number from 0 to {MAX_INTEGER:,}, got {value!r}")
    return int(number)


def _share(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected a share between 0 and 1, got {_short(value)}") from None
    if not 0 <= number <= 1:
        raise ValueError(f"expected a share between 0 and 1, got {value!r}")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool | int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "ja"}:
        return True
    if text in {"false", "0", "no", "nein"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _pattern(regex: str, what: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if not re.fullmatch(regex, text):
            raise ValueError(f"expected {what}, got {value!r}")
        return text

    return parse


def plain(value: Any) -> Any:
    """A stored value as JSON carries it: dates as ISO text, decimals as floats."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def as_text(value: Any) -> str:
    """Text as a person reads it: 1234.0 from a numeric column (with NULLs) is 1234."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text(value: Any) -> str:
    text = as_text(value)
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    return text


PARSERS: dict[FieldType, Callable[[Any], Any]] = {
    FieldType.TEXT: _text,
    FieldType.DATE: _date,
    FieldType.INTEGER: _integer,
    FieldType.SHARE: _share,
    FieldType.BOOLEAN: _boolean,
    FieldType.AGS: _pattern(r"[0-9]{8}", "an 8-digit municipality key (AGS)"),
    FieldType.POSTCODE: _pattern(r"[0-9]{5}", "a 5-digit postcode"),
}


def _allowed(vocabulary: type[StrEnum], german: bool) -> str:
    """The vocabulary for a message; a delivery's reader also gets the German labels."""
    if not german:
        return ", ".join(values(vocabulary))
    labelled = ", ".join(f"{m.value} ({GERMAN_LABELS[m]})" for m in vocabulary)
    return f"{labelled}; or map the value in a mapping file"


def parse_field(spec: FieldSpec, value: Any, german: bool = False) -> Any:
    """Turn one raw property into its typed value, or raise ValueError saying what was expected."""
    if is_missing(value):
        if spec.required:
            raise ValueError("required, but empty")
        return spec.default
    parsed = PARSERS[spec.kind](value)
    if spec.allowed is not None and parsed not in values(spec.allowed):
        raise ValueError(f"unknown value {parsed!r}; allowed: {_allowed(spec.allowed, german)}")
    return parsed


def check_geometry(geometry: BaseGeometry | None, expected: str) -> BaseGeometry:
    """Return the geometry in its stored type, or raise ValueError saying what and where."""
    if geometry is None or geometry.is_empty:
        raise ValueError("missing or empty geometry")
    geometry = shapely.force_2d(geometry)
    if expected == "MultiPolygon" and isinstance(geometry, Polygon):
        geometry = MultiPolygon([geometry])
    if geometry.geom_type != expected:
        accepted = "MultiPolygon or Polygon" if expected == "MultiPolygon" else expected
        raise ValueError(f"wrong geometry type: expected {accepted}, got {geometry.geom_type}")
    if not geometry.is_valid:
        raise ValueError(f"invalid geometry: {shapely.is_valid_reason(geometry)}")
    return geometry


def feature_label(spec: Layer, number: int, raw: dict[str, Any]) -> str:
    """How a problem names a feature of a file: its number and its name, `#4 'Kernstadt'`."""
    parts = [str(raw[name]) for name in spec.label if not is_missing(raw.get(name))]
    return f"#{number}" + (f" '{' '.join(parts)}'" if parts else "")


def _check_feature(
    spec: Layer, number: int, raw: dict[str, Any], geometry: BaseGeometry | None, german: bool
) -> tuple[Feature | None, list[Problem]]:
    label = feature_label(spec, number, raw)
    problems: list[Problem] = []
    properties: dict[str, Any] = {}
    for name, field_spec in spec.fields.items():
        try:
            properties[name] = parse_field(field_spec, raw.get(name), german)
        except ValueError as exc:
            problems.append(Problem(spec.name, label, name, str(exc)))
    try:
        geometry = check_geometry(geometry, spec.geometry)
    except ValueError as exc:
        problems.append(Problem(spec.name, label, "geometry", str(exc)))
    if problems or geometry is None:
        return None, problems
    return Feature(label, properties, geometry), []


def _unknown_fields(spec: Layer, columns: list[str]) -> list[Problem]:
    known = set(spec.fields) | {"id", "fid"}
    allowed = ", ".join(spec.fields)
    return [
        Problem(spec.name, None, column, f"unknown field; allowed: {allowed}")
        for column in columns
        if column not in known
    ]


def check_layer(
    spec: Layer, frame: Any, german: bool = False
) -> tuple[list[Feature], list[Problem]]:
    """Check every feature of one layer; returns the good ones and every problem found.

    `german`: the file came from a provider, so unknown values list the German labels too.
    """
    columns = [c for c in frame.columns if c != frame.geometry.name]
    problems = _unknown_fields(spec, columns)
    features: list[Feature] = []
    seen: dict[tuple[Any, ...], str] = {}
    records = frame[columns].to_dict("records")
    for number, (raw, geometry) in enumerate(zip(records, frame.geometry, strict=True), start=1):
        feature, found = _check_feature(spec, number, raw, geometry, german)
        problems += found
        if feature is None:
            continue
        key = tuple(feature.properties[name] for name in spec.key)
        if key in seen:
            field = "+".join(spec.key)
            message = f"duplicate of {seen[key]}"
            problems.append(Problem(spec.name, feature.label, field, message))
        seen[key] = feature.label
        features.append(feature)
    return features, problems


def check_inside(
    spec: Layer, features: list[Feature], boundary: BaseGeometry, name: str
) -> list[Problem]:
    """Every feature must lie inside the municipality (half a metre of slack for rounding)."""
    if not features:
        return []
    envelope = boundary.buffer(BOUNDARY_TOLERANCE_M)
    shapely.prepare(envelope)
    geometries = [feature.geometry for feature in features]
    inside = shapely.covers(envelope, geometries)
    problems = []
    for index in (i for i, ok in enumerate(inside) if not ok):
        geometry = geometries[index]
        if geometry.geom_type == "Point":
            how_far = f"{boundary.distance(geometry):,.0f} m outside"
        else:
            how_far = f"{geometry.difference(boundary).area:,.0f} m² outside"
        message = f"lies outside the municipality {name} ({how_far})"
        problems.append(Problem(spec.name, features[index].label, "geometry", message))
    return problems


def validate_package(raw: RawPackage) -> Package:
    """Check a whole package; raise one error listing every problem, or return it ready to load."""
    spec = LAYERS["municipality"]
    municipalities, problems = check_layer(spec, raw.frames["municipality"])
    if not problems and len(municipalities) != 1:
        count = len(municipalities)
        problems.append(Problem(spec.name, None, None, f"expected 1 feature, found {count}"))
    layers: dict[str, list[Feature]] = {}
    for name, layer_spec in LAYERS.items():
        if name == "municipality":
            continue
        layers[name], found = check_layer(layer_spec, raw.frames[name])
        problems += found
        if len(municipalities) == 1:
            municipality = municipalities[0]
            town = municipality.properties["name"]
            problems += check_inside(layer_spec, layers[name], municipality.geometry, town)
    if problems:
        raise InvalidDataError(problems[:MAX_PROBLEMS], f"invalid package {raw.source.name}")
    return Package(str(raw.source), municipalities[0], layers, raw.reference)
