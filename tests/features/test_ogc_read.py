"""OGC API Features reads (Parts 1–3) through the app, checked against the database itself."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import geopandas as gpd
import httpx2
import pyproj
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box, shape
from sqlalchemy import Engine, text

from service.core.vocabulary import Status, values

COLLECTIONS = ["municipality", "districts", "areas", "hamlets", "schools", "addresses"]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


@pytest.fixture(autouse=True)
def _coesfeld(coesfeld: object) -> None:
    """Every test here reads the bundled Coesfeld data."""


def _frame(engine: Engine, table: str, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """The table read straight from PostGIS, independently of the API code."""
    frame = gpd.read_postgis(f"SELECT * FROM {table} ORDER BY id", engine, geom_col="geom")
    return frame.to_crs(crs)


def _all(client: TestClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` links to the end, as a client would."""
    features: list[dict[str, Any]] = []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        features += page["features"]
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            return features
        response = client.get(following[0])


def _first(client: TestClient, collection: str) -> str:
    """The URL of some feature of a collection (ids change when a test reloads the data)."""
    feature = client.get(f"/collections/{collection}/items", params={"limit": 1}).json()
    return f"/collections/{collection}/items/{feature['features'][0]['id']}"


def _ids(features: list[dict[str, Any]]) -> set[int]:
    return {feature["id"] for feature in features}


def test_landing_page_links_lead_somewhere(coesfeld: object, client: TestClient) -> None:
    body = client.get("/").json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    for link in body["links"]:
        assert client.get(link["href"]).status_code == 200, link


