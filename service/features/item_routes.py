"""Features of each collection: read with Parts 1–3 parameters, write with Part 4 (If-Match)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from service.auth.dependencies import PrincipalDep
from service.auth.tokens import Principal, authorize
from service.core import crs as crs_module
from service.core.cache import VersionedCache
from service.core.errors import (
    BadRequestError,
    MethodNotAllowedError,
    PreconditionRequiredError,
    UnsupportedMediaTypeError,
)
from service.coverage.figures import past_date
from service.db.engine import reading
from service.db.state import data_version
from service.features import checks, documents, html, openapi, writes
from service.features import queries as items
from service.features import query as itemquery
from service.features.etags import item_etag, version_check
from service.features.records import Row
from service.features.routes import collection_or_404
from service.layers import COLLECTIONS, Collection
from service.packages import exports
from service.web.bodies import BodyDep
from service.web.deps import base_url
from service.web.negotiation import etag, negotiated, not_modified, output_format, tags, wants_html

router = APIRouter(tags=["OGC API Features"])


def _representation(target: crs_module.Crs, as_html: bool) -> str:
    if as_html:
        return "html"
    return (
        "" if target == crs_module.DEFAULT else str(target.srid) + ("n" if target.lat_first else "")
    )


def _tag(collection: Collection, row: Row, representation: str, as_of: dt.date | None) -> str:
    """The feature's tag; a past date's state has its own, which no If-Match accepts (its status
    may differ from today's under the same row version, and no write builds on the past)."""
    if as_of is None:
        return item_etag(collection, row.id, row.version, representation)
    return etag(("feature-at", collection.id, row.id, row.version, as_of, representation))


def _only(request: Request, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise BadRequestError.about(unknown[0], f"unknown query parameter; allowed: {allowed}")


def _feature_table(
    collection: Collection, rows: list[Row], base: str, as_of: dt.date | None
) -> html.Table:
    names = list(collection.fields)
    url = f"{base}/collections/{collection.id}/items"
    day = "" if as_of is None else f"&as_of={as_of.isoformat()}"
    body = [
        [html.Cell(row.id, f"{url}/{row.id}?f=html{day}")]
        + [html.Cell(_text(row.properties[name])) for name in names]
        for row in rows
    ]
    return html.Table(["id", *names], body)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


ITEM_FORMATS = ("json", "html", "csv", "gpkg")


def _file(
    collection: Collection, rows: list[Row], target: crs_module.Crs, fmt: str
) -> tuple[bytes, str]:
    """A page as CSV (EWKT geometry) or GeoPackage, for spreadsheets and desktop GIS."""
    frame = gpd.GeoDataFrame(
        [{"id": row.id, **row.properties} for row in rows],
        geometry=[shapely.from_geojson(row.geometry) for row in rows],
        crs=f"EPSG:{target.srid}",
    )
    if fmt == "csv":
        return exports.csv_text(frame, target.srid).encode("utf-8"), "text/csv; charset=utf-8"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{collection.id}.gpkg"
        exports.write_package({collection.id: frame}, exports.ExportFormat.GPKG, path)
        return path.read_bytes(), "application/geopackage+sqlite3"


def _items_route(collection: Collection) -> Callable[..., Awaitable[Response]]:
    async def get_items(request: Request) -> Response:
        return await run_in_threadpool(_items_answer, request, collection)

    return get_items


def _matched(
    request: Request,
    session: Session,
    collection: Collection,
    query: itemquery.ItemQuery,
    version: object,
    returned: int,
) -> int:
    """numberMatched: told by a short page, else counted once per filter and data version
    (every page of a listing shares the count; any committed write moves the version on)."""
    known = itemquery.matched_from_page(query.offset, query.limit, returned)
    if known is not None:
        return known
    counts: VersionedCache = request.app.state.cache
    key = ("matched", collection.id, itemquery.selection(request.query_params.multi_items()))
    return int(counts.get_or_compute(key, version, lambda: items.count(session, collection, query)))


def _items_answer(request: Request, collection: Collection) -> Response:
    """A page of features, read on one worker thread over one connection without a transaction
    (the data version, then the rows; the count only when neither the page nor a cache knows it)."""
    fmt = output_format(request, ITEM_FORMATS)
    as_html = fmt == "html"
    query = itemquery.parse(request.query_params, collection)
    if fmt in ("csv", "gpkg"):  # files keep x/y (east, north) order whatever the CRS says
        query = replace(query, crs=replace(query.crs, lat_first=False))
    with reading(request.app.state.engine) as session:
        query = replace(query, as_of=past_date(session, query.as_of))
        version = data_version(session)
        tag = etag(
            ("items", collection.id, sorted(request.query_params.multi_items()), version, fmt)
        )
        headers = negotiated(
            {"ETag": tag, "Cache-Control": "no-cache", "Content-Crs": query.crs.header}
        )
        if (cached := not_modified(request, tag, headers)) is not None:
            return cached
        rows = items.rows(session, collection, query)
        matched = _matched(request, session, collection, query, version, len(rows))
    url = f"{base_url(request)}/collections/{collection.id}/items"
    params = dict(request.query_params)
    params.pop("f", None)
    links = documents.page_links(url, params, query.offset, query.limit, len(rows), matched)
    if fmt in ("csv", "gpkg"):
        content, media_type = _file(collection, rows, query.crs, fmt)
        headers["Content-Disposition"] = f'attachment; filename="{collection.id}.{fmt}"'
        file_links = documents.page_links(
            url, {**params, "f": fmt}, query.offset, query.limit, len(rows), matched
        )
        following = [x["href"] for x in file_links if x["rel"] == "next"]
        if following:
            headers["Link"] = f'<{following[0]}>; rel="next"'
        return Response(content, media_type=media_type, headers=headers)
    if as_html:
        facts = [("features matched", matched), ("shown", len(rows))]
        view = html.Page(
            f"{collection.title}: features",
            collection.description,
            facts,
            _feature_table(collection, rows, base_url(request), query.as_of),
            [x for x in links if x["rel"] in ("next", "prev")],
        )
        return HTMLResponse(html.render(view, base_url(request)), headers=headers)
    body = documents.feature_collection(rows, matched, links)
    return Response(body, media_type=documents.GEOJSON, headers=headers)


def _item_route(collection: Collection) -> Callable[..., Awaitable[Response]]:
    async def get_item(request: Request, feature_id: str) -> Response:
        return await run_in_threadpool(_item_answer, request, collection, feature_id)

    return get_item


def _item_answer(request: Request, collection: Collection, feature_id: str) -> Response:
    """One feature: one worker thread, one statement outside a transaction."""
    _only(request, ("f", "crs", "as_of"))
    as_html = wants_html(request)
    target = crs_module.parse(request.query_params.get("crs"), "crs")
    as_of = itemquery.parse_as_of(request.query_params.get("as_of"))
    fid = items.parse_id(collection, feature_id)
    with reading(request.app.state.engine) as session:
        as_of = past_date(session, as_of)
        row = items.one(session, collection, fid, target, as_of)
    tag = _tag(collection, row, _representation(target, as_html), as_of)
    headers = negotiated({"ETag": tag, "Cache-Control": "no-cache", "Content-Crs": target.header})
    if (cached := not_modified(request, tag, headers)) is not None:
        return cached
    base = base_url(request)
    if as_html:
        facts = [(name, _text(value)) for name, value in row.properties.items()]
        links = documents.feature_links(base, collection, row.id, as_of)
        view = html.Page(f"{collection.title} #{row.id}", None, facts, links=links)
        return HTMLResponse(html.render(view, base), headers=headers)
    body = documents.feature_doc(base, collection, row, as_of)
    return Response(body, media_type=documents.GEOJSON, headers=headers)


def _written(request: Request, collection: Collection, row: Row, status: int) -> Response:
    headers = {
        "ETag": item_etag(collection, row.id, row.version),
        "Content-Crs": crs_module.DEFAULT.header,
    }
    if status == 201:
        headers["Location"] = f"{base_url(request)}/collections/{collection.id}/items/{row.id}"
    body = documents.feature_doc(base_url(request), collection, row)
    return Response(body, status_code=status, media_type=documents.GEOJSON, headers=headers)


BODY_TYPES = {
    "create": ("application/geo+json", "application/json"),
    "put": ("application/geo+json", "application/json"),
    "patch": ("application/merge-patch+json", "application/json"),
}


def _content_type(request: Request, operation: str) -> None:
    """A PUT body is a whole feature, a PATCH body a merge patch: the type says which is meant."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in BODY_TYPES[operation]:
        raise UnsupportedMediaTypeError(
            f"{operation.upper() if operation != 'create' else 'POST'} reads "
            f"{' or '.join(BODY_TYPES[operation])}, not {declared or 'a body without Content-Type'}"
        )


def _content_crs(request: Request) -> crs_module.Crs:
    return crs_module.parse(request.headers.get("content-crs"), "Content-Crs")


def _if_match(request: Request, collection: Collection, feature_id: int) -> str:
    header = request.headers.get("if-match")
    if not header or any(tag.removeprefix("W/") == "*" for tag in tags(header)):
        raise PreconditionRequiredError(
            f"{collection.id} #{feature_id}: send If-Match with the ETag you read "
            "(not `*`), so that no one else's edit is overwritten"
        )
    return header


def _create_route(collection: Collection) -> Callable[..., Response]:
    def create(request: Request, principal: PrincipalDep, body: BodyDep) -> Response:
        authorize(principal, collection)
        _only(request, ())
        _content_type(request, "create")
        document = checks.load_json(body, collection.id)
        factory = request.app.state.sessionmaker
        row = writes.create(factory, collection, document, _content_crs(request), principal.name)
        return _written(request, collection, row, 201)

    return create


def _change_route(collection: Collection, patch: bool) -> Callable[..., Response]:
    def change(
        request: Request, principal: PrincipalDep, body: BodyDep, feature_id: str
    ) -> Response:
        authorize(principal, collection)
        _only(request, ())
        fid = items.parse_id(collection, feature_id)
        header = _if_match(request, collection, fid)
        _content_type(request, "patch" if patch else "put")
        document = checks.load_json(body, collection.id)
        row = writes.change(
            request.app.state.sessionmaker,
            collection,
            fid,
            document,
            _content_crs(request),
            principal.name,
            version_check(header, collection, fid),
            patch,
        )
        return _written(request, collection, row, 200)

    return change


def _delete_route(collection: Collection) -> Callable[..., Response]:
    def delete(request: Request, principal: PrincipalDep, feature_id: str) -> Response:
        authorize(principal, collection)
        _only(request, ())
        fid = items.parse_id(collection, feature_id)
        header = _if_match(request, collection, fid)
        check = version_check(header, collection, fid)
        writes.delete(request.app.state.sessionmaker, collection, fid, principal.name, check)
        return Response(status_code=204)

    return delete


def _routes(
    collection: Collection,
) -> list[tuple[str, Callable[..., Response | Awaitable[Response]], str, str, int]]:
    """(path suffix, handler, method, summary, status) of each operation on a collection."""
    routes: list[tuple[str, Callable[..., Response | Awaitable[Response]], str, str, int]] = [
        ("", _items_route(collection), "GET", "features (filter, sort, page, reproject)", 200),
        ("/{feature_id}", _item_route(collection), "GET", "one feature", 200),
    ]
    if collection.write_role is not None:
        routes += [
            ("", _create_route(collection), "POST", f"add (role {collection.write_role})", 201),
            ("/{feature_id}", _change_route(collection, patch=False), "PUT", "replace", 200),
            ("/{feature_id}", _change_route(collection, patch=True), "PATCH", "merge patch", 200),
            ("/{feature_id}", _delete_route(collection), "DELETE", "delete", 204),
        ]
    return routes


OPERATIONS = {("", "GET"): "items", ("/{feature_id}", "GET"): "item", ("", "POST"): "create"}


def _register() -> None:
    for collection in COLLECTIONS.values():
        for suffix, handler, method, summary, status in _routes(collection):
            operation = OPERATIONS.get((suffix, method), method.lower())
            router.add_api_route(
                f"/collections/{collection.id}/items{suffix}",
                handler,
                methods=[method],
                name=f"{collection.id}_{operation}",
                summary=f"{collection.title}: {summary}",
                response_class=Response,
                status_code=status,
                openapi_extra=openapi.operation(collection, operation),
            )


_register()


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def allowed(collection: Collection, item: bool) -> tuple[str, ...]:
    """The methods the items (or one item) of a collection answer: what `_routes` registers."""
    suffix = "/{feature_id}" if item else ""
    return tuple(method for path, _, method, _, _ in _routes(collection) if path == suffix)


@router.api_route("/collections/{collection_id}/items", methods=ANY_METHOD, include_in_schema=False)
@router.api_route(
    "/collections/{collection_id}/items/{feature_id}", methods=ANY_METHOD, include_in_schema=False
)
def other_requests(request: Request, collection_id: str) -> Response:
    """What no route above answers: an unknown collection is a 404 that lists the real ones
    (whatever the method); any other method is a 405 whose `Allow` names the collection's."""
    found = collection_or_404(collection_id)
    methods = allowed(found, "feature_id" in request.path_params)
    if found.write_role is None and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        message = f"{found.id} is read-only over the API; it changes when a data package is loaded"
    else:
        message = f"{request.method} is not allowed here; allowed: {', '.join(methods)}"
    raise MethodNotAllowedError(message, methods)


__all__ = ["Principal", "router"]
