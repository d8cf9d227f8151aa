"""Imports and exports over HTTP and on the command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx2
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.auth import queries as token_store
from service.cli import app
from service.core.settings import DEFAULT_PACKAGE, Settings
from service.db.engine import transaction
from service.layers import Role
from service.main import create_app
from service.packages.export_queries import package_frames
from service.packages.seeding import seed
from tests.helpers import snapshot

runner = CliRunner()


@pytest.fixture
def reseed(factory: sessionmaker[Session], coesfeld: object) -> Iterator[None]:
    """Tests that commit imports put the bundled data back afterwards."""
    yield
    seed(factory, DEFAULT_PACKAGE, actor="test-suite")


@pytest.fixture
def delivery(factory: sessionmaker[Session], coesfeld: object, tmp_path: Path) -> Path:
    """The areas as a provider would send them, one status changed, in German, as GeoPackage."""
    with factory() as session:
        areas = package_frames(session, None)["areas"]
    german = {
        "connected": "erschlossen",
        "under_construction": "im Bau",
        "planned": "in Planung",
        "insufficient_demand": "Nachfrage nicht ausreichend",
        "in_preparation": "in Vorbereitung",
    }
    statuses = [german[s] for s in areas["status"]]
    statuses[0] = "im Bau" if statuses[0] != "im Bau" else "erschlossen"
    frame = gpd.GeoDataFrame(
        {"Bezeichnung": areas["name"], "Status": statuses}, geometry=areas.geometry, crs=25832
    )
    path = tmp_path / "Lieferung Ausbau.gpkg"
    frame.to_file(path, layer="ausbau")
    return path


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _upload(client: TestClient, path: Path, secret: str | None, **fields: str) -> httpx2.Response:
    headers = _auth(secret) if secret else {}
    with path.open("rb") as handle:
        return client.post(
            "/imports",
            files={"file": (path.name, handle)},
            data={"layer": "areas", **fields},
            headers=headers,
        )


def test_upload_preview_then_commit(
    client: TestClient,
    tokens: dict[str, str],
    delivery: Path,
    reseed: None,
    factory: sessionmaker[Session],
) -> None:
    before = snapshot(factory())
    response = _upload(client, delivery, tokens["editor"])
    assert response.status_code == 201, response.text
    preview = response.json()
    assert preview["status"] == "preview" and preview["file_name"] == "Lieferung Ausbau.gpkg"
    assert preview["preview"]["counts"] == {"added": 0, "changed": 1, "unchanged": 25, "missing": 0}
    assert snapshot(factory()) == before  # a preview writes no feature
    location = response.headers["location"]
    assert (
        client.get(location, headers=_auth(tokens["editor"])).json()["preview"]
        == preview["preview"]
    )
    committed = client.post(f"{location}/commit", headers=_auth(tokens["admin"]))
    assert committed.status_code == 200, committed.text
    assert committed.json()["status"] == "committed"
    assert committed.json()["committed_by"] == "test-admin"
    change = preview["preview"]["changed"][0]
    log = client.get("/changes", params={"collection": "areas", "feature": change["id"]}).json()
    last = log["changes"][-1]
    assert last["actor"] == "test-admin"
    assert last["source"] == f"import {preview['id']}: Lieferung Ausbau.gpkg"
    assert last["properties"]["status"] == change["fields"]["status"]
    again = client.post(f"{location}/commit", headers=_auth(tokens["admin"]))
    assert again.status_code == 409


def test_imports_need_a_token_and_the_right_role(
    client: TestClient, tokens: dict[str, str], delivery: Path
) -> None:
    assert _upload(client, delivery, None).status_code == 401
    refused = _upload(client, delivery, tokens["editor"], layer="addresses")
    assert refused.status_code == 403
    nobody = f"/imports/{uuid.uuid4()}"
    assert client.post(f"{nobody}/commit", headers=_auth(tokens["editor"])).status_code == 404
    assert client.get(nobody, headers=_auth(tokens["editor"])).status_code == 404


def test_a_preview_is_only_for_its_uploader_and_admins(
    client: TestClient,
    tokens: dict[str, str],
    delivery: Path,
    reseed: None,
    factory: sessionmaker[Session],
) -> None:
    location = _upload(client, delivery, tokens["editor"]).headers["location"]
    with transaction(factory, "test-suite") as session:
        session.execute(text("DELETE FROM api_tokens WHERE name = 'test-other-editor'"))
        other = token_store.create(session, "test-other-editor", Role.EDITOR)
    try:
        assert client.get(location).status_code == 401
        assert client.get(location, headers=_auth(other)).status_code == 404
        before = snapshot(factory())
        assert client.post(f"{location}/commit", headers=_auth(other)).status_code == 404
        assert snapshot(factory()) == before
        assert client.get(location, headers=_auth(tokens["admin"])).status_code == 200
        mine = client.post(f"{location}/commit", headers=_auth(tokens["editor"]))
        assert mine.status_code == 200 and mine.json()["committed_by"] == "test-editor"
    finally:
        with transaction(factory, "test-suite") as session:
            session.execute(text("DELETE FROM api_tokens WHERE name = 'test-other-editor'"))


def test_preview_ids_are_random_so_no_preview_reveals_another(
    client: TestClient, tokens: dict[str, str], delivery: Path, factory: sessionmaker[Session]
) -> None:
    ids = [_upload(client, delivery, tokens["editor"]).json()["id"] for _ in range(2)]
    drawn = [uuid.UUID(value) for value in ids]
    assert all(value.version == 4 for value in drawn) and drawn[0] != drawn[1]
    with factory() as session:  # the sequential key stays inside the database
        numbers = session.execute(
            text("SELECT id FROM imports WHERE public_id = ANY(:ids) ORDER BY id"),
            {"ids": drawn},
        ).scalars()
        first, second = list(numbers)
    assert second == first + 1 and str(first) not in ids and str(second) not in ids
    refused = client.get(f"/imports/{second}", headers=_auth(tokens["editor"]))
    assert refused.status_code == 400  # the old guessable form is not even a valid id


def test_a_stale_preview_gets_409(
    client: TestClient,
    tokens: dict[str, str],
    delivery: Path,
    reseed: None,
    factory: sessionmaker[Session],
) -> None:
    preview = _upload(client, delivery, tokens["editor"]).json()
    with factory() as session:
        session.execute(
            text(
                "UPDATE areas SET notes = 'changed meanwhile' WHERE id = "
                "(SELECT max(id) FROM areas)"
            )
        )
        session.commit()
    before = snapshot(factory())
    stale = client.post(f"/imports/{preview['id']}/commit", headers=_auth(tokens["editor"]))
    assert stale.status_code == 409
    assert "changed since the preview" in stale.json()["detail"]
    assert snapshot(factory()) == before


def test_bad_uploads_are_refused_with_every_problem(
    client: TestClient,
    tokens: dict[str, str],
    tmp_path: Path,
    factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    before = snapshot(factory())
    broken = tmp_path / "kaputt.csv"
    broken.write_text(
        "Bezeichnung;Status;lon;lat\nA;erschlossen;7,16;51,94\nB;fast fertig;7,17;51,95\n",
        encoding="utf-8",
    )
    response = _upload(client, broken, tokens["editor"], layer="schools")
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert {p["field"] for p in problems} >= {"Status", "school_type", "pupils"}
    assert _upload(client, broken, tokens["editor"], layer="roads").status_code == 400
    assert (
        client.post(
            "/imports", data={"layer": "areas"}, headers=_auth(tokens["editor"])
        ).status_code
        == 400
    )
    assert snapshot(factory()) == before
    small = settings.model_copy(update={"max_import_bytes": 1_000})
    with TestClient(create_app(small)) as limited:
        big = tmp_path / "big.geojson"
        big.write_text('{"type": "FeatureCollection", "features": []}' + " " * 200_000)
        refused = _upload(limited, big, tokens["editor"])
        assert refused.status_code == 413
        assert "BROADBAND_MAX_IMPORT_BYTES" in refused.json()["problems"][0]["message"]
        # Without a Content-Length (chunked), the body is counted as it arrives.
        boundary = "x-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="layer"\r\n\r\nareas\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.geojson"\r\n\r\n'
        ).encode()

        def chunks() -> Iterator[bytes]:
            yield head
            for _ in range(300):
                yield b" " * 1_000
            yield f"\r\n--{boundary}--\r\n".encode()

        chunked = limited.post(
            "/imports",
            content=chunks(),
            headers={
                **_auth(tokens["editor"]),
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        assert chunked.status_code == 413


def test_export_downloads_read_back(
    client: TestClient, coesfeld: object, tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    response = client.get("/export.gpkg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "export.gpkg"
    path.write_bytes(response.content)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"municipality", "districts", "areas", "hamlets", "schools", "addresses"}
    before = snapshot(factory())
    diffs = seed(factory, path, actor="test-suite")
    assert diffs is not None and all(
        d.inserted == d.updated == d.deleted == 0 for d in diffs.values()
    )
    assert snapshot(factory()) == before
    for name in ("export.geojson.zip", "export.csv.zip", "export.shp.zip"):
        archive = client.get(f"/{name}")
        assert archive.status_code == 200
        members = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
        assert any(m.startswith("areas.") for m in members), (name, members)


def test_items_as_csv_and_geopackage(client: TestClient, coesfeld: object, tmp_path: Path) -> None:
    as_json = client.get("/collections/schools/items", params={"limit": 50}).json()
    response = client.get("/collections/schools/items", params={"limit": 50, "f": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [f["id"] for f in as_json["features"]]
    assert rows[0]["geometry"].startswith("SRID=4326;POINT (")
    lon, lat = as_json["features"][0]["geometry"]["coordinates"]
    x, y = rows[0]["geometry"].split("(")[1].rstrip(")").split()
    assert (float(x), float(y)) == pytest.approx((lon, lat), abs=1e-7)
    gpkg = client.get(
        "/collections/areas/items", params={"f": "gpkg", "crs": "EPSG:25832", "status": "connected"}
    )
    path = tmp_path / "areas.gpkg"
    path.write_bytes(gpkg.content)
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 25832
    connected = client.get("/collections/areas/items", params={"status": "connected"}).json()
    assert len(frame) == connected["numberMatched"]
    paged = client.get("/collections/schools/items", params={"limit": 5, "f": "csv"})
    assert "f=csv" in paged.headers["link"] and 'rel="next"' in paged.headers["link"]


def test_cli_export_and_import(
    settings: Settings, coesfeld: object, tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    assert settings.database_url is not None
    env = {"DATABASE_URL": settings.database_url}
    out = tmp_path / "coesfeld"
    exported = runner.invoke(app, ["export", str(out), "--format", "shp"], env=env)
    assert exported.exit_code == 0, exported.output
    assert (out / "areas.shp").is_file() and (out / "areas.cpg").is_file()
    before = snapshot(factory())
    dry = runner.invoke(
        app, ["import", str(out / "areas.shp"), "--layer", "areas", "--dry-run"], env=env
    )
    assert dry.exit_code == 0, dry.output
    assert "unchanged" in dry.output and "26" in dry.output and "dry run" in dry.output
    assert snapshot(factory()) == before
    limited = {**env, "BROADBAND_MAX_IMPORT_BYTES": "1000"}
    refused = runner.invoke(
        app, ["import", str(out / "areas.shp"), "--layer", "areas"], env=limited
    )
    assert refused.exit_code == 1 and "the limit of 1,000 bytes" in refused.output
    unknown = runner.invoke(app, ["import", str(out / "areas.shp"), "--layer", "roads"], env=env)
    assert unknown.exit_code == 1 and "cannot import" in unknown.output


def test_cli_import_dates_a_delivery_and_shows_it(
    settings: Settings, delivery: Path, factory: sessionmaker[Session]
) -> None:
    assert settings.database_url is not None
    env = {"DATABASE_URL": settings.database_url}
    with factory() as session:
        today = session.execute(text("SELECT current_date")).scalar_one()
    before = snapshot(factory())
    undated = runner.invoke(
        app, ["import", str(delivery), "--layer", "areas", "--dry-run"], env=env
    )
    assert undated.exit_code == 0, undated.output
    printed = " ".join(undated.output.split())  # as read, whatever the terminal wrapped
    assert "status dates: 1 today, 25 unchanged" in printed
    assert f"[status since {today.isoformat()} (today)]" in printed
    given = (today - dt.timedelta(days=2)).isoformat()
    dated = runner.invoke(
        app,
        ["import", str(delivery), "--layer", "areas", "--dry-run", "--status-since", given],
        env=env,
    )
    assert dated.exit_code == 0, dated.output
    printed = " ".join(dated.output.split())
    assert f"status dates: 1 --status-since {given}, 25 unchanged" in printed
    assert f"[status since {given} (--status-since)]" in printed
    future = (today + dt.timedelta(days=1)).isoformat()
    refused = runner.invoke(
        app, ["import", str(delivery), "--layer", "areas", "--status-since", future], env=env
    )
    assert refused.exit_code == 1 and "lies in the future" in refused.output
    assert snapshot(factory()) == before


def test_upload_with_a_date_for_the_delivery(
    client: TestClient, tokens: dict[str, str], delivery: Path, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        today = session.execute(text("SELECT current_date")).scalar_one()
    given = (today - dt.timedelta(days=5)).isoformat()
    response = _upload(client, delivery, tokens["editor"], status_since=given)
    assert response.status_code == 201, response.text
    preview = response.json()["preview"]
    [changed] = preview["changed"]
    assert changed["status_date"] == {"date": given, "from": "--status-since"}
    assert changed["fields"]["status_since"]["new"] == given
    assert preview["status_dates"]["given"] == given
    location = response.headers["location"]
    again = client.get(location, headers=_auth(tokens["editor"])).json()["preview"]
    assert again["status_dates"] == preview["status_dates"]  # stored with the import
    future = (today + dt.timedelta(days=1)).isoformat()
    refused = _upload(client, delivery, tokens["editor"], status_since=future)
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["field"] == "status_since"
    assert "lies in the future" in refused.json()["problems"][0]["message"]
    malformed = _upload(client, delivery, tokens["editor"], status_since="gestern")
    assert malformed.status_code == 400
    assert "expected a date YYYY-MM-DD" in malformed.json()["problems"][0]["message"]