def test_conformance_declares_the_parts_implemented(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    for part in (
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-1/1.0/conf/geojson",
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "ogcapi-features-4/1.0/conf/create-replace-delete",
    ):
        assert f"http://www.opengis.net/spec/{part}" in classes
    assert len(classes) == len(set(classes))


def test_api_definition_describes_each_collection(client: TestClient) -> None:
    response = client.get("/api")
    assert response.headers["content-type"].startswith("application/json")
    paths = response.json()["paths"]
    for collection in COLLECTIONS:
        parameters = {
            p["name"]: p for p in paths[f"/collections/{collection}/items"]["get"]["parameters"]
        }
        assert {"limit", "bbox", "crs", "filter", "filter-lang"} <= set(parameters)
        assert "cql-text" in parameters["filter-lang"]["schema"]["enum"]
    area_parameters = {p["name"]: p for p in paths["/collections/areas/items"]["get"]["parameters"]}
    assert area_parameters["status"]["schema"]["enum"] == values(Status)
    assert "post" in paths["/collections/areas/items"]
    assert "post" not in paths["/collections/municipality/items"]
    assert client.get("/api", params={"f": "html"}, follow_redirects=False).status_code == 303


def test_collections_have_extent_and_crs(client: TestClient, engine: Engine) -> None:
    body = client.get("/collections").json()
    assert [c["id"] for c in body["collections"]] == COLLECTIONS
    for doc in body["collections"]:
        assert doc["itemType"] == "feature"
        assert CRS84 in doc["crs"] and EPSG.format(25832) in doc["crs"]
        assert doc["storageCrs"] == EPSG.format(25832)
        expected = _frame(engine, doc["id"]).total_bounds
        assert doc["extent"]["spatial"]["bbox"][0] == pytest.approx(list(expected), abs=2e-6)
    areas = client.get("/collections/areas").json()
    first, last = areas["extent"]["temporal"]["interval"][0]
    dates = _frame(engine, "areas")["status_since"]
    assert first.startswith(str(dates.min())) and last.startswith(str(dates.max()))


def test_unknown_collection_is_404_and_names_the_real_ones(client: TestClient) -> None:
    for url in ("/collections/roads", "/collections/roads/items", "/collections/roads/items/1"):
        response = client.get(url)
        assert response.status_code == 404
        assert "areas" in response.json()["detail"]


def test_queryables_are_a_json_schema_with_the_vocabulary(client: TestClient) -> None:
    response = client.get("/collections/areas/queryables")
    assert response.headers["content-type"].startswith("application/schema+json")
    body = response.json()
    assert body["type"] == "object"
    assert body["properties"]["status"]["enum"] == values(Status)
    assert body["properties"]["status_since"]["format"] == "date"
    assert body["properties"]["geometry"]["format"] == "geometry-multipolygon"
    schools = client.get("/collections/schools/queryables").json()["properties"]
    assert schools["pupils"]["type"] == "integer"
    assert schools["geometry"]["format"] == "geometry-point"


def test_paging_reaches_every_feature_once(client: TestClient, engine: Engine) -> None:
    first = client.get("/collections/addresses/items")
    assert first.headers["content-type"] == "application/geo+json"
    page = first.json()
    assert page["numberReturned"] == 100 and len(page["features"]) == 100
    assert page["numberMatched"] == 12_000
    features = _all(client, "/collections/schools/items", limit=5)
    assert len(features) == 17 and _ids(features) == set(_frame(engine, "schools")["id"])
    second = client.get("/collections/schools/items", params={"limit": 5, "offset": 5}).json()
    prev = [link["href"] for link in second["links"] if link["rel"] == "prev"]
    assert _ids(client.get(prev[0]).json()["features"]) == _ids(features[:5])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"bbox": "7,51,8"}, "bbox"),
        ({"bbox": "8,51,7,52"}, "bbox"),
        ({"bbox": "7,x,8,52"}, "bbox"),
        ({"bbox": "1e300,1e300,2e300,2e300", "bbox-crs": "EPSG:3857"}, "bbox"),
        ({"bbox": "-1e12,0,1e12,1", "bbox-crs": "EPSG:25833"}, "bbox"),
        ({"crs": "EPSG:9999"}, "crs"),
        ({"bbox-crs": "urn:nonsense"}, "bbox-crs"),
        ({"datetime": "2021-02-30"}, "datetime"),
        ({"datetime": "2022-01-01/2021-01-01"}, "datetime"),
        ({"sortby": "colour"}, "sortby"),
        ({"status": "almost"}, "status"),
        ({"colour": "red"}, "colour"),
        ({"filter": "status = "}, "filter"),
        ({"filter": "colour = 'red'"}, "filter"),
        ({"filter": "name = 5"}, "filter"),
        ({"filter": '{"op": "="', "filter-lang": "cql2-json"}, "filter"),
        ({"filter": "status = 'x'", "filter-lang": "sql"}, "filter-lang"),
        ({"f": "xml"}, "f"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = client.get("/collections/areas/items", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [problem["field"] for problem in response.json()["problems"]] == [field]


def test_allowed_values_are_listed_when_a_status_is_unknown(client: TestClient) -> None:
    message = client.get("/collections/areas/items", params={"status": "almost"}).json()
    assert "connected, under_construction" in message["problems"][0]["message"]


def test_syntax_errors_say_where(client: TestClient) -> None:
    response = client.get("/collections/areas/items", params={"filter": "status == 'x'"})
    assert "column 9" in response.json()["problems"][0]["message"]


def test_bbox_selects_what_intersects_it(client: TestClient, engine: Engine) -> None:
    lon_lat = (7.15, 51.93, 7.20, 51.98)
    frame = _frame(engine, "areas")
    expected = set(frame[frame.intersects(box(*lon_lat))]["id"])
    assert 0 < len(expected) < len(frame)
    got = _all(client, "/collections/areas/items", bbox=",".join(map(str, lon_lat)))
    assert _ids(got) == expected
    # EPSG:4326 puts latitude first, in the bbox as in the coordinates.
    lat_lon = (51.93, 7.15, 51.98, 7.20)
    got = _all(
        client,
        "/collections/areas/items",
        bbox=",".join(map(str, lat_lon)),
        **{"bbox-crs": EPSG.format(4326)},
    )
    assert _ids(got) == expected
    metric = (395_000.0, 5_755_000.0, 400_000.0, 5_760_000.0)
    utm = _frame(engine, "areas", "EPSG:25832")
    expected_utm = set(utm[utm.intersects(box(*metric))]["id"])
    got = _all(
        client,
        "/collections/areas/items",
        bbox=",".join(map(str, metric)),
        **{"bbox-crs": "EPSG:25832"},
    )
    assert _ids(got) == expected_utm


def test_crs_reprojects_in_the_axis_order_of_the_crs(client: TestClient, engine: Engine) -> None:
    with engine.connect() as connection:
        stored = {
            row.id: (row.x, row.y)
            for row in connection.execute(
                text("SELECT id, ST_X(geom) x, ST_Y(geom) y FROM schools")
            )
        }
    to_wgs84 = pyproj.Transformer.from_crs(25832, 4326, always_xy=True)
    default = client.get("/collections/schools/items", params={"limit": 50})
    assert default.headers["content-crs"] == f"<{CRS84}>"
    utm = client.get("/collections/schools/items", params={"limit": 50, "crs": EPSG.format(25832)})
    assert utm.headers["content-crs"] == f"<{EPSG.format(25832)}>"
    lat_first = client.get("/collections/schools/items", params={"limit": 50, "crs": "EPSG:4326"})
    assert lat_first.headers["content-crs"] == f"<{EPSG.format(4326)}>"
    for a, b, c in zip(
        default.json()["features"],
        utm.json()["features"],
        lat_first.json()["features"],
        strict=True,
    ):
        x, y = stored[a["id"]]
        lon, lat = to_wgs84.transform(x, y)
        assert b["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)
        assert a["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-7)
        assert c["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-7)
    one = client.get(f"/collections/schools/items/{a['id']}", params={"crs": EPSG.format(3857)})
    assert one.headers["content-crs"] == f"<{EPSG.format(3857)}>"
    mercator = pyproj.Transformer.from_crs(25832, 3857, always_xy=True).transform(x, y)
    assert one.json()["geometry"]["coordinates"] == pytest.approx(list(mercator), abs=0.01)


def test_datetime_filters_on_the_status_date(client: TestClient, engine: Engine) -> None:
    frame = _frame(engine, "areas")
    cut = dt.date(2021, 6, 30)
    cases = {
        f"../{cut}": frame["status_since"] <= cut,
        f"{cut}/..": frame["status_since"] >= cut,
        "2021-07-01T10:00:00Z": frame["status_since"] == dt.date(2021, 7, 1),
        "2020-01-01/2021-07-01": frame["status_since"].between(
            dt.date(2020, 1, 1), dt.date(2021, 7, 1)
        ),
    }
    for value, mask in cases.items():
        expected = set(frame[mask]["id"])
        assert _ids(_all(client, "/collections/areas/items", datetime=value)) == expected, value
    assert any(0 < int(mask.sum()) < len(frame) for mask in cases.values())
    response = client.get("/collections/districts/items", params={"datetime": "2021-01-01"})
    assert response.status_code == 400
    assert "no temporal property" in response.json()["problems"][0]["message"]


def test_property_filters_and_sorting(client: TestClient, engine: Engine) -> None:
    frame = _frame(engine, "areas")
    connected = _all(client, "/collections/areas/items", status="connected")
    assert _ids(connected) == set(frame[frame["status"] == "connected"]["id"])
    ordered = _all(client, "/collections/areas/items", sortby="-status_since,name")
    keys = [(f["properties"]["status_since"], f["properties"]["name"]) for f in ordered]
    expected = sorted(keys, key=lambda k: k[1])
    expected.sort(key=lambda k: k[0], reverse=True)
    assert keys == expected
    schools = _all(client, "/collections/schools/items", sortby="pupils")
    pupils = [f["properties"]["pupils"] for f in schools]
    assert pupils == sorted(pupils)


def test_cql2_text_and_json_select_the_same_features(client: TestClient, engine: Engine) -> None:
    frame = _frame(engine, "areas")
    expected = set(frame[(frame["status"] == "connected") & (frame["kind"] == "commercial")]["id"])
    assert expected
    as_text = _all(
        client, "/collections/areas/items", filter="status = 'connected' AND kind = 'commercial'"
    )
    document = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "status"}, "connected"]},
            {"op": "=", "args": [{"property": "kind"}, "commercial"]},
        ],
    }
    as_json = _all(
        client,
        "/collections/areas/items",
        filter=json.dumps(document),
        **{"filter-lang": "cql2-json"},
    )
    assert _ids(as_text) == _ids(as_json) == expected
    # GDAL before 3.7 says `cql-text` and brackets every comparison.
    gdal = _all(
        client,
        "/collections/areas/items",
        filter="(status = 'connected') AND (kind = 'commercial')",
        **{"filter-lang": "cql-text"},
    )
    assert _ids(gdal) == expected


