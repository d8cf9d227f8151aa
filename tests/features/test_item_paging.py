"""Paging with `offset`, numberMatched and single features, checked against SQL on the same data."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

# Coesfeld's addresses, a square of about 3 km × 3 km in the storage CRS (EPSG:25832).
BOX = (370_000.0, 5_750_000.0, 373_000.0, 5_753_000.0)
EPSG_25832 = "http://www.opengis.net/def/crs/EPSG/0/25832"


@pytest.fixture(autouse=True)
def _coesfeld(coesfeld: object) -> None:
    """Every test here reads the bundled Coesfeld data."""


def _ids(engine: Engine, sql: str, **params: Any) -> list[int]:
    with engine.connect() as connection:
        return [int(row[0]) for row in connection.execute(text(sql), params)]


def _page(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params={"f": "json", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


CASES = [
    (
        "/collections/addresses/items",
        {},
        "SELECT id FROM addresses ORDER BY id",
    ),
    (
        "/collections/addresses/items",
        {"bbox": ",".join(str(v) for v in BOX), "bbox-crs": EPSG_25832},
        "SELECT id FROM addresses WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(370000, 5750000, 373000, 5753000, 25832)) ORDER BY id",
    ),
    (
        "/collections/addresses/items",
        {"filter": "street LIKE 'B%'", "sortby": "-house_number"},
        "SELECT id FROM addresses WHERE street LIKE 'B%' ORDER BY house_number DESC, id",
    ),
    (
        "/collections/areas/items",
        {"status": "connected", "sortby": "status_since"},
        "SELECT id FROM areas WHERE status = 'connected' ORDER BY status_since, id",
    ),
]


@pytest.mark.parametrize(("url", "params", "sql"), CASES)
def test_pages_at_any_offset_are_the_slices_sql_orders(
    client: TestClient, engine: Engine, url: str, params: dict[str, Any], sql: str
) -> None:
    expected = _ids(engine, sql)
    assert len(expected) > 12, "the case needs several pages"
    limit = max(len(expected) // 5, 3)
    for offset in (0, limit, 2 * limit + 1, len(expected) - 2, len(expected) + 5):
        page = _page(client, url, limit=limit, offset=offset, **params)
        assert [f["id"] for f in page["features"]] == expected[offset : offset + limit]
        assert page["numberMatched"] == len(expected)
        assert page["numberReturned"] == len(expected[offset : offset + limit])


def test_a_feature_on_a_later_page_is_the_feature_on_the_first(client: TestClient) -> None:
    """Rows past an offset are read ids first: their geometry and properties are the same."""
    whole = _page(client, "/collections/addresses/items", limit=300)["features"]
    for offset in (1, 120, 299):
        later = _page(client, "/collections/addresses/items", limit=1, offset=offset)
        assert later["features"] == [whole[offset]]
    in_25832 = _page(client, "/collections/areas/items", limit=2, offset=5, crs=EPSG_25832)
    whole_25832 = _page(client, "/collections/areas/items", limit=50, crs=EPSG_25832)
    assert in_25832["features"] == whole_25832["features"][5:7]


NEW_AREA = {
    "type": "Feature",
    "properties": {"name": "Neu im Zähler", "kind": "commercial", "status": "planned"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[7.17, 51.95], [7.172, 51.95], [7.172, 51.952], [7.17, 51.95]]],
    },
}


def test_number_matched_follows_a_write_on_every_page(
    client: TestClient, engine: Engine, tokens: dict[str, str], restore: None
) -> None:
    url = "/collections/areas/items"

    def counts() -> tuple[int, int]:
        with engine.connect() as connection:
            return (
                int(connection.execute(text("SELECT count(*) FROM areas")).scalar_one()),
                int(
                    connection.execute(
                        text("SELECT count(*) FROM areas WHERE status = 'planned'")
                    ).scalar_one()
                ),
            )

    every, planned = counts()
    for offset in (0, 3):  # full pages: only a count can tell
        assert _page(client, url, limit=2, offset=offset)["numberMatched"] == every
        assert _page(client, url, limit=1, offset=offset, status="planned")["numberMatched"] == (
            planned
        )
    editor = {"Authorization": f"Bearer {tokens['editor']}"}
    created = client.post(url, json=NEW_AREA, headers=editor)
    assert created.status_code == 201, created.text
    assert counts() == (every + 1, planned + 1)
    for offset in (0, 3):
        assert _page(client, url, limit=2, offset=offset)["numberMatched"] == every + 1
        assert _page(client, url, limit=1, offset=offset, status="planned")["numberMatched"] == (
            planned + 1
        )


def test_one_feature_is_the_stored_row_with_its_version_tag(
    client: TestClient, engine: Engine
) -> None:
    with engine.connect() as connection:
        row = (
            connection.execute(
                text(
                    "SELECT id, version, name, status, status_since, "
                    "ST_AsGeoJSON(ST_Transform(geom, 4326), 7, 0) AS geojson "
                    "FROM areas ORDER BY id OFFSET 3 LIMIT 1"
                )
            )
            .mappings()
            .one()
        )
    url = f"/collections/areas/items/{row['id']}"
    response = client.get(url, headers={"Accept-Encoding": "identity"})  # a compressed one: -br
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["id"] == row["id"]
    assert feature["geometry"] == json.loads(row["geojson"])
    properties = feature["properties"]
    assert (properties["name"], properties["status"]) == (row["name"], row["status"])
    assert properties["status_since"] == row["status_since"].isoformat()
    # The tag names the stored version: sha-256 of what identifies it, as writers check it.
    key = repr(("feature", "areas", row["id"], row["version"])).encode()
    assert response.headers["etag"] == '"' + hashlib.sha256(key).hexdigest()[:32] + '"'
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/collections/areas/items/999999999").status_code == 404
    assert client.get(url, params={"limit": "1"}).status_code == 400
