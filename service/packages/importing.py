"""Checks a delivery for one layer before anything is written: read, map, fill, validate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from service.core.errors import InvalidDataError, Problem
from service.core.limits import ImportLimits
from service.features.status_dates import StatusDate, status_date, undated
from service.layers import COLLECTIONS, LAYERS, Layer, importable
from service.packages.columns import Mapping, imply
from service.packages.columns import apply as apply_mapping
from service.packages.sources import ReadOptions, read_delivery
from service.packages.validation import (
    MAX_PROBLEMS,
    Feature,
    as_text,
    check_inside,
    check_layer,
    is_missing,
)


class Match(StrEnum):
    """How a delivered feature finds the stored one it updates."""

    NAME = "name"  # for addresses: postcode, street and house number
    EXTERNAL_ID = "external_id"


@dataclass(frozen=True)
class ImportRequest:
    """What to import and how."""

    path: Path
    layer: str
    file_name: str = ""
    match: Match = Match.NAME
    delete_missing: bool = False
    read: ReadOptions = field(default_factory=ReadOptions)
    mapping: Mapping = field(default_factory=Mapping)
    limit: int = 2**62  # bytes of the file (BROADBAND_MAX_IMPORT_BYTES), checked by the caller
    limits: ImportLimits = field(default_factory=ImportLimits)  # unpacked bytes, rows, vertices
    status_since: dt.date | None = None  # dates every new or changed status that has no date

    @property
    def name(self) -> str:
        """The file name as the user knows it (an upload is stored under another)."""
        return self.file_name or self.path.name


def require_importable(layer: str) -> None:
    """Only the layers of one municipality's features can be imported."""
    if layer not in importable():
        raise InvalidDataError(
            [Problem(layer, None, None, f"cannot import; layers: {', '.join(importable())}")],
            "unknown layer",
        )


def key_columns(layer: str, match: Match) -> tuple[str, ...]:
    """The fields that identify a feature for this kind of match."""
    return ("external_id",) if match is Match.EXTERNAL_ID else LAYERS[layer].key


def key_of(values: dict[str, Any] | Any, columns: tuple[str, ...]) -> tuple[str, ...] | None:
    """A feature's key as text (so 48653 and '48653' meet); None when a part is missing."""
    parts = []
    for column in columns:
        value = values.get(column) if isinstance(values, dict) else values[column]
        if is_missing(value):
            return None
        parts.append(as_text(value))
    return tuple(parts)


def _fill(
    frame: gpd.GeoDataFrame,
    spec: Layer,
    columns: tuple[str, ...],
    current: dict[tuple[str, ...], dict[str, Any]],
) -> gpd.GeoDataFrame:
    """Fields the file lacks keep their stored value for matched features (none for new ones)."""
    absent = [name for name in spec.fields if name not in frame.columns]
    if not absent:
        return frame
    keys = [key_of(row, columns) for row in frame[list(columns)].to_dict("records")]
    filled = frame.copy()
    for name in absent:
        filled[name] = [current.get(k, {}).get(name) if k else None for k in keys]
    return filled


def _key_problems(spec: Layer, frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> list[Problem]:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        return [
            Problem(spec.name, None, c, "the file has no such column to match on") for c in missing
        ]
    problems = []
    seen: dict[Hashable, int] = {}
    for number, row in enumerate(frame[list(columns)].to_dict("records"), start=1):
        key = key_of(row, columns)
        if key is None:
            problems.append(
                Problem(spec.name, f"#{number}", "+".join(columns), "empty, cannot match")
            )
        elif key in seen:
            message = f"{' '.join(key)!r} also on feature #{seen[key]}"
            problems.append(Problem(spec.name, f"#{number}", "+".join(columns), message))
        else:
            seen[key] = number
    return problems


@dataclass(frozen=True)
class Checked:
    """A delivery's features, checked and dated, and where each status date came from."""

    features: list[Feature]
    dates: dict[tuple[str, ...], StatusDate]  # by match key; empty for a layer without status


def _refuse_date(request: ImportRequest, today: dt.date) -> None:
    """A date for the whole delivery needs a layer with a status and must not lie ahead."""
    given = request.status_since
    if given is None:
        return
    message = None
    if COLLECTIONS[request.layer].status_field is None:
        with_status = [name for name in importable() if COLLECTIONS[name].status_field]
        message = f"{request.layer} have no status to date; it dates {', '.join(with_status)}"
    elif given > today:
        message = f"{given.isoformat()} lies in the future; a status is dated from when it holds"
    if message is not None:
        raise InvalidDataError(
            [Problem(request.layer, None, "status_since", message)], "invalid status_since"
        )


def _dated(
    features: list[Feature],
    request: ImportRequest,
    columns: tuple[str, ...],
    current: dict[tuple[str, ...], dict[str, Any]],
    today: dt.date,
) -> Checked:
    """Date each status by the one rule (`status_date`), as the API does."""
    collection = COLLECTIONS[request.layer]
    dated, dates = [], {}
    for feature in features:
        key = key_of(feature.properties, columns) or ()
        found = status_date(
            collection, current.get(key), feature.properties, today, request.status_since
        )
        properties = feature.properties
        if found is not None:
            properties = {**properties, "status_since": found.day}
            dates[key] = found
        dated.append(Feature(feature.label, properties, feature.geometry))
    return Checked(dated, dates)


def check_delivery(
    request: ImportRequest,
    current: dict[tuple[str, ...], dict[str, Any]],
    boundary: BaseGeometry,
    town: str,
    today: dt.date,
) -> Checked:
    """Every feature of the delivery, checked; one bad feature refuses the whole file."""
    require_importable(request.layer)
    _refuse_date(request, today)
    spec = LAYERS[request.layer]
    frame = read_delivery(request.path, request.layer, request.read, request.limits)
    mapped = apply_mapping(frame, request.layer, request.mapping)
    frame, problems = mapped.frame, list(mapped.problems)
    columns = key_columns(request.layer, request.match)
    key_problems = _key_problems(spec, frame, columns)
    problems += key_problems
    if not key_problems:
        frame = _fill(frame, spec, columns, current)
    frame = imply(frame, mapped.implied)  # 'erschlossen (gefördert)' sets the funding
    features, found = check_layer(undated(spec), frame, german=True)
    problems += found
    problems += check_inside(spec, features, boundary, town)
    if problems:
        raise InvalidDataError(problems[:MAX_PROBLEMS], f"import of {request.name} refused")
    return _dated(features, request, columns, current, today)