def test_cql2_operators(client: TestClient, engine: Engine) -> None:
    schools = _frame(engine, "schools")
    cases = {
        "pupils BETWEEN 200 AND 600": schools["pupils"].between(200, 600),
        "connection IN ('lte', 'commitment')": schools["connection"].isin(["lte", "commitment"]),
        "name LIKE '%schule'": schools["name"].str.endswith("schule"),
        "NOT (pupils > 300) AND connection <> 'lte'": (schools["pupils"] <= 300)
        & (schools["connection"] != "lte"),
        "status_since >= DATE('2021-01-01')": schools["status_since"] >= dt.date(2021, 1, 1),
    }
    for expression, mask in cases.items():
        got = _all(client, "/collections/schools/items", filter=expression)
        assert _ids(got) == set(schools[mask]["id"]), expression


def test_cql2_spatial_filters_use_the_filter_crs(client: TestClient, engine: Engine) -> None:
    areas = _frame(engine, "areas")
    point = Point(7.1646, 51.9453)  # Coesfeld's market square, lon/lat
    expected = set(areas[areas.intersects(point)]["id"])
    assert expected
    got = _all(
        client, "/collections/areas/items", filter="S_INTERSECTS(geometry, POINT(7.1646 51.9453))"
    )
    assert _ids(got) == expected
    x, y = pyproj.Transformer.from_crs(4326, 25832, always_xy=True).transform(point.x, point.y)
    got = _all(
        client,
        "/collections/areas/items",
        filter=f"S_INTERSECTS(geometry, POINT({x} {y}))",
        **{"filter-crs": EPSG.format(25832)},
    )
    assert _ids(got) == expected
    schools = _frame(engine, "schools")
    area = box(7.15, 51.93, 7.20, 51.96)
    got = _all(client, "/collections/schools/items", filter=f"S_WITHIN(geometry, {area.wkt})")
    assert _ids(got) == set(schools[schools.within(area)]["id"])


