"""Vector tile SQL: PostGIS cuts, clips and encodes each layer (ST_AsMVTGeom, ST_AsMVT).

Each statement is built once from the layer registry. A tile's layers are encoded one statement
each and joined byte for byte: a Mapbox Vector Tile is a list of layers, so concatenated tiles
are one tile.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from service.core.crs import STORAGE_SRID
from service.layers import COLLECTIONS, Collection, FieldType
from service.tiles.rules import ADDRESS_LAYER, BUFFER, EXTENT, Tile, TileLayer, status_colours

WEB_MERCATOR = 3857
EDGE_STEPS = 16
"""Points per tile edge when the search box is reprojected, so its curved edges are kept."""

_TILE = f"ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, {WEB_MERCATOR})"
_SEARCH = (
    f"ST_Transform(ST_Segmentize(ST_MakeEnvelope(:bxmin, :bymin, :bxmax, :bymax, {WEB_MERCATOR}),"
    f" :step), {STORAGE_SRID})"
)
_GEOMETRY = f"ST_AsMVTGeom(ST_Transform(f.geom, {WEB_MERCATOR}), {_TILE}, {EXTENT}, {BUFFER}, true)"


def _column(name: str, kind: FieldType) -> str:
    """A property as MVT stores it: dates as ISO text, shares as doubles."""
    if kind is FieldType.DATE:
        return f"f.{name}::text AS {name}"
    if kind is FieldType.SHARE:
        return f"f.{name}::float8 AS {name}"
    return f"f.{name}"


def _encoded(layer: str, rows: str) -> TextClause:
    """The MVT layer of the rows (with `id` and `geom`) in the tile, at most :limit of them."""
    return text(
        f"SELECT ST_AsMVT(t, '{layer}', {EXTENT}, 'geom', 'id') "
        f"FROM ({rows} LIMIT :limit) t WHERE t.geom IS NOT NULL"
    )


def _collection_tile(collection: Collection) -> TextClause:
    columns = ", ".join(_column(name, spec.kind) for name, spec in collection.fields.items())
    rows = (
        f"SELECT f.id, {columns}, {_GEOMETRY} AS geom "
        f"FROM {collection.id} f WHERE f.geom && {_SEARCH}"
    )
    return _encoded(collection.id, rows)


def _address_tile() -> TextClause:
    statuses = ", ".join(
        f"({rank}, '{status}', '{colour}')" for rank, status, colour in status_colours()
    )
    rows = (
        "SELECT f.id, f.street, f.house_number, f.postcode, s.status, s.colour, "
        f"{_GEOMETRY} AS geom "
        "FROM addresses f "
        "LEFT JOIN address_coverage c ON c.address_id = f.id "
        f"JOIN (VALUES {statuses}) AS s(rank, status, colour) "
        f"ON s.rank = coalesce(c.best_rank, {len(status_colours())}) "
        f"WHERE f.geom && {_SEARCH}"
    )
    return _encoded(ADDRESS_LAYER, rows)


TILE_STATEMENTS: dict[str, TextClause] = {
    **{name: _collection_tile(collection) for name, collection in COLLECTIONS.items()},
    ADDRESS_LAYER: _address_tile(),
}
"""One statement per layer: every collection's features, and each address with its best status
from the maintained state (address_coverage); an address the state lacks counts as in none."""


def _parameters(tile: Tile, limit: int) -> dict[str, float]:
    xmin, ymin, xmax, ymax = tile.bounds
    bxmin, bymin, bxmax, bymax = tile.buffered
    return {
        "xmin": xmin,
        "ymin": ymin,
        "xmax": xmax,
        "ymax": ymax,
        "bxmin": bxmin,
        "bymin": bymin,
        "bxmax": bxmax,
        "bymax": bymax,
        "step": (bxmax - bxmin) / EDGE_STEPS,
        "limit": limit,
    }


def encode(session: Session, layers: list[TileLayer], tile: Tile, limit: int) -> bytes:
    """The tile with these layers, each of at most `limit` features (empty bytes: none there)."""
    parameters = _parameters(tile, limit)
    parts = [
        session.execute(TILE_STATEMENTS[layer.name], parameters).scalar_one() for layer in layers
    ]
    return b"".join(bytes(part) for part in parts if part)
