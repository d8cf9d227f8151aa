"""Vector tiles: a hand-built place decoded from its tile (which addresses, which status and
colour, where), the tileset documents, refusals of bad tiles, a write showing in the next tile."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.db.engine import transaction
from service.layers import COLLECTIONS
from service.tiles import queries, rules

Z, X, Y = 15, 17181, 10810  # a tile near 8.76 E, 52.1 N, far from the seeded municipality
MVT_EXTENT = 4096
BUFFER_UNITS = 64
LIMIT = 10_000  # features per layer: far more than any fixture here holds
# The map's colours (DESIGN.md: connected red, insufficient demand yellow, …; none white).
COLOURS = {
    "connected": "#d7191c",
    "under_construction": "#2c7bb6",
    "insufficient_demand": "#ffd92f",
    "none": "#ffffff",
}


def lon_lat(fx: float, fy: float) -> tuple[float, float]:
    """The place at a fraction of the tile's width (from the west) and height (from the north)."""
    n = 2**Z
    lon = (X + fx) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (Y + fy) / n))))
    return lon, lat


def _box(x0: float, y0: float, x1: float, y1: float) -> str:
    corners = [lon_lat(x0, y0), lon_lat(x1, y0), lon_lat(x1, y1), lon_lat(x0, y1), lon_lat(x0, y0)]
    ring = ", ".join(f"{lon} {lat}" for lon, lat in corners)
    return f"ST_Multi(ST_Transform(ST_GeomFromText('POLYGON(({ring}))', 4326), 25832))"


def _point(fx: float, fy: float) -> str:
    lon, lat = lon_lat(fx, fy)
    return f"ST_Transform(ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326), 25832)"


# Address → (place in the tile as fractions, its best status); None: it must not be in the tile.
ADDRESSES: dict[str, tuple[tuple[float, float], str | None]] = {
    "1": ((0.2, 0.2), "connected"),  # in the connected area
    "2": ((0.5, 0.5), "under_construction"),  # in the area under construction and the hamlet
    "3": ((0.8, 0.5), "insufficient_demand"),  # in the hamlet only
    "4": ((0.5, 0.85), "none"),  # in nothing
    "5": ((1.005, 0.5), "none"),  # east of the tile, within its buffer
    "6": ((1.05, 0.5), None),  # east of the tile, beyond the buffer
    "7": ((-0.5, 0.5), None),  # in the tile to the west
}


@pytest.fixture
def place(db: Session) -> Session:
    """A municipality of its own with two areas, a hamlet and seven addresses (rolled back)."""
    municipality = db.execute(
        text(
            "INSERT INTO municipality (ags, name, geom) VALUES ('09999999', 'Kachelhausen', "
            f"{_box(-1, -1, 2, 2)}) RETURNING id"
        )
    ).scalar_one()
    for number, ((fx, fy), _) in ADDRESSES.items():
        db.execute(
            text(
                "INSERT INTO addresses (municipality_id, street, house_number, postcode, geom) "
                f"VALUES (:m, 'Kachelweg', :n, '99999', {_point(fx, fy)})"
            ),
            {"m": municipality, "n": number},
        )
    for name, status, box in (
        ("Nord", "connected", (0.1, 0.1, 0.3, 0.3)),
        ("Mitte", "under_construction", (0.4, 0.4, 0.6, 0.6)),
    ):
        db.execute(
            text(
                "INSERT INTO areas (municipality_id, name, kind, status, funding, status_since, "
                f"geom) VALUES (:m, :name, 'settlement', :status, 'private', '2021-01-01', "
                f"{_box(*box)})"
            ),
            {"m": municipality, "name": name, "status": status},
        )
    db.execute(
        text(
            "INSERT INTO hamlets (municipality_id, name, status, status_since, geom) VALUES "
            f"(:m, 'Ost', 'insufficient_demand', '2021-01-01', {_box(0.45, 0.4, 0.9, 0.6)})"
        ),
        {"m": municipality},
    )
    return db


def _decoded(tile: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        tile, default_options={"y_coord_down": True}
    )
    return decoded