def test_etag_and_if_none_match(client: TestClient) -> None:
    for url in (
        "/collections",
        "/collections/areas",
        "/collections/areas/items?status=planned",
        _first(client, "areas"),
    ):
        first = client.get(url)
        tag = first.headers["etag"]
        again = client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304, url
        assert again.content == b""
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    one = client.get("/collections/areas/items", params={"status": "planned"}).headers["etag"]
    other = client.get("/collections/areas/items", params={"status": "connected"}).headers["etag"]
    assert one != other


def test_single_feature(client: TestClient, engine: Engine) -> None:
    frame = _frame(engine, "hamlets")
    row = frame.iloc[0]
    body = client.get(f"/collections/hamlets/items/{row['id']}").json()
    assert body["id"] == row["id"] and body["properties"]["name"] == row["name"]
    served = gpd.GeoSeries([shape(body["geometry"]), row["geom"]], crs=4326).to_crs(25832)
    assert served.iloc[0].hausdorff_distance(served.iloc[1]) < 0.02  # 7 decimals: about 1 cm
    assert {link["rel"] for link in body["links"]} >= {"self", "collection", "related"}
    on_map = next(link["href"] for link in body["links"] if link["rel"] == "related")
    assert on_map.endswith(f"/map?highlight=hamlets/{row['id']}")
    assert client.get(on_map).status_code == 200
    for missing in ("999999", "abc", "-1", "²", "1" * 40):
        response = client.get(f"/collections/hamlets/items/{missing}")
        assert response.status_code == 404
        assert "hamlets" in response.json()["detail"]
    assert (
        client.get(
            f"/collections/hamlets/items/{row['id']}", params={"bbox": "1,2,3,4"}
        ).status_code
        == 400
    )


