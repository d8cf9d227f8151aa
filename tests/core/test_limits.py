"""The URL length limit answers 414 before the app sees the request."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.core.limits import Message, Receive, Scope, Send, UrlLengthLimit
from service.core.settings import Settings
from service.main import create_app


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    start: Message = {"type": "http.response.start", "status": 200, "headers": []}
    await send(start)
    await send({"type": "http.response.body", "body": b"ok"})


def test_a_url_over_the_limit_gets_414_naming_the_setting() -> None:
    client = TestClient(UrlLengthLimit(_ok, max_bytes=8_192))
    answer = client.get("/collections?q=" + "x" * 9_000)
    assert answer.status_code == 414
    assert answer.headers["content-type"] == "application/problem+json"
    assert "BROADBAND_MAX_URL_BYTES" in answer.json()["detail"]


def test_a_url_within_the_limit_passes() -> None:
    client = TestClient(UrlLengthLimit(_ok, max_bytes=8_192))
    assert client.get("/collections?q=" + "x" * 8_000).status_code == 200


def test_the_service_answers_414_above_its_setting(settings: Settings, engine: object) -> None:
    with TestClient(create_app(settings.model_copy(update={"max_url_bytes": 2_000}))) as client:
        assert client.get("/healthz?x=" + "y" * 1_500).status_code == 200
        refused = client.get("/healthz?x=" + "y" * 2_500)
    assert refused.status_code == 414
    assert refused.headers["x-content-type-options"] == "nosniff"  # headers on refusals too
