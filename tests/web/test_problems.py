"""Every error is an RFC 9457 problem document, chosen by the exception's type, never by the URL."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from service.core.logging import RequestIdFilter
from service.core.settings import Settings
from service.main import create_app

PROBLEM_JSON = "application/problem+json"


def _problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The problem document, after checking the status and the media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def _fields(body: dict[str, Any]) -> set[str]:
    """The fields the problems name; FastAPI's parameter errors all lie in the request."""
    assert all(p["layer"] == "request" for p in body["problems"])
    return {p["field"] for p in body["problems"]}


def test_an_unknown_path_is_a_404_problem(client: TestClient) -> None:
    body = _problem(client.get("/no/such/thing"), 404)
    assert body["title"] == "NotFound"
    assert "/no/such/thing" in str(body["detail"])


def test_an_unknown_static_file_is_a_404_problem(client: TestClient) -> None:
    _problem(client.get("/static/no-such-file.js"), 404)


def test_a_wrong_method_is_a_405_problem_that_keeps_allow(client: TestClient) -> None:
    response = client.delete("/healthz")
    body = _problem(response, 405)
    assert body["title"] == "MethodNotAllowed"
    assert response.headers["allow"] == "GET"
    assert "DELETE" in str(body["detail"]) and "GET" in str(body["detail"])


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/coverage", {"as_of": "notadate"}, "as_of"),
        ("/coverage", {"f": "xlsx"}, "f"),
        ("/coverage/timeline", {"step": "fortnight"}, "step"),
        ("/coverage/districts", {"as_of": "2021-13-01"}, "as_of"),
        ("/lookup", {"q": "Marktplatz 1", "limit": "0"}, "limit"),
        ("/lookup", {}, "q"),
        ("/map", {"zoom": "30"}, "zoom"),
        ("/changes", {"limit": "0"}, "limit"),
        ("/changes", {"feature": "abc"}, "feature"),
    ],
)
def test_parameters_fastapi_cannot_parse_are_a_400_naming_them(
    coesfeld: object, client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    body = _problem(client.get(path, params=params), 400)
    assert body["title"] == "BadRequest"
    assert _fields(body) == {field}
    assert field in str(body["detail"])


def test_the_problem_says_what_was_expected_and_what_came(client: TestClient) -> None:
    body = _problem(client.get("/coverage/timeline", params={"step": "fortnight"}), 400)
    (problem,) = body["problems"]
    assert "'month', 'quarter' or 'year'" in problem["message"]
    assert "'fortnight'" in problem["message"]


def test_several_bad_parameters_are_named_together(client: TestClient) -> None:
    params = {"from": "gestern", "step": "x"}
    body = _problem(client.get("/coverage/timeline", params=params), 400)
    assert _fields(body) == {"from", "step"}


def test_an_ogc_parameter_is_the_same_kind_of_problem(coesfeld: object, client: TestClient) -> None:
    body = _problem(client.get("/collections/areas/items", params={"limit": "x"}), 400)
    assert _fields(body) == {"limit"}


def test_a_parameter_the_service_checks_is_a_400_naming_it(
    coesfeld: object, client: TestClient
) -> None:
    body = _problem(client.get("/coverage", params={"as_of": "2999-01-01"}), 400)
    (problem,) = body["problems"]
    assert (problem["layer"], problem["feature"], problem["field"]) == ("query", None, "as_of")
    assert "lies in the future" in problem["message"]


@pytest.fixture
def failing_client(settings: Settings) -> TestClient:
    """An app with one route that fails as a defect would, naming a secret in its message."""
    app = create_app(settings)

    def explode() -> None:
        raise RuntimeError("internal detail: password=hunter2")

    app.add_api_route("/explode", explode)
    return TestClient(app)


def test_an_unhandled_error_is_a_500_problem_without_its_text(
    failing_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with failing_client, caplog.at_level(logging.INFO):
        response = failing_client.get("/explode")
    body = _problem(response, 500)
    assert body["title"] == "InternalServerError"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    request_id = response.headers["x-request-id"]
    assert body["request_id"] == request_id

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    (error,) = errors
    assert error.exc_info is not None and error.exc_info[0] is RuntimeError
    assert error.request_id == request_id  # type: ignore[attr-defined]
    assert "Traceback" in caplog.text and "in explode" in caplog.text
    access = [r for r in caplog.records if r.name == "service.access"]
    assert [(r.status, r.request_id) for r in access] == [(500, request_id)]  # type: ignore[attr-defined]


def test_an_unhandled_error_keeps_the_callers_request_id(failing_client: TestClient) -> None:
    with failing_client:
        response = failing_client.get("/explode", headers={"X-Request-ID": "trace-4711"})
    assert response.headers["x-request-id"] == "trace-4711"
    assert _problem(response, 500)["request_id"] == "trace-4711"


def test_a_database_outage_is_a_503_problem_with_the_request_id() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/coverage")
    body = _problem(response, 503)
    assert body["title"] == "DatabaseUnavailable"
    assert re.fullmatch(r"[0-9a-f]{32}", str(body["request_id"]))
    assert body["request_id"] == response.headers["x-request-id"]


def test_the_api_description_promises_the_400_it_sends(client: TestClient) -> None:
    described = client.get("/openapi.json").json()
    coverage = described["paths"]["/coverage"]["get"]["responses"]
    assert "422" not in coverage
    assert "application/problem+json" in coverage["400"]["content"]
    assert "HTTPValidationError" not in described.get("components", {}).get("schemas", {})
    refused = client.get("/coverage", params={"as_of": "gestern"})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_api_description_has_no_dangling_reference(client: TestClient) -> None:
    described = client.get("/openapi.json").json()
    schemas = set(described.get("components", {}).get("schemas", {}))
    text = json.dumps(described)
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert referenced <= schemas, referenced - schemas
