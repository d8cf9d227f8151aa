"""Items and address lookup `as_of` a date: Zeitdorf's features, outlines and statuses then."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from owslib.ogcapi.features import Features
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.search.answers import lookup
from tests import timemachine
from tests.timemachine import (
    AREAS_BEFORE,
    AREAS_TODAY,
    AREAS_YESTERDAY,
    REDRAWN_TO,
    TODAY,
    X0,
    Y0,
    YESTERDAY,
)

UTM = "http://www.opengis.net/def/crs/EPSG/0/25832"
OURS = {"provider": "Zeitnetz"}  # Zeitdorf's areas only, not Coesfeld's


def _areas(client: TestClient, day: dt.date | str, **params: Any) -> dict[str, Any]:
    response = client.get(
        "/collections/areas/items", params={**OURS, "as_of": str(day), "crs": UTM, **params}
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["name"]: f for f in document["features"]}


def _outline(ewkt: str) -> shapely.Geometry:
    return shapely.from_wkt(ewkt.split(";", 1)[1])


def _shape(feature: dict[str, Any]) -> shapely.Geometry:
    return shapely.geometry.shape(feature["geometry"])


def test_items_are_the_features_of_each_date(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    before = _by_name(_areas(client, yesterday))
    after = _by_name(_areas(client, today))
    assert set(before) == AREAS_YESTERDAY  # Entfernt still there, Neu and Teil 2 not yet
    assert set(after) == AREAS_TODAY
    as_it_stands = client.get("/collections/areas/items", params=OURS).json()
    assert set(_by_name(as_it_stands)) == AREAS_TODAY


def test_a_redrawn_area_has_the_outline_of_each_date(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    before = _shape(_by_name(_areas(client, yesterday))["Umgebaut"])
    after = _shape(_by_name(_areas(client, today))["Umgebaut"])
    assert before.equals(_outline(AREAS_BEFORE["Umgebaut"][2]))
    assert after.equals(_outline(REDRAWN_TO))
    assert not before.equals(after)


def test_statuses_are_those_valid_that_day(
    client: TestClient, zeitdorf: int, yesterday: dt.date
) -> None:
    mid_2021 = _by_name(_areas(client, "2021-06-01"))["Nachgetragen"]["properties"]
    assert (mid_2021["status"], mid_2021["status_since"]) == ("planned", "2020-01-01")
    late = _by_name(_areas(client, yesterday))["Nachgetragen"]["properties"]
    assert (late["status"], late["status_since"]) == ("connected", "2022-01-01")


def test_number_matched_counts_the_features_of_the_date(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    for day, names in ((yesterday, AREAS_YESTERDAY), (today, AREAS_TODAY)):
        counted = _areas(client, day, limit=1)  # a full page: the count is computed
        assert (counted["numberMatched"], counted["numberReturned"]) == (len(names), 1)
        told = _areas(client, day)  # a short page tells it
        assert told["numberMatched"] == len(names)
        following = [link["href"] for link in counted["links"] if link["rel"] == "next"]
        assert f"as_of={day}" in following[0]


def _bbox(x1: float, x2: float) -> str:
    return f"{X0 + x1},{Y0 + 450},{X0 + x2},{Y0 + 550}"


def test_bbox_and_filter_read_the_state_of_the_date(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    around_removed = {"bbox": _bbox(580, 620), "bbox-crs": UTM}
    assert set(_by_name(_areas(client, yesterday, **around_removed))) == {"Entfernt"}
    assert set(_by_name(_areas(client, today, **around_removed))) == set()
    # the strip Umgebaut was redrawn over (x 260–340): empty before, its own today
    redrawn_strip = {"bbox": _bbox(260, 340), "bbox-crs": UTM}
    assert set(_by_name(_areas(client, yesterday, **redrawn_strip))) == set()
    assert set(_by_name(_areas(client, today, **redrawn_strip))) == {"Umgebaut"}
    planned = {"filter": "status = 'planned'"}
    assert set(_by_name(_areas(client, "2021-06-01", **planned))) == {"Nachgetragen"}
    assert set(_by_name(_areas(client, yesterday, **planned))) == set()


def test_a_deleted_feature_is_found_by_id_before_its_deletion(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    removed = _by_name(_areas(client, yesterday))["Entfernt"]
    url = f"/collections/areas/items/{removed['id']}"
    found = client.get(url, params={"as_of": str(yesterday)})
    assert found.status_code == 200, found.text
    assert found.json()["properties"]["status"] == "under_construction"
    assert f"as_of={yesterday}" in found.json()["links"][0]["href"]
    assert client.get(url, params={"as_of": str(today)}).status_code == 404
    assert client.get(url).status_code == 404


def test_a_feature_created_since_is_not_found_at_an_earlier_date(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    created = _by_name(_areas(client, today))["Neu"]
    url = f"/collections/areas/items/{created['id']}"
    assert client.get(url, params={"as_of": str(today)}).status_code == 200
    assert client.get(url, params={"as_of": str(yesterday)}).status_code == 404


def test_a_past_state_has_its_own_tag(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    kept = _by_name(_areas(client, today))["Nachgetragen"]
    url = f"/collections/areas/items/{kept['id']}"
    now = client.get(url)
    then = client.get(url, params={"as_of": "2021-06-01"})
    assert now.json()["properties"]["status"] != then.json()["properties"]["status"]
    assert now.headers["ETag"] != then.headers["ETag"]
    again = client.get(
        url, params={"as_of": "2021-06-01"}, headers={"If-None-Match": now.headers["ETag"]}
    )
    assert again.status_code == 200
    listing = client.get("/collections/areas/items", params={**OURS, "as_of": str(yesterday)})
    current = client.get("/collections/areas/items", params=OURS)
    assert listing.headers["ETag"] != current.headers["ETag"]


@pytest.mark.parametrize("path", ["/collections/areas/items", "/collections/areas/items/1"])
@pytest.mark.parametrize("value", ["tomorrow", "notadate", "2021-02-30"])
def test_a_bad_or_future_date_is_refused_naming_as_of(
    client: TestClient, zeitdorf: int, today: dt.date, path: str, value: str
) -> None:
    day = str(today + dt.timedelta(days=1)) if value == "tomorrow" else value
    response = client.get(path, params={"as_of": day})
    assert response.status_code == 400, response.text
    assert "as_of" in response.text


def test_owslib_reads_the_items_of_a_date(
    service_url: str, zeitdorf: int, yesterday: dt.date
) -> None:
    api = Features(service_url)
    page = api.collection_items("areas", as_of=str(yesterday), **OURS)
    assert {f["properties"]["name"] for f in page["features"]} == AREAS_YESTERDAY
    assert page["numberMatched"] == len(AREAS_YESTERDAY)


def _lookup(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(
        "/lookup", params={"q": "Zeitweg", "ags": timemachine.AGS, "limit": 20, **params}
    )
    assert response.status_code == 200, response.text
    return {m["house_number"]: m for m in response.json()["matches"]}


def test_lookup_gives_the_coverage_of_the_date(
    client: TestClient, zeitdorf: int, today: dt.date, yesterday: dt.date
) -> None:
    before = _lookup(client, as_of=str(yesterday))
    after = _lookup(client, as_of=str(today))
    assert {n: m["status"] for n, m in before.items()} == YESTERDAY
    assert {n: m["status"] for n, m in after.items()} == TODAY
    assert [f["name"] for f in before["A2"]["features"]] == ["Umgebaut"]
    assert after["A2"]["features"] == []
    assert before["A6"]["features"][0]["name"] == "Entfernt"
    assert before["A5"]["features"][0]["name"] == "Geteilt"
    assert after["A5"]["features"][0]["name"] == "Geteilt (Teil 2)"
    mid_2021 = _lookup(client, as_of="2021-06-01")["A7"]
    assert (mid_2021["status"], mid_2021["features"][0]["status"]) == ("planned", "planned")


def test_lookup_of_a_moved_address_is_at_its_position_of_the_date(
    db: Session, zeitdorf: int, yesterday: dt.date
) -> None:
    """A9 (in no area) moved today into Umgebaut's outline of yesterday: yesterday it stood
    outside, so nothing covered it then; today Umgebaut does."""
    db.execute(
        text("UPDATE addresses SET geom = :g WHERE municipality_id = :m AND house_number = 'A9'"),
        {"g": timemachine.point(120, 500), "m": zeitdorf},
    )
    before = {m.house_number: m for m in lookup(db, "Zeitweg", timemachine.AGS, 20, yesterday)}
    after = {m.house_number: m for m in lookup(db, "Zeitweg", timemachine.AGS, 20)}
    assert (before["A9"].status, before["A9"].features) == ("none", [])
    assert after["A9"].status == "connected"
    assert [f.name for f in after["A9"].features] == ["Umgebaut"]


def test_lookup_refuses_a_future_date(client: TestClient, zeitdorf: int, today: dt.date) -> None:
    response = client.get(
        "/lookup",
        params={"q": "Zeitweg", "ags": timemachine.AGS, "as_of": str(today + dt.timedelta(1))},
    )
    assert response.status_code == 400
    assert "as_of" in response.text
