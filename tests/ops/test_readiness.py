"""The probes: /healthz always, /readyz only while the database is reachable and migrated."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from service.core.settings import Settings
from service.db import schema
from service.main import create_app
from tests.helpers import TemporaryCluster


def test_healthz_answers_without_database() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        coverage = client.get("/coverage")
        assert coverage.status_code == 503
        assert coverage.headers["content-type"] == "application/problem+json"
        assert coverage.json()["title"] == "DatabaseUnavailable"
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "unreachable" in response.json()["reason"]


def test_readyz_is_ready_on_the_migrated_test_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_follows_the_database_down_and_back_up(spare_cluster: TemporaryCluster) -> None:
    engine = create_engine(spare_cluster.url)
    settings = Settings(database_url=spare_cluster.url)
    with TestClient(create_app(settings)) as client:
        not_migrated = client.get("/readyz")
        assert not_migrated.status_code == 503
        assert "broadband migrate" in not_migrated.json()["reason"]

        schema.upgrade(engine)
        engine.dispose()
        assert client.get("/readyz").status_code == 200

        spare_cluster.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert "unreachable" in down.json()["reason"]
        assert client.get("/healthz").status_code == 200

        spare_cluster.start()
        assert client.get("/readyz").status_code == 200


def test_openapi_document_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/healthz", "/readyz"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
