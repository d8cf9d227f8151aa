"""Parses the query string of an items request into a checked, typed query (Parts 1–3)."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyproj

from service.core import crs as crs_module
from service.core import dates
from service.core.crs import STORAGE_SRID, Crs
from service.core.errors import BadRequestError
from service.features import cql
from service.layers import Collection, FieldSpec, FieldType, property_schemas
from service.packages.validation import parse_field

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
COMMON = ("f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "as_of", "sortby")
FILTERING = ("filter", "filter-lang", "filter-crs")


@dataclass(frozen=True)
class ItemQuery:
    """What an items request asks for, every value already checked."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = crs_module.DEFAULT
    crs: Crs = crs_module.DEFAULT
    period: tuple[dt.date | None, dt.date | None] | None = None
    as_of: dt.date | None = None  # the state at the end of this day (None: as it stands)
    equals: dict[str, Any] = field(default_factory=dict)
    sortby: tuple[tuple[str, bool], ...] = ()
    filter: Any = None
    filter_crs: Crs = crs_module.DEFAULT


def _integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError.about(name, f"expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequestError.about(name, f"expected {low} to {high:,}, got {value}")
    return value


def parse_bbox(raw: str, bbox_crs: Crs) -> tuple[float, float, float, float]:
    """Four numbers (or six with heights, which are ignored) in the axis order of bbox-crs."""
    try:
        numbers = [float(part) for part in raw.split(",")]
    except ValueError:
        raise BadRequestError.about(
            "bbox", f"expected comma-separated numbers, got {raw!r}"
        ) from None
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise BadRequestError.about("bbox", f"expected 4 (or 6) finite numbers, got {raw!r}")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    x1, y1, x2, y2 = numbers
    if bbox_crs.lat_first:  # e.g. EPSG:4326: lat,lon order
        x1, y1, x2, y2 = y1, x1, y2, x2
    if x1 > x2 or y1 > y2:
        raise BadRequestError.about(
            "bbox", f"lower corner must come first and lie below the upper, got {raw!r}"
        )
    if bbox_crs.srid == 4326 and not (x1 >= -180 and x2 <= 180 and y1 >= -90 and y2 <= 90):
        raise BadRequestError.about("bbox", f"longitude/latitude out of range in {raw!r}")
    if not _placeable(bbox_crs, (x1, y1, x2, y2)):
        raise BadRequestError.about("bbox", f"{raw!r} lies outside where {bbox_crs.uri} is defined")
    return x1, y1, x2, y2


@functools.cache
def _to_storage(srid: int) -> pyproj.Transformer:
    """Built once per CRS: building a transformer costs more than the request it serves."""
    return pyproj.Transformer.from_crs(srid, STORAGE_SRID, always_xy=True)


def _placeable(crs: Crs, bbox: tuple[float, float, float, float]) -> bool:
    """Whether every corner can be transformed into the storage CRS."""
    if crs.srid == STORAGE_SRID:
        return True
    transformer = _to_storage(crs.srid)
    x1, y1, x2, y2 = bbox
    xs, ys = transformer.transform([x1, x1, x2, x2], [y1, y2, y1, y2])
    return all(math.isfinite(v) for v in (*xs, *ys))


def _day(text: str) -> dt.date:
    try:
        if "T" in text.upper():
            return dates.parse_date_time(text).date()
        return dates.parse_date(text)
    except ValueError:
        raise BadRequestError.about(
            "datetime", f"expected RFC 3339 date or date-time, got {text!r}"
        ) from None


def parse_datetime(raw: str, collection: Collection) -> tuple[dt.date | None, dt.date | None]:
    """An instant or an interval (`a/b`, `../b`, `a/..`) compared with the status date."""
    if collection.temporal is None:
        raise BadRequestError.about(
            "datetime", f"{collection.id} has no temporal property to filter on"
        )
    parts = raw.split("/")
    if len(parts) == 1:
        day = _day(parts[0])
        return day, day
    if len(parts) != 2:
        raise BadRequestError.about("datetime", f"expected an instant or start/end, got {raw!r}")
    start = None if parts[0] in ("", "..") else _day(parts[0])
    end = None if parts[1] in ("", "..") else _day(parts[1])
    if start and end and start > end:
        raise BadRequestError.about("datetime", f"start lies after end in {raw!r}")
    return start, end


def parse_as_of(raw: str | None) -> dt.date | None:
    """The date whose state is read (its end); whether it lies in the future the database says."""
    if raw is None:
        return None
    try:
        return dates.parse_date(raw)
    except ValueError:
        raise BadRequestError.about("as_of", f"expected a date YYYY-MM-DD, got {raw!r}") from None


def parse_sortby(raw: str, collection: Collection) -> tuple[tuple[str, bool], ...]:
    """`name,-status_since`: a leading `-` sorts descending, `+` (or nothing) ascending."""
    sortable = list(property_schemas(collection))
    keys = []
    for part in (p.strip() for p in raw.split(",")):
        descending = part.startswith("-")
        name = (part[1:] if part[:1] in ("+", "-") else part).strip()  # one sign at most
        if name not in sortable:
            raise BadRequestError.about(
                "sortby", f"cannot sort {collection.id} by {name!r}; sortables: {sortable}"
            )
        keys.append((name, descending))
    return tuple(keys)


# How a filter value is written, where a delivery's reader is more lenient (`ja`, `1.0`,
# ` 48653`): exactly as the API description's types say, so the two agree.
STRICT = {
    FieldType.BOOLEAN: ("true|false", "true or false"),
    FieldType.INTEGER: ("[0-9]+", "a whole number"),
    FieldType.DATE: (dates.DATE, "a date YYYY-MM-DD"),
    FieldType.AGS: ("[0-9]{8}", "an 8-digit municipality key (AGS)"),
    FieldType.POSTCODE: ("[0-9]{5}", "a 5-digit postcode"),
}


def _filter_value(spec: FieldSpec, raw: str) -> Any:
    """A property filter's value; empty means the field's default (for most: no value)."""
    if raw and spec.kind in STRICT:
        pattern, expected = STRICT[spec.kind]
        if not re.fullmatch(pattern, raw):
            raise ValueError(f"expected {expected}, got {raw!r}")
    return parse_field(spec, raw)


def _equals(params: Mapping[str, str], collection: Collection) -> dict[str, Any]:
    equals: dict[str, Any] = {}
    for name, spec in collection.fields.items():
        if name in params:
            try:
                equals[name] = _filter_value(spec, params[name])
            except ValueError as exc:
                raise BadRequestError.about(name, str(exc)) from None
    return equals


def parse(params: Mapping[str, str], collection: Collection) -> ItemQuery:
    """Check every parameter; an unknown one is an error, not silently ignored."""
    known = set(COMMON) | set(FILTERING) | set(collection.fields)
    unknown = sorted(set(params) - known)
    if unknown:
        raise BadRequestError.about(
            unknown[0], f"unknown query parameter; allowed: {', '.join(sorted(known))}"
        )
    bbox_crs = crs_module.parse(params.get("bbox-crs"), "bbox-crs")
    filter_crs = crs_module.parse(params.get("filter-crs"), "filter-crs")
    raw_filter = params.get("filter")
    language = params.get("filter-lang")
    if language is not None and language not in cql.LANGUAGES:  # checked with or without filter
        raise BadRequestError.about(
            "filter-lang", f"unknown filter-lang {language!r}; supported: {list(cql.LANGUAGES)}"
        )
    return ItemQuery(
        limit=_integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_integer(params, "offset", 0, 0, 2**31 - 1),
        bbox=parse_bbox(params["bbox"], bbox_crs) if "bbox" in params else None,
        bbox_crs=bbox_crs,
        crs=crs_module.parse(params.get("crs"), "crs"),
        period=parse_datetime(params["datetime"], collection) if "datetime" in params else None,
        as_of=parse_as_of(params.get("as_of")),
        equals=_equals(params, collection),
        sortby=parse_sortby(params["sortby"], collection) if params.get("sortby") else (),
        filter=cql.parse(raw_filter, language) if raw_filter else None,
        filter_crs=filter_crs,
    )


# Parameters that shape the answer but not which features match: a count holds for all of them.
NOT_SELECTING = frozenset({"f", "limit", "offset", "crs", "sortby"})


def selection(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The parameters, as sent, that decide which features match: what a count is kept for."""
    return tuple(sorted((k, v) for k, v in pairs if k not in NOT_SELECTING))


def matched_from_page(offset: int, limit: int, returned: int) -> int | None:
    """numberMatched when the page itself tells it (a short page that is not past the end);
    None when only counting can."""
    if returned < limit and (returned > 0 or offset == 0):
        return offset + returned
    return None
