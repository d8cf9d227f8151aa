"""OpenAPI fragments for the per-collection routes, so clients see every parameter and body."""

from __future__ import annotations

from typing import Any

from service.core import crs as crs_module
from service.features import cql
from service.features.documents import GEOJSON
from service.features.query import DEFAULT_LIMIT, MAX_LIMIT
from service.layers import Collection, field_schema

PROBLEM = {"description": "Problem document", "content": {"application/problem+json": {}}}


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


def _crs_parameter(name: str, description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "enum": crs_module.URIS}, description)


FORMAT = _query("f", {"type": "string", "enum": ["json", "html"]}, "json (GeoJSON) or html")
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
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "minx,miny,maxx,maxy in bbox-crs (default CRS84: lon,lat)",
            style="form",
            explode=False,
        ),
        _crs_parameter("bbox-crs", "CRS of bbox"),
        _crs_parameter("crs", "CRS of the returned geometries (Content-Crs says which)"),
        _query("sortby", {"type": "string"}, "e.g. name,-status_since"),
        _query("filter", {"type": "string"}, "CQL2 expression, e.g. status = 'connected'"),
        _query(
            "filter-lang",
            {"type": "string", "enum": list(cql.LANGUAGES), "default": "cql2-text"},
            "language of filter",
        ),
        _crs_parameter("filter-crs", "CRS of geometries in filter"),
    ]
    if collection.temporal is not None:
        parameters.append(
            _query(
                "datetime",
                {"type": "string"},
                "status_since: a date or an interval a/b, ../b, a/..",
            )
        )
    for name, spec in collection.fields.items():
        parameters.append(_query(name, field_schema(spec), f"only features whose {name} equals"))
    return {
        "parameters": parameters,
        "responses": {
            "200": {"description": "A page of features", "content": {GEOJSON: {}, "text/html": {}}},
            "400": PROBLEM,
        },
    }


def item_get() -> dict[str, Any]:
    """Parameters of the single-feature request."""
    return {
        "parameters": [FORMAT, _crs_parameter("crs", "CRS of the returned geometry")],
        "responses": {
            "200": {"description": "The feature", "content": {GEOJSON: {}, "text/html": {}}},
            "404": PROBLEM,
        },
    }


def feature_schema(collection: Collection, required: bool) -> dict[str, Any]:
    """A GeoJSON Feature of this collection as a client sends it; in a patch `null` removes."""
    properties: dict[str, Any] = {}
    for name, spec in collection.fields.items():
        schema = field_schema(spec)
        optional = not spec.required or not required
        properties[name] = {"anyOf": [schema, {"type": "null"}]} if optional else schema
    properties["updated_at"] = {"type": "string", "format": "date-time", "readOnly": True}
    needed = [name for name, spec in collection.fields.items() if spec.required]
    geometry_types = (
        ["MultiPolygon", "Polygon"]
        if collection.geometry_type == "MultiPolygon"
        else [collection.geometry_type]
    )
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
            "geometry": {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": {"type": "string", "enum": geometry_types},
                    "coordinates": {"type": "array"},
                },
            },
        },
    }


def _header(name: str, required: bool, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


def write(collection: Collection, kind: str) -> dict[str, Any]:
    """Body, headers and answers of a write: `create`, `put`, `patch` or `delete`."""
    headers = []
    if kind != "create":
        headers.append(_header("If-Match", True, "The ETag you read"))
    if kind != "delete":
        headers.append(_header("Content-Crs", False, "CRS of the body, default CRS84"))
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
