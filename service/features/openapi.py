"""OpenAPI fragments for the per-collection routes, so clients see every parameter and body."""

from __future__ import annotations

import json
from typing import Any

from service.core import crs as crs_module
from service.core import dates
from service.features import cql
from service.features.documents import GEOJSON, HTML, JSON
from service.features.query import DEFAULT_LIMIT, MAX_LIMIT
from service.layers import WHITE_SPACE, Collection, FieldSpec, field_schema, property_schemas
from service.packages.validation import plain
from service.web.openapi import NOT_MODIFIED, problem

PROBLEM = problem("Problem document")
CSV = "text/csv"
GPKG = "application/geopackage+sqlite3"
INSTANT = f"{dates.DATE}(?:{dates.TIME})?"
DATETIME_PATTERN = rf"^(?:{INSTANT}|(?:{INSTANT}|[.][.])?/(?:{INSTANT}|[.][.])?)$"
"""An instant, or an interval start/end whose open ends are `..` or empty (OGC API Features)."""
ENTITY_TAG = '(?:W/)?"[^",]*"'
ENTITY_TAGS = f"^{ENTITY_TAG}(?:[{WHITE_SPACE}]*,[{WHITE_SPACE}]*{ENTITY_TAG})*$"
"""If-Match: one or more entity tags (RFC 9110), never `*`: a write names the version it read.
A tag here holds no comma (ours are hex), as the list is split at commas."""


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


ALIASES = "; EPSG:<code> and the URN forms of these are read too"
AS_OF = _query(
    "as_of",
    {"type": "string", "format": "date"},
    "the state at the end of this date, not after today (default: as it stands): features "
    "deleted since are there, ones created since are not, each with its geometry and status of "
    "that date; `datetime` then filters on the status_since of that date",
)


def _crs_parameter(name: str, description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "enum": crs_module.URIS}, description + ALIASES)


FORMAT = _query("f", {"type": "string", "enum": ["json", "html"]}, "json (GeoJSON) or html")
METADATA_FORMAT = _query(
    "f", {"type": "string", "enum": ["json", "html"]}, "json or html (default: by Accept)"
)
ITEMS_FORMAT = _query(
    "f",
    {"type": "string", "enum": ["json", "html", "csv", "gpkg"]},
    "json (GeoJSON), html, csv (EWKT geometry) or gpkg (GeoPackage); csv and gpkg keep x/y order",
)


def items_get(collection: Collection) -> dict[str, Any]:
    """Parameters of the items request: Part 1 paging and bbox, Part 2 CRS, Part 3 filters."""
    parameters = [
        ITEMS_FORMAT,
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "features per page",
        ),
        _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "features to skip"),
        _query(
            "bbox",
            {
                "type": "array",
                "items": {"type": "number"},
                "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
            },
            "minx,miny,maxx,maxy in bbox-crs (default CRS84: lon,lat), or six numbers with heights",
            style="form",
            explode=False,
        ),
        _crs_parameter("bbox-crs", "CRS of bbox"),
        _crs_parameter("crs", "CRS of the returned geometries (Content-Crs says which)"),
        _query(
            "sortby",
            {"type": "string", "pattern": _sortby_pattern(collection)},
            "e.g. name,-status_since",
        ),
        _query("filter", {"type": "string"}, "CQL2 expression, e.g. status = 'connected'"),
        _query(
            "filter-lang",
            {"type": "string", "enum": list(cql.LANGUAGES), "default": "cql2-text"},
            "language of filter",
        ),
        _crs_parameter("filter-crs", "CRS of geometries in filter"),
        AS_OF,
    ]
    if collection.temporal is not None:
        parameters.append(
            _query(
                "datetime",
                {"type": "string", "pattern": DATETIME_PATTERN},
                "status_since: a date (or RFC 3339 date-time) or an interval a/b, ../b, a/..; "
                "it filters on when the status began, while as_of picks the date whose state "
                "is read",
            )
        )
    for name, spec in collection.fields.items():
        parameters.append(_filter(name, spec))
    return {
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "A page of features",
                "content": {GEOJSON: {}, HTML: {}, CSV: {}, GPKG: {}},
            },
            "304": NOT_MODIFIED,
            "400": PROBLEM,
        },
    }


def json_text(value: Any) -> str:
    """A default as a client writes it: `false`, `unknown`."""
    value = plain(value)
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _filter(name: str, spec: FieldSpec) -> dict[str, Any]:
    """`?name=value` on a property; an optional one's empty value selects its default."""
    schema = field_schema(spec)
    description = f"only features whose {name} equals"
    if not spec.required:
        default = "without one" if spec.default is None else f"{name} = {json_text(spec.default)}"
        schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
        description += f"; empty: those {default}"
    return _query(name, schema, description)


def _sortby_pattern(collection: Collection) -> str:
    """Comma-separated sortables, each maybe led by + or -, spaces around them allowed."""
    blank = f"[{WHITE_SPACE}]*"
    key = f"{blank}[+-]?{blank}(?:{'|'.join(property_schemas(collection))}){blank}"
    return f"^(?:{key}(?:,{key})*)?$"