def test_html_pages_are_readable_and_escaped(client: TestClient) -> None:
    for url in (
        "/",
        "/collections",
        "/collections/areas",
        "/collections/areas/queryables",
        "/collections/areas/items",
        _first(client, "areas"),
        "/conformance",
    ):
        response = client.get(url, params={"f": "html"})
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>" in response.text
    page = client.get("/collections/schools/items", params={"f": "html", "limit": 50}).text
    assert "Laurentiusschule" in page
    browser = client.get("/collections", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.headers["content-type"].startswith("text/html")


def test_change_log_parameters_are_checked(client: TestClient) -> None:
    for params, field in (
        ({"feature": "99999999999999999999"}, "feature"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
    ):
        response = client.get("/changes", params=params)
        assert response.status_code == 400
        assert response.json()["problems"][0]["field"] == field
    assert client.get("/changes", params={"collection": "roads"}).status_code == 404


def test_cql2_bbox_literals_match_the_bbox_parameter(client: TestClient) -> None:
    window = [7.15, 51.93, 7.20, 51.98]
    expected = _ids(_all(client, "/collections/areas/items", bbox=",".join(map(str, window))))
    document = {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": window}]}
    as_json = _all(
        client,
        "/collections/areas/items",
        filter=json.dumps(document),
        **{"filter-lang": "cql2-json"},
    )
    as_text = _all(
        client,
        "/collections/areas/items",
        filter=f"S_INTERSECTS(geometry, BBOX({', '.join(map(str, window))}))",
    )
    assert _ids(as_json) == _ids(as_text) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": " OR ".join(["name = 'a'"] * 600)}, "levels deep"),
        ({"filter": "[" * 1200 + "]" * 1200, "filter-lang": "cql2-json"}, "nested too deeply"),
        ({"filter": "name = '" + "x" * 30_000 + "'"}, "longer than"),
    ],
)
def test_oversized_filters_are_400(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    response = client.get("/collections/areas/items", params=params)
    assert response.status_code == 400
    assert message in response.json()["problems"][0]["message"]


def test_each_representation_has_its_own_etag(client: TestClient) -> None:
    url = _first(client, "schools")
    default = client.get(url)
    assert "Accept" in _vary(default)
    other_crs = client.get(
        url, params={"crs": "EPSG:3035"}, headers={"If-None-Match": default.headers["etag"]}
    )
    assert other_crs.status_code == 200
    assert other_crs.headers["etag"] != default.headers["etag"]
    assert '"crs"' not in other_crs.text  # RFC 7946: the header names the CRS, not the geometry
    as_html = client.get(
        url, headers={"Accept": "text/html", "If-None-Match": default.headers["etag"]}
    )
    assert as_html.status_code == 200 and as_html.headers["content-type"].startswith("text/html")
    json_tag = client.get("/collections").headers["etag"]
    html = client.get("/collections", headers={"Accept": "text/html", "If-None-Match": json_tag})
    assert html.status_code == 200 and "Accept" in _vary(html)


def _vary(response: httpx2.Response) -> list[str]:
    """The request headers a response varies by (Accept-Encoding too, where it is compressed)."""
    return [name.strip() for name in response.headers["vary"].split(",")]
