"""OGC API Features writes (Part 4): tokens, If-Match, the change log, bad input refused."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import httpx
import pyproj
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from service.auth import queries as token_store
from service.db.engine import transaction
from service.layers import Role
from tests.helpers import snapshot

URL = "/collections/areas/items"
TODAY = dt.date.today()


def _square(lon: float, lat: float, size: float = 0.002) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def area(name: str = "Test area Nord", **changes: Any) -> dict[str, Any]:
    """A valid new expansion area inside Coesfeld, in GeoJSON (CRS84)."""
    properties = {
        "name": name,
        "kind": "commercial",
        "status": "planned",
        "status_since": "2025-03-01",
        "provider": "Deutsche Glasfaser",
    }
    properties.update(changes)
    return {"type": "Feature", "properties": properties, "geometry": _square(7.17, 51.95)}


def _auth(secret: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **headers}


def _fingerprint(factory: sessionmaker[Session]) -> tuple[object, ...]:
    with factory() as session:
        return snapshot(session)


@pytest.fixture
def created(client: TestClient, tokens: dict[str, str], restore: None) -> dict[str, Any]:
    """A feature created through the API, with the ETag the client got back."""
    response = client.post(URL, json=area(), headers=_auth(tokens["editor"]))
    assert response.status_code == 201, response.text
    return {
        "id": response.json()["id"],
        "etag": response.headers["etag"],
        "location": response.headers["location"],
    }


def test_create_returns_201_location_and_the_stored_feature(
    client: TestClient, created: dict[str, Any], engine: Engine
) -> None:
    fetched = client.get(created["location"])
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == created["etag"]
    assert fetched.json()["properties"]["name"] == "Test area Nord"
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT ST_GeometryType(a.geom), ST_SRID(a.geom), ST_Area(a.geom), status, "
                "status_since, m.name FROM areas a JOIN municipality m ON m.id = a.municipality_id "
                "WHERE a.id = :id"
            ),
            {"id": created["id"]},
        ).one()
    assert row[0] == "ST_MultiPolygon" and row[1] == 25832
    assert 25_000 < row[2] < 35_000  # 0.002° × 0.002° at 52° N: about 137 m × 222 m
    assert (row[3], row[4], row[5]) == ("planned", dt.date(2025, 3, 1), "Coesfeld")


def test_writes_need_a_token_with_the_right_role(
    client: TestClient, tokens: dict[str, str], restore: None, factory: sessionmaker[Session]
) -> None:
    before = _fingerprint(factory)
    missing = client.post(URL, json=area())
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert client.post(URL, json=area(), headers=_auth("bbt_not-a-token")).status_code == 401
    assert client.post(URL, json=area(), headers={"Authorization": "Basic abc"}).status_code == 401
    district = {
        "type": "Feature",
        "properties": {"name": "Test district"},
        "geometry": _square(7.17, 51.95),
    }
    refused = client.post(
        "/collections/districts/items", json=district, headers=_auth(tokens["editor"])
    )
    assert refused.status_code == 403
    assert "admin" in refused.json()["detail"]
    assert (
        client.post(
            "/collections/municipality/items", json=district, headers=_auth(tokens["admin"])
        ).status_code
        == 405
    )
    assert _fingerprint(factory) == before
    allowed = client.post(
        "/collections/districts/items", json=district, headers=_auth(tokens["admin"])
    )
    assert allowed.status_code == 201, allowed.text


def test_revoked_token_stops_working(
    client: TestClient, factory: sessionmaker[Session], restore: None
) -> None:
    with transaction(factory, "test") as session:
        secret = token_store.create(session, "test-short-lived", Role.EDITOR)
    assert client.post(URL, json=area(), headers=_auth(secret)).status_code == 201
    with transaction(factory, "test") as session:
        token_store.revoke(session, "test-short-lived")
    assert client.post(URL, json=area("Test area 2"), headers=_auth(secret)).status_code == 401
    with factory() as session:
        stored = session.execute(
            text("SELECT secret_hash FROM api_tokens WHERE name = 'test-short-lived'")
        ).scalar_one()
        session.execute(text("DELETE FROM api_tokens WHERE name = 'test-short-lived'"))
        session.commit()
    assert secret not in stored and len(stored) == 64


def test_the_token_name_is_the_actor_in_the_change_log(
    client: TestClient, created: dict[str, Any]
) -> None:
    log = client.get("/changes", params={"collection": "areas", "feature": created["id"]}).json()
    assert [(c["operation"], c["actor"]) for c in log["changes"]] == [("insert", "test-editor")]
    assert log["changes"][0]["properties"]["name"] == {"old": None, "new": "Test area Nord"}


def test_patch_is_a_merge_patch_and_keeps_the_earlier_status(
    client: TestClient, tokens: dict[str, str], created: dict[str, Any], engine: Engine
) -> None:
    patch = {"properties": {"status": "under_construction", "provider": None}}
    response = client.patch(
        f"{URL}/{created['id']}",
        content=json.dumps(patch),
        headers=_auth(
            tokens["editor"],
            **{"If-Match": created["etag"], "Content-Type": "application/merge-patch+json"},
        ),
    )
    assert response.status_code == 200, response.text
    properties = response.json()["properties"]
    assert properties["status"] == "under_construction"
    assert properties["provider"] is None  # null removes
    assert properties["kind"] == "commercial"  # untouched stays
    assert properties["status_since"] == TODAY.isoformat()  # a new status without a date: today
    assert response.headers["etag"] != created["etag"]
    with engine.connect() as connection:
        history = connection.execute(
            text(
                "SELECT status, status_since FROM status_history WHERE feature_table = 'areas' "
                "AND feature_id = :id ORDER BY status_since"
            ),
            {"id": created["id"]},
        ).all()
    assert history == [("planned", dt.date(2025, 3, 1)), ("under_construction", TODAY)]
    day_before = client.get("/coverage", params={"as_of": "2025-03-01"})
    assert day_before.status_code == 200
    log = client.get("/changes", params={"collection": "areas", "feature": created["id"]}).json()
    update = log["changes"][-1]
    assert update["operation"] == "update" and update["actor"] == "test-editor"
    assert update["properties"]["status"] == {"old": "planned", "new": "under_construction"}
    assert update["geometry_changed"] is False


def test_put_replaces_the_whole_feature(
    client: TestClient, tokens: dict[str, str], created: dict[str, Any], engine: Engine
) -> None:
    replacement = area(status="connected", status_since="2026-01-15", funding="funded")
    del replacement["properties"]["provider"]
    replacement["geometry"] = _square(7.18, 51.95)
    response = client.put(
        f"{URL}/{created['id']}",
        json=replacement,
        headers=_auth(tokens["editor"], **{"If-Match": created["etag"]}),
    )
    assert response.status_code == 200, response.text
    properties = response.json()["properties"]
    assert (properties["status"], properties["status_since"]) == ("connected", "2026-01-15")
    assert properties["provider"] is None and properties["funding"] == "funded"
    with engine.connect() as connection:
        x = connection.execute(
            text("SELECT ST_XMin(geom) FROM areas WHERE id = :id"), {"id": created["id"]}
        ).scalar_one()
    expected_x, _ = pyproj.Transformer.from_crs(4326, 25832, always_xy=True).transform(7.18, 51.95)
    assert x == pytest.approx(expected_x, abs=0.01)
    log = client.get("/changes", params={"feature": created["id"], "collection": "areas"}).json()
    assert log["changes"][-1]["geometry_changed"] is True


def _undated(feature: dict[str, Any]) -> dict[str, Any]:
    feature["properties"].pop("status_since")
    return feature


def test_a_new_feature_without_status_since_holds_from_today(
    client: TestClient, tokens: dict[str, str], restore: None, engine: Engine
) -> None:
    response = client.post(URL, json=_undated(area()), headers=_auth(tokens["editor"]))
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["status_since"] == TODAY.isoformat()
    with engine.connect() as connection:
        history = connection.execute(
            text(
                "SELECT status, status_since FROM status_history WHERE feature_table = 'areas' "
                "AND feature_id = :id"
            ),
            {"id": response.json()["id"]},
        ).all()
    assert [tuple(row) for row in history] == [("planned", TODAY)]


def test_put_without_status_since_keeps_an_unchanged_status_date_and_dates_a_new_one(
    client: TestClient, tokens: dict[str, str], created: dict[str, Any]
) -> None:
    same = client.put(
        f"{URL}/{created['id']}",
        json=_undated(area(notes="nur die Bemerkung")),
        headers=_auth(tokens["editor"], **{"If-Match": created["etag"]}),
    )
    assert same.status_code == 200, same.text
    assert same.json()["properties"]["status_since"] == "2025-03-01"  # the status is unchanged
    changed = client.put(
        f"{URL}/{created['id']}",
        json=_undated(area(status="connected")),
        headers=_auth(tokens["editor"], **{"If-Match": same.headers["etag"]}),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["properties"]["status_since"] == TODAY.isoformat()


def test_writes_without_if_match_are_refused(
    client: TestClient,
    tokens: dict[str, str],
    created: dict[str, Any],
    factory: sessionmaker[Session],
) -> None:
    before = _fingerprint(factory)
    headers = _auth(tokens["editor"])
    feature = f"{URL}/{created['id']}"
    assert (
        client.patch(
            feature, json={"properties": {"status": "connected"}}, headers=headers
        ).status_code
        == 428
    )
    assert client.put(feature, json=area(), headers=headers).status_code == 428
    assert client.delete(feature, headers=headers).status_code == 428
    anything = client.delete(feature, headers={**headers, "If-Match": "*"})
    assert anything.status_code == 428  # `*` would skip the check this header exists for
    assert _fingerprint(factory) == before


def test_a_stale_etag_gets_412_and_changes_nothing(
    client: TestClient,
    tokens: dict[str, str],
    created: dict[str, Any],
    factory: sessionmaker[Session],
) -> None:
    feature = f"{URL}/{created['id']}"
    first = client.patch(
        feature,
        json={"properties": {"notes": "first edit"}},
        headers=_auth(tokens["editor"], **{"If-Match": created["etag"]}),
    )
    assert first.status_code == 200
    before = _fingerprint(factory)
    for call in (client.put, client.patch):
        stale = call(
            feature,
            json=area(notes="second edit"),
            headers=_auth(tokens["editor"], **{"If-Match": created["etag"]}),
        )
        assert stale.status_code == 412, stale.text
    gone = client.delete(feature, headers=_auth(tokens["editor"], **{"If-Match": created["etag"]}))
    assert gone.status_code == 412
    assert _fingerprint(factory) == before
    assert client.get(feature).json()["properties"]["notes"] == "first edit"


def test_delete_with_the_current_etag(
    client: TestClient, tokens: dict[str, str], created: dict[str, Any], engine: Engine
) -> None:
    feature = f"{URL}/{created['id']}"
    response = client.delete(
        feature, headers=_auth(tokens["editor"], **{"If-Match": created["etag"]})
    )
    assert response.status_code == 204
    assert client.get(feature).status_code == 404
    log = client.get("/changes", params={"feature": created["id"], "collection": "areas"}).json()
    assert log["changes"][-1]["operation"] == "delete"
    assert log["changes"][-1]["properties"]["name"] == {"old": "Test area Nord", "new": None}


def test_a_write_that_changes_nothing_keeps_the_version(
    client: TestClient, tokens: dict[str, str], created: dict[str, Any]
) -> None:
    same = client.patch(
        f"{URL}/{created['id']}",
        json={"properties": {"kind": "commercial"}},
        headers=_auth(tokens["editor"], **{"If-Match": created["etag"]}),
    )
    assert same.status_code == 200
    assert same.headers["etag"] == created["etag"]
    log = client.get("/changes", params={"feature": created["id"], "collection": "areas"}).json()
    assert len(log["changes"]) == 1


def test_concurrent_editors_one_wins_the_other_gets_412(
    service_url: str, tokens: dict[str, str], created: dict[str, Any], client: TestClient
) -> None:
    barrier = threading.Barrier(2)
    results: list[int] = []

    def edit(note: str) -> None:
        with httpx.Client(base_url=service_url, timeout=30) as http:
            barrier.wait()
            response = http.patch(
                f"{URL}/{created['id']}",
                json={"properties": {"notes": note}},
                headers=_auth(tokens["editor"], **{"If-Match": created["etag"]}),
            )
            results.append(response.status_code)

    threads = [threading.Thread(target=edit, args=(f"editor {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 412]
    log = client.get("/changes", params={"feature": created["id"], "collection": "areas"}).json()
    assert [c["operation"] for c in log["changes"]] == ["insert", "update"]


BAD_INPUT: dict[str, tuple[dict[str, Any], int, str, str]] = {
    "self-intersecting": (
        {
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[7.17, 51.95], [7.172, 51.952], [7.172, 51.95], [7.17, 51.952], [7.17, 51.95]]
                ],
            }
        },
        422,
        "geometry",
        "Self-intersection[7.171 51.951]",
    ),
    "unclosed ring": (
        {
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[7.17, 51.95], [7.172, 51.95], [7.172, 51.952]]],
            }
        },
        422,
        "geometry",
        "must end where it starts",
    ),
    "wrong type": (
        {"geometry": {"type": "Point", "coordinates": [7.17, 51.95]}},
        422,
        "geometry",
        "expected MultiPolygon or Polygon, got Point",
    ),
    "outside": (
        {"geometry": _square(7.5, 51.95)},
        422,
        "geometry",
        "outside the municipality Coesfeld",
    ),
    "swapped": (
        {
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[51.95, 7.17], [51.95, 7.172], [51.952, 7.172], [51.952, 7.17], [51.95, 7.17]]
                ],
            }
        },
        422,
        "geometry",
        "latitude/longitude swapped",
    ),
    "unknown status": (
        {"properties": {"status": "done"}},
        422,
        "status",
        "allowed: connected, under_construction",
    ),
    "unknown kind": (
        {"properties": {"kind": "farm"}},
        422,
        "kind",
        "allowed: settlement, commercial, outskirts",
    ),
    "unknown funding": (
        {"properties": {"funding": "eu"}},
        422,
        "funding",
        "allowed: private, funded, unknown",
    ),
    "unknown property": ({"properties": {"colour": "red"}}, 422, "colour", "unknown property"),
    "bad date": (
        {"properties": {"status_since": "2021-02-30"}},
        422,
        "status_since",
        "expected a date YYYY-MM-DD",
    ),
    "future date": (
        {"properties": {"status_since": "2999-01-01"}},
        422,
        "status_since",
        "lies in the future",
    ),
    "missing name": ({"properties": {"name": None}}, 422, "name", "required"),
}


def _broken(change: dict[str, Any]) -> dict[str, Any]:
    feature = area("Test area broken")
    feature["properties"].update(change.get("properties", {}))
    feature["properties"] = {k: v for k, v in feature["properties"].items() if v is not None}
    if "geometry" in change:
        feature["geometry"] = change["geometry"]
    return feature


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_features_are_refused_naming_feature_and_field(
    client: TestClient,
    tokens: dict[str, str],
    factory: sessionmaker[Session],
    restore: None,
    case: str,
) -> None:
    change, status, field, message = BAD_INPUT[case]
    before = _fingerprint(factory)
    response = client.post(URL, json=_broken(change), headers=_auth(tokens["editor"]))
    assert response.status_code == status, response.text
    problems = response.json()["problems"]
    assert [p["field"] for p in problems] == [field]
    assert message in problems[0]["message"]
    assert problems[0]["layer"] == "areas"
    assert problems[0]["feature"] in ("new feature 'Test area broken'", "new feature")
    assert _fingerprint(factory) == before


def test_bad_requests_change_nothing(
    client: TestClient,
    tokens: dict[str, str],
    factory: sessionmaker[Session],
    settings: Any,
    created: dict[str, Any],
) -> None:
    before = _fingerprint(factory)
    headers = _auth(tokens["editor"], **{"Content-Type": "application/geo+json"})
    malformed = client.post(URL, content=b'{"type": "Feature", "properties": {', headers=headers)
    assert malformed.status_code == 400 and "not valid JSON" in malformed.text
    unknown_crs = client.post(
        URL,
        json=area(),
        headers={**headers, "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/9999>"},
    )
    assert (
        unknown_crs.status_code == 400
        and unknown_crs.json()["problems"][0]["field"] == "Content-Crs"
    )
    huge = (
        b'{"type": "Feature", "properties": {"notes": "' + b"x" * settings.max_body_bytes + b'"}}'
    )
    assert client.post(URL, content=huge, headers=headers).status_code == 413
    feature = f"{URL}/{created['id']}"
    patch_type = {"Content-Type": "application/merge-patch+json", "If-Match": created["etag"]}
    assert (
        client.patch(feature, content=b"[1, 2", headers={**headers, **patch_type}).status_code
        == 400
    )
    # The media type says whether a body is a whole feature or a patch; a mismatch is 415.
    as_patch = client.put(feature, json=area(), headers={**headers, **patch_type})
    assert as_patch.status_code == 415 and "application/geo+json" in as_patch.json()["detail"]
    as_text = {**headers, "Content-Type": "text/plain", "If-Match": created["etag"]}
    assert client.patch(feature, content=b"{}", headers=as_text).status_code == 415
    assert (
        client.post(
            URL, content=json.dumps(area()).encode(), headers=_auth(tokens["editor"])
        ).status_code
        == 415
    )
    assert (
        client.patch(f"{URL}/999999", json={}, headers={**headers, **patch_type}).status_code == 404
    )
    assert client.post("/collections/roads/items", json=area(), headers=headers).status_code == 404
    duplicate = client.post(URL, json=area(), headers=headers)
    assert duplicate.status_code == 409 and duplicate.json()["problems"][0]["field"] == "name"
    assert _fingerprint(factory) == before


def test_content_crs_places_the_geometry(
    client: TestClient, tokens: dict[str, str], restore: None, engine: Engine
) -> None:
    x, y = 375_100.0, 5_755_100.0
    school: dict[str, Any] = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {
            "name": "Test school",
            "school_type": "Grundschule",
            "pupils": 120,
            "connection": "fibre",
            "status_since": "2024-08-01",
        },
    }
    utm = client.post(
        "/collections/schools/items",
        json=school,
        headers=_auth(
            tokens["editor"], **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/25832>"}
        ),
    )
    assert utm.status_code == 201, utm.text
    lat, lon = pyproj.Transformer.from_crs(25832, 4326).transform(x, y)
    school["properties"]["name"] = "Test school 2"
    school["geometry"]["coordinates"] = [lat, lon]
    lat_first = client.post(
        "/collections/schools/items",
        json=school,
        headers=_auth(tokens["editor"], **{"Content-Crs": "EPSG:4326"}),
    )
    assert lat_first.status_code == 201, lat_first.text
    with engine.connect() as connection:
        points = connection.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM schools "
                "WHERE name LIKE 'Test school%' ORDER BY name"
            )
        ).all()
    for point in points:
        assert point == pytest.approx((x, y), abs=0.01)


def test_a_school_connection_change_is_dated_and_kept_in_history(
    client: TestClient, tokens: dict[str, str], restore: None, engine: Engine
) -> None:
    school = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [7.16, 51.95]},
        "properties": {
            "name": "Test Mira school",
            "school_type": "Förderschule",
            "pupils": 24,
            "connection": "lte",
            "status_since": "2021-11-01",
        },
    }
    created = client.post(
        "/collections/schools/items", json=school, headers=_auth(tokens["editor"])
    )
    assert created.status_code == 201, created.text
    url = f"/collections/schools/items/{created.json()['id']}"
    patched = client.patch(
        url,
        json={"properties": {"connection": "fibre"}},
        headers=_auth(tokens["editor"], **{"If-Match": created.headers["etag"]}),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["properties"]["status_since"] == TODAY.isoformat()
    with engine.connect() as connection:
        history = connection.execute(
            text(
                "SELECT status, status_since FROM status_history WHERE feature_table = 'schools' "
                "AND feature_id = :id ORDER BY status_since"
            ),
            {"id": created.json()["id"]},
        ).all()
    assert history == [("lte", dt.date(2021, 11, 1)), ("fibre", TODAY)]
    refused = client.patch(
        url,
        json={"properties": {"pupils": -3}},
        headers=_auth(tokens["editor"], **{"If-Match": patched.headers["etag"]}),
    )
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["field"] == "pupils"
    assert refused.json()["problems"][0]["feature"].startswith("#")


def test_if_match_uses_strong_comparison_and_never_a_wildcard(
    client: TestClient,
    tokens: dict[str, str],
    created: dict[str, Any],
    factory: sessionmaker[Session],
) -> None:
    feature = f"{URL}/{created['id']}"
    before = _fingerprint(factory)
    sneaky = client.delete(feature, headers=_auth(tokens["editor"], **{"If-Match": '"x", *'}))
    assert sneaky.status_code == 428
    weak = client.delete(
        feature, headers=_auth(tokens["editor"], **{"If-Match": f"W/{created['etag']}"})
    )
    assert weak.status_code == 412
    assert _fingerprint(factory) == before
    # The tag of another representation of the same version is as good as the default one.
    utm_tag = client.get(feature, params={"crs": "EPSG:25832"}).headers["etag"]
    assert utm_tag != created["etag"]
    assert (
        client.delete(feature, headers=_auth(tokens["editor"], **{"If-Match": utm_tag})).status_code
        == 204
    )


def test_sending_back_what_was_read_changes_nothing(
    client: TestClient, tokens: dict[str, str], restore: None, engine: Engine
) -> None:
    hamlet = {
        "type": "Feature",
        "geometry": _square(7.19, 51.96),
        "properties": {
            "name": "Test hamlet",
            "status": "planned",
            "status_since": "2024-05-01",
            "demand_share": 0.27,
        },
    }
    created = client.post("/collections/hamlets/items", json=hamlet, headers=_auth(tokens["admin"]))
    assert created.status_code == 201, created.text
    url = f"/collections/hamlets/items/{created.json()['id']}"
    read = client.get(url)
    empty = client.patch(
        url, json={}, headers=_auth(tokens["editor"], **{"If-Match": read.headers["etag"]})
    )
    assert empty.status_code == 200 and empty.headers["etag"] == read.headers["etag"]
    round_trip = {k: v for k, v in read.json().items() if k in ("type", "properties", "geometry")}
    same = client.put(
        url, json=round_trip, headers=_auth(tokens["editor"], **{"If-Match": read.headers["etag"]})
    )
    assert same.status_code == 200 and same.headers["etag"] == read.headers["etag"]
    log = client.get(
        "/changes", params={"collection": "hamlets", "feature": created.json()["id"]}
    ).json()
    assert [c["operation"] for c in log["changes"]] == ["insert"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "Feature", "properties": {"pupils": ' + b"9" * 5000 + b"}}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["5000-digit number", "nested 100,000 deep"],
)
def test_hostile_bodies_are_400(
    client: TestClient, tokens: dict[str, str], restore: None, body: bytes
) -> None:
    headers = _auth(tokens["editor"], **{"Content-Type": "application/geo+json"})
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 400, response.text[:300]
    assert "not valid JSON" in response.json()["problems"][0]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[10**400, 1], [1, 2], [2, 2], [10**400, 1]]],
                }
            },
            "geometry",
        ),
        (
            {"geometry": {"type": "Polygon", "coordinates": [{"a": 1, "b": 2, "c": 3, "d": 4}]}},
            "geometry",
        ),
        ({"geometry": {"type": "Dodecahedron", "coordinates": [1, 2]}}, "geometry"),
    ],
)
def test_unreadable_geometries_are_422(
    client: TestClient, tokens: dict[str, str], restore: None, change: dict[str, Any], field: str
) -> None:
    response = client.post(URL, json=_broken(change), headers=_auth(tokens["editor"]))
    assert response.status_code == 422, response.text[:300]
    assert [p["field"] for p in response.json()["problems"]] == [field]


def test_a_huge_number_is_a_clear_problem(
    client: TestClient, tokens: dict[str, str], restore: None
) -> None:
    school = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [7.16, 51.95]},
        "properties": {
            "name": "Test school big",
            "school_type": "Gymnasium",
            "pupils": 10**400,
            "connection": "fibre",
            "status_since": "2024-08-01",
        },
    }
    body = json.dumps(school).encode()  # Python writes the 401-digit integer as it is
    response = client.post(
        "/collections/schools/items",
        content=body,
        headers=_auth(tokens["editor"], **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["field"] == "pupils" and len(problem["message"]) < 200


def test_read_only_collections_answer_405_with_allow(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.post(
        "/collections/municipality/items", json={}, headers=_auth(tokens["admin"])
    )
    assert response.status_code == 405 and response.headers["allow"] == "GET"
