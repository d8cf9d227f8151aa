"""OGC API Features documents (landing page, conformance, collections, features), built as data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from service.core import crs as crs_module
from service.features.records import Extent, Row
from service.layers import Collection, geometry_format, property_schemas
from service.packages.validation import plain

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    """One link object."""
    result = {"href": href, "rel": rel, "type": type_}
    if title:
        result["title"] = title
    return result


def landing(base: str, title: str) -> dict[str, Any]:
    """The landing page: where everything else is."""
    return {
        "title": title,
        "description": "Fibre roll-out of the municipality: expansion areas, hamlets, schools, "
        "addresses and coverage, as OGC API Features.",
        "links": [
            link(f"{base}/", "self", JSON, "this document"),
            link(f"{base}/?f=html", "alternate", HTML, "this document as HTML"),
            link(f"{base}/api", "service-desc", OPENAPI, "the API definition"),
            link(f"{base}/docs", "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/collections", "data", JSON, "feature collections"),
            link(f"{base}/map", "alternate", HTML, "the coverage map"),
            link(f"{base}/coverage", "related", JSON, "coverage figures"),
            link(f"{base}/changes", "related", JSON, "the change log"),
        ],
    }


def collection_doc(base: str, collection: Collection, extent: Extent) -> dict[str, Any]:
    """One collection's metadata: extent, CRS list, links to its items and queryables."""
    url = f"{base}/collections/{collection.id}"
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": crs_module.URIS,
        "storageCrs": crs_module.STORAGE.uri,
        "links": [
            link(url, "self", JSON, collection.title),
            link(f"{url}?f=html", "alternate", HTML, f"{collection.title} as HTML"),
            link(f"{url}/items", "items", GEOJSON, f"{collection.title} features"),
            link(f"{url}/items?f=html", "items", HTML, f"{collection.title} features as HTML"),
            link(
                f"{url}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "properties to filter on",
            ),
        ],
    }
    spatial: dict[str, Any] = {"crs": crs_module.CRS84}
    if extent.bbox is not None:
        spatial["bbox"] = [list(extent.bbox)]
    doc["extent"] = {"spatial": spatial}
    if collection.temporal is not None:
        interval = [_iso(extent.first), _iso(extent.last)]
        doc["extent"]["temporal"] = {
            "interval": [interval],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return doc


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def collections_doc(base: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """All collections, with the CRS every one of them offers."""
    return {
        "links": [
            link(f"{base}/collections", "self", JSON, "feature collections"),
            link(f"{base}/collections?f=html", "alternate", HTML, "feature collections as HTML"),
        ],
        "collections": docs,
        "crs": crs_module.URIS,
    }


def queryables(base: str, collection: Collection) -> dict[str, Any]:
    """Part 3 queryables: a JSON Schema of the properties and the geometry."""
    properties: dict[str, Any] = dict(property_schemas(collection))
    properties["geometry"] = {
        "format": geometry_format(collection),
        "x-ogc-role": "primary-geometry",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection.id}/queryables",
        "type": "object",
        "title": collection.title,
        "properties": properties,
        "additionalProperties": False,
    }


def feature_json(row: Row) -> str:
    """One GeoJSON feature as text; the geometry text comes straight from PostGIS."""
    properties = json.dumps(row.properties, default=plain, ensure_ascii=False)
    return f'{{"type":"Feature","id":{row.id},"geometry":{row.geometry},"properties":{properties}}}'


def page_links(
    url: str, params: dict[str, str], offset: int, limit: int, returned: int, matched: int
) -> list[dict[str, str]]:
    """self, alternate, and next/prev links that keep every other parameter."""

    def href(**changes: Any) -> str:
        query = {k: v for k, v in {**params, **changes}.items() if v is not None}
        return f"{url}?{urlencode(query)}" if query else url

    links = [
        link(href(), "self", GEOJSON, "this page"),
        link(href(f="html"), "alternate", HTML, "this page as HTML"),
    ]
    return links + paging(href, offset, limit, returned, matched, GEOJSON)


def paging(
    href: Callable[..., str], offset: int, limit: int, returned: int, matched: int, type_: str
) -> list[dict[str, str]]:
    """next/prev links of a paged list; `href(offset=...)` builds the URL with the new offset."""
    links = []
    if offset + returned < matched:
        links.append(link(href(offset=str(offset + limit)), "next", type_, "next page"))
    if offset > 0:
        links.append(link(href(offset=str(max(offset - limit, 0))), "prev", type_, "previous"))
    return links


def feature_collection(rows: list[Row], matched: int, links: list[dict[str, str]]) -> str:
    """A FeatureCollection page as text, built without re-parsing the geometries."""
    features = ",".join(feature_json(row) for row in rows)
    meta = {
        "numberMatched": matched,
        "numberReturned": len(rows),
        "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }
    return f'{{"type":"FeatureCollection","features":[{features}],{json.dumps(meta)[1:]}'


def feature_links(
    base: str, collection: Collection, feature_id: int, as_of: dt.date | None = None
) -> list[dict[str, str]]:
    """Links of one feature: itself (as of the date read), its HTML page, its collection, and
    the map showing it."""
    url = f"{base}/collections/{collection.id}/items/{feature_id}"
    day = "" if as_of is None else f"as_of={as_of.isoformat()}"
    links = [
        link(f"{url}?{day}" if day else url, "self", GEOJSON, "this feature"),
        link(
            f"{url}?f=html" + (f"&{day}" if day else ""), "alternate", HTML, "this feature as HTML"
        ),
        link(f"{base}/collections/{collection.id}", "collection", JSON, collection.title),
    ]
    if collection.highlightable:
        target = f"{base}/map?highlight={collection.id}/{feature_id}"
        links.append(link(target, "related", HTML, "on the map"))
    return links


def feature_doc(base: str, collection: Collection, row: Row, as_of: dt.date | None = None) -> str:
    """One feature with its links."""
    links = feature_links(base, collection, row.id, as_of)
    return feature_json(row)[:-1] + ',"links":' + json.dumps(links) + "}"
