"""Vector tiles as data: the tile matrix set, which tiles exist, the layers a tile holds and the
OGC API Tiles documents describing them (no database, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import morecantile

from service.core.errors import BadRequestError, NotFoundError
from service.coverage.rules import STATUS_ORDER
from service.layers import COLLECTIONS, Collection, FieldType, field_schema
from service.maps.palette import address_colour

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
TMS_ID = "WebMercatorQuad"
TILE_MATRIX_SETS = {TMS_ID: morecantile.tms.get(TMS_ID)}
"""The tile matrix sets tiles are offered in: Web Mercator, what every web map speaks."""
EXTENT = 4096
"""Tile coordinates per side, the MVT default."""
BUFFER = 64
"""Tile units kept beyond each edge, so a point symbol at an edge is drawn in both tiles."""
ADDRESS_LAYER = "address_coverage"
ADDRESS_MIN_ZOOM = 15
"""Below this tile matrix a tile of every address would be large and unreadable on a map."""
DATASET_TITLE = "Roll-out layers and address coverage"

REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_TMS = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf"
CONFORMANCE = [
    f"{_TILES}/core",
    f"{_TILES}/tileset",
    f"{_TILES}/tilesets-list",
    f"{_TILES}/geodata-tilesets",
    f"{_TILES}/dataset-tilesets",
    f"{_TILES}/mvt",
]
"""The OGC API Tiles classes implemented and tested (no collections selection by the standard's
parameter: `address_coverage` is a layer, not a collection)."""


@dataclass(frozen=True)
class Tile:
    """One tile: its place in the matrix set and its bounds in the matrix set's CRS (metres)."""

    z: int
    x: int
    y: int
    bounds: tuple[float, float, float, float]

    @property
    def buffered(self) -> tuple[float, float, float, float]:
        """The bounds widened by the buffer: what a query must look at."""
        xmin, ymin, xmax, ymax = self.bounds
        margin = (xmax - xmin) * BUFFER / EXTENT
        return xmin - margin, ymin - margin, xmax + margin, ymax + margin


def tile_matrix_set(tms_id: str) -> morecantile.TileMatrixSet:
    """The tile matrix set by id, or a 404 naming those there are."""
    try:
        return TILE_MATRIX_SETS[tms_id]
    except KeyError:
        raise NotFoundError(
            f"no tile matrix set {tms_id!r}; tileMatrixSetId: {', '.join(TILE_MATRIX_SETS)}"
        ) from None


def tile(tms_id: str, z: int, x: int, y: int) -> Tile:
    """A tile that exists in the matrix set; outside it, a 404 naming the parameter."""
    tms = tile_matrix_set(tms_id)
    if not tms.minzoom <= z <= tms.maxzoom:
        raise NotFoundError(f"tileMatrix {z} is not in {tms_id} ({tms.minzoom}..{tms.maxzoom})")
    last = tms.matrix(z).matrixWidth - 1
    for name, value in (("tileCol", x), ("tileRow", y)):
        if not 0 <= value <= last:
            raise NotFoundError(f"{name} {value} is outside tile matrix {z} (0..{last})")
    box = tms.xy_bounds(morecantile.Tile(x, y, z))
    return Tile(z, x, y, (box.left, box.bottom, box.right, box.top))


@dataclass(frozen=True)
class TileLayer:
    """One layer of a vector tile: its name, what it holds and from which tile matrix on."""

    name: str
    title: str
    description: str
    geometry_dimension: int
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    min_zoom: int = 0


def collection_layer(collection: Collection) -> TileLayer:
    """A collection's features with the properties their tile carries (dates as text)."""
    properties: dict[str, dict[str, Any]] = {"id": {"type": "integer"}}
    for name, spec in collection.fields.items():
        properties[name] = (
            {"type": "string", "format": "date"}
            if spec.kind is FieldType.DATE
            else field_schema(spec)
        )
    dimension = 0 if collection.geometry_type == "Point" else 2
    return TileLayer(collection.id, collection.title, collection.description, dimension, properties)


ADDRESS_COVERAGE = TileLayer(
    ADDRESS_LAYER,
    "Address coverage",
    "Each address with its best roll-out status and the colour the map draws it in.",
    0,
    {
        "id": {"type": "integer"},
        "street": {"type": "string"},
        "house_number": {"type": "string"},
        "postcode": {"type": "string"},
        "status": {"type": "string", "enum": STATUS_ORDER},
        "colour": {"type": "string", "enum": [address_colour(s) for s in STATUS_ORDER]},
    },
    ADDRESS_MIN_ZOOM,
)

