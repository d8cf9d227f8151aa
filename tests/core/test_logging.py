"""Logs: one access line per request with its id, 5xx with tracebacks, outages once, no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.core import logging as logs
from service.core.settings import Settings
from service.main import create_app
from tests.helpers import TemporaryCluster

HEX_ID = re.compile(r"[0-9a-f]{32}")
# The test client logs the URLs it requests; it is not the service, so its lines are left out.
CLIENT_LOGGERS = ("httpx", "httpx2", "httpcore")


@pytest.fixture(autouse=True)
def own_handler() -> Iterator[None]:
    """Tests here point the service's handler at a buffer; the one from before comes back after."""
    root = logging.getLogger()
    before = [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]
    level = root.level
    yield
    for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]:
        root.removeHandler(handler)
    for handler in before:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog at DEBUG, its records stamped with the request id as the service's handler does."""
    caplog.handler.addFilter(logs.RequestIdFilter())
    caplog.set_level(logging.DEBUG)
    return caplog


def _capture(settings: Settings) -> io.StringIO:
    """Send the service's log lines, formatted as configured, into a buffer."""
    stream = io.StringIO()
    logs.configure(settings, stream)
    return stream


def _app(settings: Settings, **update: str) -> FastAPI:
    """The app, plus a route that logs a line of its own and one that fails like a defect."""
    app = create_app(settings.model_copy(update=update))

    def chatty() -> dict[str, str]:
        logging.getLogger("service.chatty").info("working on it")
        return {"status": "ok"}

    def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/chatty", chatty)
    app.add_api_route("/explode", explode)
    return app


def test_a_sane_request_id_is_echoed_and_any_other_replaced(client: TestClient) -> None:
    given = "trace-2024.11_a"
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"] == given
    made = client.get("/healthz").headers["x-request-id"]
    assert HEX_ID.fullmatch(made)
    assert client.get("/healthz").headers["x-request-id"] != made
    for odd in (b"has space", b"semi;colon", b"x" * 65, "ünïcode".encode(), b""):
        answered = client.get("/healthz", headers={b"X-Request-ID": odd}).headers["x-request-id"]
        assert HEX_ID.fullmatch(answered), odd


