"""While PostgreSQL is down: cached readings still answered, the rest 503 with Retry-After,
writes refused without effect; back within seconds once the database answers again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from starlette.requests import Request

from service.auth import queries as token_store
from service.core.settings import DEFAULT_PACKAGE, Settings
from service.db import schema
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.layers import Role
from service.main import create_app
from service.packages.seeding import seed
from service.web.deps import get_session
from tests.helpers import TemporaryCluster

RECOVERY_S = 5


@pytest.fixture(scope="module")
def cluster() -> Iterator[TemporaryCluster]:
    """A PostGIS server of this module's own, with Coesfeld loaded, to stop and start."""
    cluster = TemporaryCluster()
    cluster.start()
    engine = create_engine(cluster.url)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION postgis"))
    schema.upgrade(engine)
    engine.dispose()
    settings = Settings(database_url=cluster.url)
    engine = make_engine(settings)
    seed(make_sessionmaker(engine), DEFAULT_PACKAGE, actor="test-suite")
    engine.dispose()
    yield cluster
    cluster.remove()


def _editor_token(settings: Settings) -> str:
    engine = make_engine(settings)
    try:
        with transaction(make_sessionmaker(engine), "test-suite") as session:
            return token_store.create(session, "outage-editor", Role.EDITOR)
    finally:
        engine.dispose()


def _areas(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM areas")).scalar_one())
    finally:
        engine.dispose()


NEW_AREA = {
    "type": "Feature",
    "properties": {"name": "Im Ausfall", "kind": "commercial", "status": "planned"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[7.17, 51.95], [7.172, 51.95], [7.172, 51.952], [7.17, 51.95]]],
    },
}


def test_an_outage_serves_what_is_cached_refuses_the_rest_and_recovers(
    cluster: TemporaryCluster,
) -> None:
    settings = Settings(database_url=cluster.url, basemap_url="none")
    token = _editor_token(settings)
    areas_before = _areas(settings)
    with TestClient(create_app(settings)) as client:
        coverage = client.get("/coverage")
        page = client.get("/map/tabelle")
        assert coverage.status_code == 200 and page.status_code == 200
        listed = client.get("/collections", params={"f": "json"})
        outlined = client.get("/coverage/hamlets", params={"f": "geojson"})
        assert listed.status_code == 200 and outlined.status_code == 200

        cluster.stop()
        try:
            assert client.get("/coverage").json() == coverage.json()  # from the cache
            again_listed = client.get("/collections", params={"f": "json"})
            assert again_listed.json() == listed.json()
            assert again_listed.headers["etag"] == listed.headers["etag"]
            hamlets = client.get("/coverage/hamlets", params={"f": "geojson"})
            assert hamlets.json() == outlined.json()
            again = client.get("/map/tabelle", headers={"If-None-Match": page.headers["etag"]})
            assert again.status_code == 304

            uncached = client.get("/coverage/districts")
            assert uncached.status_code == 503
            assert uncached.headers["content-type"] == "application/problem+json"
            assert int(uncached.headers["retry-after"]) > 0
            assert uncached.json()["title"] == "DatabaseUnavailable"

            write = client.post(
                "/collections/areas/items",
                json=NEW_AREA,
                headers={"Authorization": f"Bearer {token}"},
            )
            assert write.status_code == 503
            assert "retry-after" in write.headers
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "unreachable" in ready.json()["reason"]
        finally:
            cluster.start()
        back = time.monotonic()
        while client.get("/coverage/districts").status_code != 200:
            assert time.monotonic() - back < RECOVERY_S, "not back within 5 s of the database"
            time.sleep(0.05)
        assert client.get("/readyz").status_code == 200
    assert _areas(settings) == areas_before  # the refused write left nothing behind


def test_a_read_session_closing_on_a_connection_the_database_ended_raises_nothing(
    cluster: TemporaryCluster,
) -> None:
    """The ROLLBACK after the answer fails on a dead connection; the client already has it."""
    settings = Settings(database_url=cluster.url)
    engine = make_engine(settings)
    app = FastAPI()
    app.state.sessionmaker = make_sessionmaker(engine)
    request = Request({"type": "http", "app": app})
    sessions = get_session(request)
    session = next(sessions)
    backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with create_engine(cluster.url).begin() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    with pytest.raises(StopIteration):
        next(sessions)  # runs the dependency's clean-up, as FastAPI does after the answer
    with app.state.sessionmaker() as fresh:  # and the pool hands out a working connection
        assert fresh.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