def test_each_address_in_the_tile_has_its_best_status_colour_and_place(place: Session) -> None:
    layers = rules.dataset_layers(rules.ADDRESS_LAYER, Z)
    tile = _decoded(queries.encode(place, layers, rules.tile("WebMercatorQuad", Z, X, Y), LIMIT))
    features = tile[rules.ADDRESS_LAYER]["features"]
    ours = {
        f["properties"]["house_number"]: f
        for f in features
        if f["properties"]["postcode"] == "99999"
    }
    expected = {number: status for number, (_, status) in ADDRESSES.items() if status is not None}
    assert {n: f["properties"]["status"] for n, f in ours.items()} == expected
    assert {n: f["properties"]["colour"] for n, f in ours.items()} == {
        n: COLOURS[s] for n, s in expected.items()
    }
    for number, feature in ours.items():
        (fx, fy), _ = ADDRESSES[number]
        x, y = feature["geometry"]["coordinates"]
        assert abs(x - fx * MVT_EXTENT) <= 1 and abs(y - fy * MVT_EXTENT) <= 1, number
        assert -BUFFER_UNITS <= x <= MVT_EXTENT + BUFFER_UNITS
        assert -BUFFER_UNITS <= y <= MVT_EXTENT + BUFFER_UNITS
    assert tile[rules.ADDRESS_LAYER]["extent"] == MVT_EXTENT


def test_a_collection_tile_holds_its_features_clipped_to_the_buffered_tile(place: Session) -> None:
    layers = [rules.collection_layer(COLLECTIONS["areas"])]
    tile = _decoded(queries.encode(place, layers, rules.tile("WebMercatorQuad", Z, X, Y), LIMIT))
    areas = {f["properties"]["name"]: f for f in tile["areas"]["features"]}
    assert {"Nord", "Mitte"} <= set(areas)
    assert areas["Nord"]["properties"]["status"] == "connected"
    assert areas["Nord"]["properties"]["status_since"] == "2021-01-01"
    ring = areas["Nord"]["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    assert abs(min(xs) - 0.1 * MVT_EXTENT) <= 2 and abs(max(xs) - 0.3 * MVT_EXTENT) <= 2
    assert abs(min(ys) - 0.1 * MVT_EXTENT) <= 2 and abs(max(ys) - 0.3 * MVT_EXTENT) <= 2


def test_a_layer_holds_at_most_the_feature_limit(place: Session) -> None:
    layers = rules.dataset_layers(rules.ADDRESS_LAYER, Z)
    tile = rules.tile("WebMercatorQuad", Z, X, Y)
    ours = sum(1 for _, status in ADDRESSES.values() if status is not None)
    everything = _decoded(queries.encode(place, layers, tile, LIMIT))[rules.ADDRESS_LAYER]
    capped = _decoded(queries.encode(place, layers, tile, 3))[rules.ADDRESS_LAYER]
    assert len(everything["features"]) >= ours > 3
    assert len(capped["features"]) == 3


def test_tiles_are_compressed_for_clients_that_accept_it(
    client: TestClient, address_in_town: dict[str, Any]
) -> None:
    a = address_in_town
    path = f"/tiles/WebMercatorQuad/{Z}/{a['x']}/{a['y']}?collections=address_coverage"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) * 0.8
    assert packed.content == plain.content  # the client inflates it to the same tile


