"""The API description (/api) says what the service really answers: each answer below, got from
the running app, is checked against the operation the description lists for it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.core.errors import BadRequestError
from service.maps import pages

ADMIN = "admin"
GEOJSON = "application/geo+json"


def _operation(client: TestClient, method: str, template: str) -> dict[str, Any]:
    operation: dict[str, Any] = client.get("/api").json()["paths"][template][method.lower()]
    return operation


def _documented(operation: dict[str, Any], status: int) -> dict[str, Any]:
    """The answer the description gives for a status, exactly or by its class (`5XX`)."""
    responses = operation["responses"]
    answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    assert answer is not None, f"{status} is not in {sorted(responses)}"
    return dict(answer)


def _unknown_id(client: TestClient, method: str, template: str) -> str:
    """An id of the form the description gives its path parameter that names nothing."""
    parameters = _operation(client, method, template)["parameters"]
    (path,) = [p for p in parameters if p["in"] == "path"]
    return str(uuid.uuid4()) if path["schema"].get("format") == "uuid" else "999999"


@pytest.mark.parametrize(
    ("method", "template", "url", "status", "media_type"),
    [
        ("GET", "/imports/{import_id}", "/imports/{unknown}", 404, "application/problem+json"),
        ("GET", "/collections/areas/items/{feature_id}", "/collections/areas/items/0", 404, None),
        ("GET", "/coverage", "/coverage?ags=99999999", 404, "application/problem+json"),
        ("GET", "/map.png", "/map.png?ags=99999999", 404, "application/problem+json"),
        ("GET", "/collections/{collection_id}", "/collections/roads", 404, None),
        ("GET", "/changes", "/changes?collection=roads", 404, None),
        ("GET", "/coverage", "/coverage?f=csv", 200, "text/csv"),
        ("GET", "/coverage/districts", "/coverage/districts?f=geojson", 200, GEOJSON),
        (
            "GET",
            "/collections/{collection_id}/queryables",
            "/collections/areas/queryables",
            200,
            "application/schema+json",
        ),
        ("GET", "/collections", "/collections?f=html", 200, "text/html"),
        ("GET", "/collections/areas/items", "/collections/areas/items?f=csv", 200, "text/csv"),
        (
            "GET",
            "/collections/areas/items",
            "/collections/areas/items?f=gpkg",
            200,
            "application/geopackage+sqlite3",
        ),
        ("GET", "/export.csv.zip", "/export.csv.zip", 200, "application/zip"),
        ("GET", "/api", "/api?f=html", 303, None),
        ("GET", "/lookup", "/lookup?q=", 400, "application/problem+json"),
        (
            "DELETE",
            "/collections/areas/items/{feature_id}",
            "/collections/areas/items/1",
            428,
            None,
        ),
    ],
)
def test_each_answer_is_in_the_description(
    coesfeld: object,
    client: TestClient,
    tokens: dict[str, str],
    method: str,
    template: str,
    url: str,
    status: int,
    media_type: str | None,
) -> None:
    headers = {"Authorization": f"Bearer {tokens[ADMIN]}"}
    if "{unknown}" in url:
        url = url.replace("{unknown}", _unknown_id(client, method, template))
    response = client.request(method, url, headers=headers, follow_redirects=False)
    assert response.status_code == status, response.text[:300]
    answer = _documented(_operation(client, method, template), status)
    sent = response.headers.get("content-type", "").split(";")[0].strip()
    if sent and status != 303:
        assert sent in answer.get("content", {}), f"{sent} is not in {answer.get('content')}"
    if media_type is not None:
        assert sent == media_type


@pytest.mark.parametrize(
    "path", ["/coverage", "/coverage/hamlets", "/map", "/map.png", "/report", "/map/tabelle"]
)
@pytest.mark.parametrize("as_of", ["0", "1700000000", "1.5e9", "20240301"])
def test_a_date_is_written_out_never_seconds_since_1970(
    coesfeld: object, client: TestClient, path: str, as_of: str
) -> None:
    response = client.get(path, params={"as_of": as_of})
    assert response.status_code == 400
    assert [p["field"] for p in response.json()["problems"]] == ["as_of"]
    schema = next(
        p["schema"] for p in _operation(client, "GET", path)["parameters"] if p["name"] == "as_of"
    )
    assert {"type": "string", "format": "date"} in schema["anyOf"]


def test_an_unknown_filter_language_is_refused_even_without_a_filter(
    coesfeld: object, client: TestClient
) -> None:
    response = client.get("/collections/areas/items", params={"filter-lang": "AAA"})
    assert response.status_code == 400
    assert [p["field"] for p in response.json()["problems"]] == ["filter-lang"]


def test_an_empty_search_is_refused_as_the_description_says(client: TestClient) -> None:
    q = next(p for p in _operation(client, "GET", "/lookup")["parameters"] if p["name"] == "q")
    assert q["schema"]["minLength"] == 1
    assert client.get("/lookup", params={"q": ""}).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/collections/areas/items",
        "/collections/areas/items/1",
        "/collections/municipality/items",
        "/collections/municipality/items/1",
        "/coverage",
        "/imports",
    ],
)
@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
def test_a_refused_method_names_every_method_the_description_lists(
    client: TestClient, path: str, method: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    paths = client.get("/api").json()["paths"]
    template = re.sub(r"/1$", "/{feature_id}", path)
    assert allowed == {m.upper() for m in paths[template]}


def test_an_unknown_collection_is_a_404_whatever_the_method(client: TestClient) -> None:
    for method in ("GET", "POST", "OPTIONS", "TRACE"):
        assert client.request(method, "/collections/roads/items").status_code == 404


def _accepts(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except BadRequestError:
        return False
    return True


@pytest.mark.parametrize(
    ("parse", "pattern", "values"),
    [
        (
            pages.parse_layers,
            pages.LAYERS_PATTERN,
            ["", ",", "areas", " areas , ,schools ,", "areas schools", "areasschools", "roads"],
        ),
        (
            pages.parse_center,
            pages.CENTER_PATTERN,
            ["", "7.1,51.9", "180,-90", "180.5,0", "07,51", "099,1", "7.,51", "1e1,5", "7,51\n"],
        ),
        (
            pages.parse_highlight,
            pages.HIGHLIGHT_PATTERN,
            ["", "areas/12", "roads/1", "areas/", "areas/²", "areas/1/2", "areas/12\n"],
        ),
    ],
)
def test_the_map_parameters_patterns_are_their_parsers(
    parse: Any, pattern: str, values: list[str]
) -> None:
    """The description states the patterns; the parsers decide. Both must say the same."""
    for value in values:
        assert _accepts(parse, value) == bool(re.fullmatch(pattern, value)), value