def metadata(media_type: str = JSON, conditional: bool = False) -> dict[str, Any]:
    """Landing page, conformance, collections: JSON or HTML by `f` (or Accept); the ones with
    an ETag answer a matching If-None-Match with 304."""
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {media_type: {}, HTML: {}}}
    }
    if conditional:
        responses["304"] = NOT_MODIFIED
    return {"parameters": [METADATA_FORMAT], "responses": responses}


def api_definition() -> dict[str, Any]:
    """`/api`: this document as JSON, or (`f=html`, a browser) a redirect to its pages."""
    return {
        "parameters": [METADATA_FORMAT],
        "responses": {"303": {"description": "See Other: the rendered pages at /docs"}},
    }


def item_get() -> dict[str, Any]:
    """Parameters of the single-feature request."""
    return {
        "parameters": [FORMAT, _crs_parameter("crs", "CRS of the returned geometry"), AS_OF],
        "responses": {
            "200": {"description": "The feature", "content": {GEOJSON: {}, HTML: {}}},
            "304": NOT_MODIFIED,
            "400": PROBLEM,
            "404": PROBLEM,
        },
    }


def _nested(depth: int, smallest: int) -> dict[str, Any]:
    """Positions nested `depth` arrays deep; the innermost (rings) hold at least `smallest`."""
    schema: dict[str, Any] = POSITION
    for level in range(depth):
        schema = {"type": "array", "minItems": smallest if level == 0 else 1, "items": schema}
    return schema


POSITION = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}
COORDINATES = {
    "Point": POSITION,
    "Polygon": _nested(2, 4),  # rings of at least four positions, the last equal to the first
    "MultiPolygon": _nested(3, 4),
}


def geometry_schema(geometry_type: str) -> dict[str, Any]:
    """The GeoJSON geometries a collection stores; a MultiPolygon layer also takes a Polygon."""
    accepted = ["MultiPolygon", "Polygon"] if geometry_type == "MultiPolygon" else [geometry_type]
    shapes = [
        {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {"type": {"const": name}, "coordinates": COORDINATES[name]},
        }
        for name in accepted
    ]
    return shapes[0] if len(shapes) == 1 else {"oneOf": shapes}


def feature_schema(collection: Collection, required: bool) -> dict[str, Any]:
    """A GeoJSON Feature of this collection as a client sends it; in a patch `null` removes."""
    properties: dict[str, Any] = {}
    for name, spec in collection.fields.items():
        schema = field_schema(spec)
        optional = not spec.required or not required
        properties[name] = {"anyOf": [schema, {"type": "null"}]} if optional else schema
    properties["updated_at"] = {"type": "string", "format": "date-time", "readOnly": True}
    needed = [name for name, spec in collection.fields.items() if spec.required]
    return {
        "type": "object",
        "required": ["type", "properties", "geometry"] if required else [],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "properties": {
                "type": "object",
                "properties": properties,
                "required": needed if required else [],
                "additionalProperties": False,
            },
            "geometry": geometry_schema(collection.geometry_type),
        },
    }


def _header(
    name: str, required: bool, description: str, pattern: str | None = None
) -> dict[str, Any]:
    schema = {"type": "string"} if pattern is None else {"type": "string", "pattern": pattern}
    return {
        "name": name,
        "in": "header",
        "required": required,
        "schema": schema,
        "description": description,
    }


def _content_crs() -> dict[str, Any]:
    """The CRS of a written body, as OGC API Features Part 2 spells it (`<uri>`) or bare."""
    uris = crs_module.URIS + [f"<{uri}>" for uri in crs_module.URIS]
    header = _header("Content-Crs", False, "CRS of the body, default CRS84" + ALIASES)
    return {**header, "schema": {"type": "string", "enum": uris}}


def write(collection: Collection, kind: str) -> dict[str, Any]:
    """Body, headers and answers of a write: `create`, `put`, `patch` or `delete`."""
    headers = []
    if kind != "create":
        headers.append(_header("If-Match", True, "The ETag you read", ENTITY_TAGS))
    if kind != "delete":
        headers.append(_content_crs())
    codes = (400, 401, 403, 404, 409, 412, 413, 415, 422, 428)
    responses: dict[str, Any] = {str(code): PROBLEM for code in codes}
    tag = {"ETag": {"schema": {"type": "string"}, "description": "the new version's tag"}}
    if kind == "delete":
        responses["204"] = {"description": "Deleted"}
    else:
        status, what = ("201", "Created") if kind == "create" else ("200", "Saved")
        if kind == "create":
            tag["Location"] = {"schema": {"type": "string"}, "description": "the new feature"}
        responses[status] = {
            "description": f"{what}: the feature as stored (CRS84)",
            "headers": tag,
            "content": {GEOJSON: {}},
        }
    result: dict[str, Any] = {"parameters": headers, "responses": responses}
    if kind != "delete":
        media = "application/merge-patch+json" if kind == "patch" else GEOJSON
        schema = feature_schema(collection, required=kind != "patch")
        result["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema}, "application/json": {"schema": schema}},
        }
    return result


def operation(collection: Collection, kind: str) -> dict[str, Any]:
    """The OpenAPI additions of one operation: `items`, `item`, or a write."""
    if kind == "items":
        return items_get(collection)
    if kind == "item":
        return item_get()
    return write(collection, kind)