def test_address_points_start_at_zoom_15_in_the_dataset_tiles(place: Session) -> None:
    assert [layer.name for layer in rules.dataset_layers(None, 14)] == [
        "municipality",
        "districts",
        "areas",
        "hamlets",
        "schools",
    ]
    parent = rules.tile("WebMercatorQuad", 14, X // 2, Y // 2)
    assert (
        _decoded(
            queries.encode(place, rules.dataset_layers(rules.ADDRESS_LAYER, 14), parent, LIMIT)
        )
        == {}
    )


def test_tileset_metadata_names_the_template_scheme_and_layers(client: TestClient) -> None:
    base = "http://testserver"
    listed = client.get("/collections/areas/tiles").json()["tilesets"]
    assert [t["links"][0]["href"] for t in listed] == [
        f"{base}/collections/areas/tiles/WebMercatorQuad"
    ]
    tileset = client.get("/collections/areas/tiles/WebMercatorQuad").json()
    assert tileset["dataType"] == "vector"
    assert tileset["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    links = {link["rel"]: link for link in tileset["links"]}
    assert links["item"]["href"] == (
        f"{base}/collections/areas/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileCol}}/{{tileRow}}"
    )
    assert links["item"]["type"] == "application/vnd.mapbox-vector-tile"
    assert links["item"]["templated"] is True
    scheme = links["http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"]["href"]
    assert scheme == f"{base}/tileMatrixSets/WebMercatorQuad"
    assert [layer["id"] for layer in tileset["layers"]] == ["areas"]
    assert set(tileset["layers"][0]["propertiesSchema"]["properties"]) == {
        "id",
        *COLLECTIONS["areas"].fields,
    }
    dataset = client.get("/tiles/WebMercatorQuad").json()
    minimum = {layer["id"]: layer["minTileMatrix"] for layer in dataset["layers"]}
    assert minimum == {
        "municipality": "0",
        "districts": "0",
        "areas": "0",
        "hamlets": "0",
        "schools": "0",
        "address_coverage": "15",
    }
    matrices = client.get(scheme.removeprefix(base)).json()["tileMatrices"]
    assert len(matrices) == 25 and matrices[15]["matrixWidth"] == 2**15


def test_tiles_are_announced_in_landing_page_collections_and_conformance(
    client: TestClient,
) -> None:
    rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    landing = {link["rel"]: link["href"] for link in client.get("/").json()["links"]}
    assert landing[rel] == "http://testserver/tiles"
    collection = client.get("/collections/schools").json()
    assert {link["href"] for link in collection["links"] if link["rel"] == rel} == {
        "http://testserver/collections/schools/tiles"
    }
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in classes


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("/collections/areas/tiles/WebMercatorQuad/25/0/0", 400, "tileMatrix"),
        ("/collections/areas/tiles/WebMercatorQuad/1.5/0/0", 400, "tileMatrix"),
        ("/collections/areas/tiles/WebMercatorQuad/3/x/0", 400, "tileCol"),
        ("/collections/areas/tiles/WebMercatorQuad/3/0/-1", 400, "tileRow"),
        ("/collections/areas/tiles/WebMercatorQuad/3/8/0", 404, "tileCol"),
        ("/collections/areas/tiles/WebMercatorQuad/3/0/8", 404, "tileRow"),
        ("/collections/areas/tiles/WorldCRS84Quad/3/0/0", 404, "tile matrix set"),
        ("/collections/nothing/tiles/WebMercatorQuad/3/0/0", 404, "collection"),
        ("/collections/nothing/tiles", 404, "collection"),
        ("/tiles/WebMercatorQuad/15/0/0?collections=areas,roads", 400, "collections"),
        ("/tileMatrixSets/WorldCRS84Quad", 404, "tile matrix set"),
    ],
)
def test_bad_tiles_are_refused_naming_what_is_wrong(
    client: TestClient, path: str, status: int, named: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.text


def _status_of(client: TestClient, path: str, address_id: int, etag: str | None = None) -> Any:
    headers = {"If-None-Match": etag} if etag else {}
    response = client.get(path, headers=headers)
    if response.status_code == 304:
        return response.headers["etag"], None
    features = _decoded(response.content)[rules.ADDRESS_LAYER]["features"]
    status = next(f["properties"]["status"] for f in features if f["id"] == address_id)
    return response.headers["etag"], status


@pytest.fixture
def address_in_town(factory: sessionmaker[Session], coesfeld: object) -> Iterator[dict[str, Any]]:
    """A seeded address that is not connected, with the z15 tile it lies in."""
    with factory() as session:
        row = session.execute(
            text(
                "SELECT a.id, ST_X(p) AS lon, ST_Y(p) AS lat FROM addresses a "
                "JOIN address_coverage c ON c.address_id = a.id, "
                "LATERAL ST_Transform(a.geom, 4326) AS p "
                "WHERE c.best_rank > 1 ORDER BY a.id LIMIT 1"
            )
        ).one()
    n = 2**Z
    x = int((row.lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(row.lat))) / math.pi) / 2 * n)
    yield {"id": row.id, "lon": row.lon, "lat": row.lat, "x": x, "y": y}


def test_a_status_change_shows_in_the_next_tile(
    client: TestClient,
    factory: sessionmaker[Session],
    restore: None,
    address_in_town: dict[str, Any],
) -> None:
    a = address_in_town
    path = f"/tiles/WebMercatorQuad/{Z}/{a['x']}/{a['y']}?collections=address_coverage"
    etag, before = _status_of(client, path, a["id"])
    assert before != "connected"
    assert _status_of(client, path, a["id"], etag) == (etag, None)  # unchanged: 304
    with transaction(factory, "test") as session:  # a new connected area around the address
        session.execute(
            text(
                "INSERT INTO areas (municipality_id, name, kind, status, funding, status_since, "
                "geom) SELECT municipality_id, 'Kachelprobe', 'settlement', 'connected', "
                "'private', '2021-01-01', ST_Multi(ST_Buffer(geom, 5)) "
                "FROM addresses WHERE id = :id"
            ),
            {"id": a["id"]},
        )
    new_etag, after = _status_of(client, path, a["id"], etag)
    assert new_etag != etag
    assert after == "connected"