DATASET_LAYERS: dict[str, TileLayer] = {
    **{c.id: collection_layer(c) for c in COLLECTIONS.values() if c.id != "addresses"},
    ADDRESS_LAYER: ADDRESS_COVERAGE,
}
"""The dataset tileset: every collection's layer, with the address points as address_coverage
(the same points as the addresses collection, each with its status)."""
LAYERS_PATTERN = f"^(?:{'|'.join(DATASET_LAYERS)})(?:,(?:{'|'.join(DATASET_LAYERS)}))*$"


def dataset_layers(names: str | None, z: int) -> list[TileLayer]:
    """The layers asked for (all without `collections`) that hold data at this tile matrix."""
    wanted = list(DATASET_LAYERS) if names is None else [n.strip() for n in names.split(",")]
    unknown = [name for name in wanted if name not in DATASET_LAYERS]
    if unknown:
        message = f"unknown layer {unknown[0]!r}; layers: {', '.join(DATASET_LAYERS)}"
        raise BadRequestError.about("collections", message)
    chosen = [DATASET_LAYERS[name] for name in dict.fromkeys(wanted)]
    return [layer for layer in chosen if layer.min_zoom <= z]


def status_colours() -> list[tuple[int, str, str]]:
    """(rank, status, colour) of every best status an address can have."""
    return [(rank, status, address_colour(status)) for rank, status in enumerate(STATUS_ORDER, 1)]


def _link(href: str, rel: str, type_: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"href": href, "rel": rel, "type": type_, "title": title, **extra}


def tile_matrix_sets(base: str) -> dict[str, Any]:
    """`/tileMatrixSets`: the tiling schemes offered."""
    return {
        "tileMatrixSets": [
            {
                "id": tms_id,
                "title": tms.title,
                "uri": tms.uri,
                "links": [
                    _link(f"{base}/tileMatrixSets/{tms_id}", "self", JSON, f"{tms_id} definition")
                ],
            }
            for tms_id, tms in TILE_MATRIX_SETS.items()
        ]
    }


def tile_matrix_set_doc(tms_id: str) -> dict[str, Any]:
    """The OGC Two Dimensional Tile Matrix Set 2.0 JSON of one tiling scheme."""
    document: dict[str, Any] = tile_matrix_set(tms_id).model_dump(mode="json", exclude_none=True)
    return document


def _summary(url: str, base: str, title: str, tms_id: str) -> dict[str, Any]:
    tms = tile_matrix_set(tms_id)
    return {
        "title": title,
        "dataType": "vector",
        "crs": tms.crs.srs,
        "tileMatrixSetURI": tms.uri,
        "links": [
            _link(url, "self", JSON, f"{title}: tileset"),
            _link(f"{base}/tileMatrixSets/{tms_id}", REL_TILING_SCHEME, JSON, tms_id),
        ],
    }


def tilesets(base: str, prefix: str, title: str) -> dict[str, Any]:
    """The tilesets list under `prefix` (`/tiles` or `/collections/{id}/tiles`)."""
    sets = [_summary(f"{base}{prefix}/{t}", base, title, t) for t in TILE_MATRIX_SETS]
    return {
        "links": [_link(f"{base}{prefix}", "self", JSON, f"{title}: tilesets")],
        "tilesets": sets,
    }


def _layer_doc(layer: TileLayer, tms_id: str) -> dict[str, Any]:
    return {
        "id": layer.name,
        "title": layer.title,
        "description": layer.description,
        "dataType": "vector",
        "geometryDimension": layer.geometry_dimension,
        "minTileMatrix": str(layer.min_zoom),
        "maxTileMatrix": str(tile_matrix_set(tms_id).maxzoom),
        "propertiesSchema": {"type": "object", "properties": layer.properties},
    }


def tileset(
    base: str, prefix: str, title: str, tms_id: str, layers: list[TileLayer]
) -> dict[str, Any]:
    """A tileset's metadata: its tiling scheme, the tile URL template and the layers inside."""
    url = f"{base}{prefix}/{tms_id}"
    document = _summary(url, base, title, tms_id)
    template = f"{url}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}"
    document["links"].append(_link(template, "item", MVT, "a tile", templated=True))
    document["layers"] = [_layer_doc(layer, tms_id) for layer in layers]
    return document


def landing_links(base: str) -> list[dict[str, Any]]:
    """What the landing page links to: the dataset tilesets and the tiling schemes."""
    return [
        _link(f"{base}/tiles", REL_TILESETS, JSON, "vector tiles of the data set"),
        _link(f"{base}/tileMatrixSets", REL_TMS, JSON, "tiling schemes"),
    ]


def collection_links(base: str, collection_id: str) -> list[dict[str, Any]]:
    """What a collection links to: its vector tilesets."""
    url = f"{base}/collections/{collection_id}/tiles"
    return [_link(url, REL_TILESETS, JSON, "vector tiles of this collection")]