def test_errors_carry_the_request_id_too(client: TestClient) -> None:
    response = client.get("/no/such/thing", headers={"X-Request-ID": "abc"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "abc"


def test_one_access_line_per_request_with_parameter_names_only(
    coesfeld: object, client: TestClient, records: pytest.LogCaptureFixture
) -> None:
    responses = [
        client.get("/healthz"),
        client.get("/coverage", params={"as_of": "2021-07-01", "f": "json"}),
        client.get("/no/such/thing"),
    ]
    access = [r for r in records.records if r.name == "service.access"]
    assert [r.request_id for r in access] == [  # type: ignore[attr-defined]
        response.headers["x-request-id"] for response in responses
    ]
    assert [(r.method, r.path, r.status) for r in access] == [  # type: ignore[attr-defined]
        ("GET", "/healthz", 200),
        ("GET", "/coverage", 200),
        ("GET", "/no/such/thing", 404),
    ]
    assert access[1].query_parameters == ["as_of", "f"]  # type: ignore[attr-defined]
    assert re.fullmatch(r"GET /coverage\?as_of&f 200 \d+\.\d ms", access[1].getMessage())
    assert all(r.duration_ms >= 0 for r in access)  # type: ignore[attr-defined]
    assert not [r for r in access if "2021-07-01" in r.getMessage()]


def test_every_line_of_a_request_carries_its_id(settings: Settings) -> None:
    app = _app(settings)
    stream = _capture(settings)
    with TestClient(app) as client:
        request_id = client.get("/chatty").headers["x-request-id"]
    lines = [line for line in stream.getvalue().splitlines() if f"[{request_id}]" in line]
    assert any("service.chatty" in line and "working on it" in line for line in lines)
    assert any("service.access" in line and "GET /chatty 200" in line for line in lines)


def test_a_5xx_is_logged_with_its_traceback_and_request_id(
    settings: Settings, records: pytest.LogCaptureFixture
) -> None:
    app = _app(settings)
    stream = _capture(settings)
    with TestClient(app) as client:
        response = client.get("/explode")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    (error,) = [r for r in records.records if r.levelno >= logging.ERROR]
    assert error.request_id == request_id  # type: ignore[attr-defined]
    assert error.exc_info is not None and error.exc_info[0] is RuntimeError
    text = stream.getvalue()
    assert f"ERROR   service.web.problems [{request_id}] unhandled RuntimeError" in text
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text


def test_production_writes_one_json_object_per_line(settings: Settings) -> None:
    app = _app(settings, environment="production")
    stream = _capture(app.state.settings)
    with TestClient(app) as client:
        ok = client.get("/chatty", params={"x": "1"}).headers["x-request-id"]
        failed = client.get("/explode").headers["x-request-id"]
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_request: dict[str, list[dict[str, Any]]] = {e["request_id"]: [] for e in entries}
    for entry in entries:
        by_request[entry["request_id"]].append(entry)
    access = [e for e in by_request[ok] if e["logger"] == "service.access"]
    assert access == [
        {
            "time": access[0]["time"],
            "level": "INFO",
            "logger": "service.access",
            "message": access[0]["message"],
            "request_id": ok,
            "method": "GET",
            "path": "/chatty",
            "query_parameters": ["x"],
            "status": 200,
            "duration_ms": access[0]["duration_ms"],
        }
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", access[0]["time"])
    (error,) = [e for e in by_request[failed] if e["level"] == "ERROR"]
    assert error["logger"] == "service.web.problems"
    assert error["exception"].startswith("Traceback") and "RuntimeError: boom" in error["exception"]


def test_the_log_level_comes_from_the_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADBAND_LOG_LEVEL", "warning")
    assert Settings().log_level == "WARNING"
    monkeypatch.setenv("BROADBAND_LOG_LEVEL", "chatty")
    with pytest.raises(ValueError, match="log_level"):
        Settings()
    app = _app(settings, log_level="WARNING")
    stream = _capture(app.state.settings)
    with TestClient(app) as client:
        client.get("/chatty")
        client.get("/explode")
    text = stream.getvalue()
    assert "working on it" not in text and "service.access" not in text
    assert "unhandled RuntimeError" in text


SECRETS = {
    "query": "qv-5f1d2c9b7e",
    "cookie": "ck-8a7b6c5d4e",
    "password": "pw-Sommer2024!xyz",
    "api_key": "ak-0c9d8e7f6a",
}


def test_no_secret_reaches_any_log_line(
    coesfeld: object,
    settings: Settings,
    tokens: dict[str, str],
    records: pytest.LogCaptureFixture,
) -> None:
    app = _app(settings, environment="production", log_level="DEBUG")
    stream = _capture(app.state.settings)
    records.set_level(logging.DEBUG)
    secrets = [*SECRETS.values(), tokens["editor"]]
    bearer = {"Authorization": f"Bearer {tokens['editor']}", "X-Api-Key": SECRETS["api_key"]}
    feature = {
        "type": "Feature",
        "properties": {"name": "Geheim", "password": SECRETS["password"]},
        "geometry": {"type": "Point", "coordinates": [7.16, 51.94]},
    }
    with TestClient(app, cookies={"session": SECRETS["cookie"]}) as client:
        answers = [
            client.get("/coverage", params={"token": SECRETS["query"]}, headers=bearer),
            client.get("/coverage", params={"as_of": SECRETS["query"]}, headers=bearer),
            client.get("/nothing", params={"secret": SECRETS["query"]}, headers=bearer),
            client.post("/collections/areas/items", json=feature, headers=bearer),
            client.post("/collections/schools/items", json=feature, headers=bearer),
            client.post("/imports", files={"file": ("a.csv", SECRETS["password"])}, headers=bearer),
            client.post("/redaktion/anmelden", data={"name": "x", "password": SECRETS["password"]}),
            client.get("/chatty", params={"password": SECRETS["password"]}, headers=bearer),
            client.get("/explode", params={"api_key": SECRETS["api_key"]}, headers=bearer),
        ]
    assert {a.status_code for a in answers} >= {200, 400, 404, 422, 500}

    service_records = [r for r in records.records if not r.name.startswith(CLIENT_LOGGERS)]
    access = [r for r in service_records if r.name == "service.access"]
    assert len(access) == len(answers)
    plain, as_json = logging.Formatter(), logs.JsonFormatter()
    lines = [plain.format(r) for r in service_records] + [
        as_json.format(r) for r in service_records
    ]
    written = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines += [json.dumps(e) for e in written if not e["logger"].startswith(CLIENT_LOGGERS)]
    for secret in secrets:
        assert not [line for line in lines if secret in line], secret


def test_a_database_outage_is_logged_once_when_it_starts(
    records: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        answers = [client.get(path).status_code for path in ("/coverage", "/readyz", "/coverage")]
        assert client.get("/healthz").status_code == 200
    assert answers == [503, 503, 503]
    (started,) = [r for r in records.records if r.name == "service.database"]
    assert started.levelno == logging.ERROR
    assert started.getMessage().startswith("database unavailable")
    assert started.exc_info is not None
    assert [r.levelno for r in records.records if r.name == "service.web.problems"] == []


def test_a_database_outage_is_logged_once_when_it_ends(
    spare_cluster: TemporaryCluster, records: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=spare_cluster.url)

    def outage_lines() -> list[tuple[int, str]]:
        found = [r for r in records.records if r.name == "service.database"]
        return [(r.levelno, r.getMessage().split(":")[0].split(" after")[0]) for r in found]

    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 503  # reachable, not migrated
        assert outage_lines() == []
        spare_cluster.stop()
        try:
            down = [client.get(path) for path in ("/readyz", "/coverage", "/readyz")]
            assert [r.status_code for r in down] == [503, 503, 503]
            assert "unreachable" in down[0].json()["reason"]
            assert outage_lines() == [(logging.ERROR, "database unavailable")]
        finally:
            spare_cluster.start()
        assert client.get("/readyz").status_code == 503  # reachable again, still not migrated
        assert client.get("/readyz").status_code == 503
    assert outage_lines() == [
        (logging.ERROR, "database unavailable"),
        (logging.INFO, "database available again"),
    ]
