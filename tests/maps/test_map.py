"""The map over HTTP: headers, caching, size, parameters, and the printable PNG."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import struct
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.coverage.rules import AddressFigure, Unit
from service.main import create_app
from service.maps.webmap import MapOptions, build_map

GZIP_BUDGET = 300 * 1024


@pytest.fixture
def city_client(settings: Settings, engine: object, coesfeld: object) -> Iterator[TestClient]:
    """The app as a city would configure it: basemap.de, embeddable on its own domain."""
    configured = settings.model_copy(update={"frame_ancestors": "'self' https://www.coesfeld.de"})
    with TestClient(create_app(configured)) as client:
        yield client


@pytest.mark.parametrize("path", ["/map", "/map/embed"])
def test_csp_allows_only_the_service_the_tiles_and_the_city(
    city_client: TestClient, path: str
) -> None:
    response = city_client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'self' https://www.coesfeld.de" in csp
    assert "img-src 'self' data: https://sgx.geodatenzentrum.de" in csp
    assert 'lang="de"' in response.text


def test_etag_gives_304_until_the_data_changes(city_client: TestClient) -> None:
    first = city_client.get("/map")
    etag = first.headers["etag"]
    again = city_client.get("/map", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = city_client.get("/map", params={"layers": "areas"})
    assert other.headers["etag"] != etag


def test_the_coesfeld_page_is_small_and_holds_no_address_points(city_client: TestClient) -> None:
    page = city_client.get("/map").content
    assert len(gzip.compress(page)) < GZIP_BUDGET
    assert b"Am Einzelhof" not in page  # an address that lies in no feature
    assert b"house_number" not in page


def test_no_third_party_assets_are_referenced(city_client: TestClient) -> None:
    page = city_client.get("/map").text
    assert "cdn." not in page
    assert "cdnjs" not in page
    served = re.search(r'src="(/static/leaflet/[0-9a-f]{12}/leaflet\.js)"', page)
    assert served, "Leaflet is loaded from the service itself, under a content-hashed path"
    assert city_client.get(served.group(1)).status_code == 200
    assert city_client.get("/static/leaflet/leaflet.js").status_code == 200
    assert city_client.get("/static/map.js").status_code == 200


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"layers": "areas,roads"}, 400, "unknown layer(s) roads"),
        ({"center": "7.1"}, 400, "expected lon,lat"),
        ({"center": "200,51"}, 400, "out of range"),
        ({"zoom": "30"}, 400, "zoom"),
        ({"highlight": "roads/1"}, 400, "expected <collection>/<id>"),
        ({"highlight": "areas/²"}, 400, "expected <collection>/<id>"),
        ({"as_of": "gestern"}, 400, "as_of"),
    ],
)
def test_bad_map_parameters_are_a_clear_problem(
    city_client: TestClient, params: dict[str, str], status: int, field: str
) -> None:
    response = city_client.get("/map", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_printable_map_is_an_a4_png(city_client: TestClient) -> None:
    response = city_client.get("/map.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert _png_size(response.content) == (1754, 1240)
    older = city_client.get("/map.png", params={"as_of": "2019-01-01"})
    assert _png_size(older.content) == (1754, 1240)
    assert older.content != response.content
    # On its first status date Coesfeld had a single expansion area: a one-feature layer.
    single = city_client.get("/map.png", params={"as_of": "2019-07-01"})
    assert single.status_code == 200 and _png_size(single.content) == (1754, 1240)


def test_as_of_shows_the_features_of_that_date(city_client: TestClient) -> None:
    today = city_client.get("/map").text
    before = city_client.get("/map", params={"as_of": "2015-01-01"}).text
    assert "Kernstadt Innenstadt" in today
    assert "Kernstadt Innenstadt" not in before  # no area had a version in 2015
    assert "Stand 01.01.2015" in before
    assert "0,00 %" in before


def test_package_text_cannot_inject_markup_into_the_page() -> None:
    evil = "<img src=x onerror=alert(1)>"
    square = {
        "type": "Polygon",
        "coordinates": [[[7.1, 51.9], [7.2, 51.9], [7.2, 52.0], [7.1, 51.9]]],
    }
    area = {
        "name": evil,
        "kind": "settlement",
        "status": "connected",
        "funding": "private",
        "provider": evil,
        "status_since": "2021-01-01",
    }
    layers = {
        "municipality": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "id": 1, "geometry": square, "properties": {"name": evil}}
            ],
        },
        "areas": {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "id": 2, "geometry": square, "properties": area}],
        },
    }
    headline = Unit("Testdorf", dt.date(2021, 1, 1), AddressFigure.from_ranks({1: 1}))
    page = build_map(layers, headline, MapOptions(as_of=dt.date(2021, 1, 1)))
    assert evil not in page
    # escaped for HTML, then for JSON: the browser shows the text and runs nothing
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
