"""OGC API Tiles over HTTP: tile matrix sets, tilesets and Mapbox Vector Tiles of the data.

Tiles show today's state (no `as_of`/`datetime`); each is computed once per data version and
worker, and carries an ETag of that version, so a browser revalidates it with a cheap 304.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from service.core.cache import VersionedCache
from service.core.settings import Settings
from service.features.routes import collection_or_404
from service.tiles import queries, rules
from service.web import openapi
from service.web.cached import current_version
from service.web.deps import SessionDep, base_url
from service.web.negotiation import etag, not_modified

router = APIRouter(tags=["OGC API Tiles"])

TmsId = Annotated[
    str, Path(alias="tileMatrixSetId", description="The tile matrix set: WebMercatorQuad")
]
TileMatrix = Annotated[
    int, Path(alias="tileMatrix", ge=0, le=24, description="The tile matrix (zoom level), z")
]
TileCol = Annotated[
    int, Path(alias="tileCol", ge=0, le=2**24 - 1, description="The column, x (0 at the west)")
]
TileRow = Annotated[
    int, Path(alias="tileRow", ge=0, le=2**24 - 1, description="The row, y (0 at the north)")
]
Layers = Annotated[
    str | None,
    Query(
        alias="collections",
        description="Layers to include, comma-separated (default all): the collections and "
        f"{rules.ADDRESS_LAYER} (from tile matrix {rules.ADDRESS_MIN_ZOOM} on)",
        json_schema_extra={"pattern": rules.LAYERS_PATTERN},
    ),
]
TILE_ANSWERS: dict[int | str, Any] = {
    200: {
        "description": "A Mapbox Vector Tile (empty when no feature lies in the tile)",
        "content": {rules.MVT: {"schema": {"type": "string", "format": "binary"}}},
    },
    304: openapi.NOT_MODIFIED,
}
METADATA = openapi.answers(rules.JSON)


def cache(settings: Settings) -> VersionedCache:
    """The tiles one worker keeps: keyed by tile and layers, each with its data version."""
    return VersionedCache(settings.tile_cache_size)


def _json(document: Any) -> JSONResponse:
    return JSONResponse(document, media_type=rules.JSON)


def _tile(
    request: Request,
    session: SessionDep,
    layers: list[rules.TileLayer],
    tms_id: str,
    z: int,
    x: int,
    y: int,
) -> Response:
    """The encoded tile: 304 when the client holds this version, else from the tile cache."""
    tile = rules.tile(tms_id, z, x, y)
    key = ("tile", tms_id, tuple(layer.name for layer in layers), z, x, y)
    version = current_version(request, session, key)
    tag = etag((*key, version))
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if (unchanged := not_modified(request, tag, headers)) is not None:
        return unchanged
    cache: VersionedCache = request.app.state.tile_cache
    limit = request.app.state.settings.tile_feature_limit
    body = cache.get_or_compute(key, version, lambda: queries.encode(session, layers, tile, limit))
    return Response(body, media_type=rules.MVT, headers=headers)


@router.get("/tileMatrixSets", summary="Tiling schemes", responses=METADATA)
def tile_matrix_sets(request: Request) -> JSONResponse:
    """The tile matrix sets tiles are offered in."""
    return _json(rules.tile_matrix_sets(base_url(request)))


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tiling scheme", responses=METADATA)
def tile_matrix_set(tms_id: TmsId) -> JSONResponse:
    """One tile matrix set's definition (OGC Two Dimensional Tile Matrix Set 2.0)."""
    return _json(rules.tile_matrix_set_doc(tms_id))


@router.get("/tiles", summary="Vector tilesets of the whole data set", responses=METADATA)
def dataset_tilesets(request: Request) -> JSONResponse:
    """Tilesets whose tiles hold every collection's layer plus address_coverage."""
    return _json(rules.tilesets(base_url(request), "/tiles", rules.DATASET_TITLE))


@router.get("/tiles/{tileMatrixSetId}", summary="Dataset tileset metadata", responses=METADATA)
def dataset_tileset(request: Request, tms_id: TmsId) -> JSONResponse:
    """The tile URL template and the layers of the dataset tiles."""
    rules.tile_matrix_set(tms_id)
    layers = list(rules.DATASET_LAYERS.values())
    document = rules.tileset(base_url(request), "/tiles", rules.DATASET_TITLE, tms_id, layers)
    return _json(document)


@router.get(
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileCol}/{tileRow}",
    summary="A vector tile of the whole data set",
    response_class=Response,
    responses=TILE_ANSWERS,
)
def dataset_tile(
    request: Request,
    session: SessionDep,
    tms_id: TmsId,
    z: TileMatrix,
    x: TileCol,
    y: TileRow,
    collections: Layers = None,
) -> Response:
    """Every layer (or those asked for) in one tile; address_coverage from tile matrix 15."""
    return _tile(request, session, rules.dataset_layers(collections, z), tms_id, z, x, y)


@router.get(
    "/collections/{collection_id}/tiles",
    summary="Vector tilesets of one collection",
    responses=METADATA,
)
def collection_tilesets(request: Request, collection_id: str) -> JSONResponse:
    """The tilesets of one collection."""
    found = collection_or_404(collection_id)
    prefix = f"/collections/{found.id}/tiles"
    return _json(rules.tilesets(base_url(request), prefix, found.title))


@router.get(
    "/collections/{collection_id}/tiles/{tileMatrixSetId}",
    summary="Collection tileset metadata",
    responses=METADATA,
)
def collection_tileset(request: Request, collection_id: str, tms_id: TmsId) -> JSONResponse:
    """The tile URL template and the one layer of a collection's tiles."""
    found = collection_or_404(collection_id)
    rules.tile_matrix_set(tms_id)
    prefix = f"/collections/{found.id}/tiles"
    layers = [rules.collection_layer(found)]
    return _json(rules.tileset(base_url(request), prefix, found.title, tms_id, layers))


@router.get(
    "/collections/{collection_id}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileCol}/{tileRow}",
    summary="A vector tile of one collection",
    response_class=Response,
    responses=TILE_ANSWERS,
)
def collection_tile(
    request: Request,
    session: SessionDep,
    collection_id: str,
    tms_id: TmsId,
    z: TileMatrix,
    x: TileCol,
    y: TileRow,
) -> Response:
    """One collection's features in one tile, as a layer named by the collection."""
    layers = [rules.collection_layer(collection_or_404(collection_id))]
    return _tile(request, session, layers, tms_id, z, x, y)
