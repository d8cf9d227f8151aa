"""OGC API Features metadata: landing page, conformance, API definition, collections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service.core.errors import NotFoundError
from service.features import documents as ogc
from service.features import html, openapi
from service.features import queries as items
from service.layers import COLLECTIONS, Collection
from service.tiles import rules as tiles
from service.web.cached import cached, current_version
from service.web.deps import SessionDep, base_url
from service.web.negotiation import etag, negotiated, not_modified, wants_html

router = APIRouter(tags=["OGC API Features"])
QUERYABLES_TYPE = "application/schema+json"


def collection_or_404(collection_id: str) -> Collection:
    """The collection, or a 404 that lists the ones there are."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFoundError(
            f"no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}"
        ) from None


def _respond(request: Request, document: Any, page: html.Page, media_type: str) -> Response:
    headers = negotiated({})
    if wants_html(request):
        return HTMLResponse(html.render(page, base_url(request)), headers=headers)
    return JSONResponse(document, media_type=media_type, headers=headers)


def _links_page(title: str, description: str | None, links: list[dict[str, str]]) -> html.Page:
    return html.Page(title, description, links=[x for x in links if x["type"] != ogc.HTML])


@router.get("/", summary="Landing page", response_model=None, openapi_extra=openapi.metadata())
def landing(request: Request) -> Response:
    """Where everything is: API definition, conformance, collections, map."""
    document = ogc.landing(base_url(request), request.app.title)
    document["links"] += tiles.landing_links(base_url(request))
    page = _links_page(document["title"], document["description"], document["links"])
    return _respond(request, document, page, ogc.JSON)


@router.get(
    "/conformance",
    summary="Conformance classes implemented",
    response_model=None,
    openapi_extra=openapi.metadata(),
)
def conformance(request: Request) -> Response:
    """Exactly the classes this service implements and tests."""
    classes = ogc.CONFORMANCE + tiles.CONFORMANCE
    document = {"conformsTo": classes}
    rows = [[html.Cell(uri, uri)] for uri in classes]
    page = html.Page("Conformance", table=html.Table(["conformance class"], rows))
    return _respond(request, document, page, ogc.JSON)


@router.get(
    "/api",
    summary="The API definition (OpenAPI)",
    response_model=None,
    openapi_extra=openapi.api_definition(),
)
def api_definition(request: Request) -> Response:
    """The OpenAPI document; `/docs` renders it for people."""
    if wants_html(request):
        return Response(status_code=303, headers={"Location": f"{base_url(request)}/docs"})
    return JSONResponse(request.app.openapi(), media_type=ogc.JSON)


def _collection_doc(request: Request, session: SessionDep, collection: Collection) -> Any:
    key = ("collection", collection.id)
    extent = cached(request, session, key, lambda: items.extent(session, collection))
    document = ogc.collection_doc(base_url(request), collection, extent)
    document["links"] += tiles.collection_links(base_url(request), collection.id)
    return document


def _cached_json(request: Request, session: SessionDep, name: str) -> tuple[str, dict[str, str]]:
    key = (name, request.url.path, str(request.query_params), wants_html(request))
    tag = etag((*key, current_version(request, session, key)))
    return tag, negotiated({"ETag": tag, "Cache-Control": "no-cache"})


@router.get(
    "/collections",
    summary="The feature collections",
    response_model=None,
    openapi_extra=openapi.metadata(conditional=True),
)
def collections(request: Request, session: SessionDep) -> Response:
    """Every collection with its extent and CRS list."""
    tag, headers = _cached_json(request, session, "collections")
    if (cached := not_modified(request, tag, headers)) is not None:
        return cached
    docs = [_collection_doc(request, session, c) for c in COLLECTIONS.values()]
    document = ogc.collections_doc(base_url(request), docs)
    rows = [
        [html.Cell(d["title"], f"{d['links'][0]['href']}?f=html"), html.Cell(d["description"])]
        for d in docs
    ]
    page = html.Page("Collections", table=html.Table(["collection", "description"], rows))
    response = _respond(request, document, page, ogc.JSON)
    response.headers.update(headers)
    return response


@router.get(
    "/collections/{collection_id}",
    summary="One collection",
    response_model=None,
    openapi_extra=openapi.metadata(conditional=True),
)
def collection(request: Request, session: SessionDep, collection_id: str) -> Response:
    """Extent, CRS list, item type and links of one collection."""
    found = collection_or_404(collection_id)
    tag, headers = _cached_json(request, session, "collection")
    if (cached := not_modified(request, tag, headers)) is not None:
        return cached
    document = _collection_doc(request, session, found)
    extent = document["extent"]
    facts = [("id", found.id), ("spatial extent (CRS84)", extent["spatial"].get("bbox"))]
    if "temporal" in extent:
        facts.append(("status dates", extent["temporal"]["interval"][0]))
    facts.append(("CRS", ", ".join(document["crs"])))
    page = html.Page(found.title, found.description, facts, links=document["links"])
    response = _respond(request, document, page, ogc.JSON)
    response.headers.update(headers)
    return response


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Properties a filter may use",
    response_model=None,
    response_class=Response,  # not application/json: the JSON is a schema (QUERYABLES_TYPE)
    openapi_extra=openapi.metadata(QUERYABLES_TYPE),
)
def queryables(request: Request, collection_id: str) -> Response:
    """Part 3 queryables as JSON Schema."""
    found = collection_or_404(collection_id)
    document = ogc.queryables(base_url(request), found)
    rows = [
        [
            html.Cell(name),
            html.Cell(schema.get("type") or schema.get("format")),
            html.Cell(", ".join(schema.get("enum", []))),
        ]
        for name, schema in document["properties"].items()
    ]
    page = html.Page(
        f"{found.title}: queryables",
        table=html.Table(["property", "type", "allowed values"], rows),
    )
    return _respond(request, document, page, QUERYABLES_TYPE)
