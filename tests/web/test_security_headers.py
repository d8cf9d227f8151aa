"""Every answer says nosniff and a Referrer-Policy; every HTML page has a CSP; `/docs` is served
from the service itself and, in Chromium, asks no other host for anything."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from service.web.api_docs import script_hashes
from service.web.security import DEFAULT_PAGE_POLICY


def _static_url(client: TestClient) -> str:
    page = client.get("/redaktion/anmelden").text
    start = page.index("/static/")
    return page[start : page.index('"', start)]


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/collections", "application/json"),
        ("/collections?f=html", "text/html"),
        ("/barrierefreiheit", "text/html"),
        ("/nowhere", "application/problem+json"),
        ("/static/map.css", "text/css"),
        ("/docs", "text/html"),
        ("/openapi.json", "application/json"),
        ("/coverage?f=csv", "text/csv"),
    ],
)
def test_every_response_carries_the_headers(client: TestClient, path: str, media: str) -> None:
    response = client.get(path)
    assert response.headers["content-type"].startswith(media), response.text[:200]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    if media == "text/html":
        assert "frame-ancestors" in response.headers["content-security-policy"]


def test_a_hashed_static_file_carries_them_too(client: TestClient) -> None:
    response = client.get(_static_url(client))
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/?f=html", "/collections/areas/items?f=html&limit=1"])
def test_pages_without_a_policy_of_their_own_get_the_default(client: TestClient, path: str) -> None:
    assert client.get(path).headers["content-security-policy"] == DEFAULT_PAGE_POLICY


def test_the_map_keeps_its_own_policy(client: TestClient) -> None:
    policy = client.get("/map").headers["content-security-policy"]
    assert policy != DEFAULT_PAGE_POLICY
    assert "frame-ancestors 'self'" in policy  # BROADBAND_FRAME_ANCESTORS' default


def test_docs_allow_exactly_their_own_inline_script(client: TestClient) -> None:
    response = client.get("/docs")
    page = response.text
    hashes = script_hashes(page)
    assert len(hashes) == 1
    policy = response.headers["content-security-policy"]
    assert f"script-src 'self' {hashes[0]};" in policy
    assert "cdn" not in page and "https://" not in page
    assert client.get("/redoc").status_code == 404


def test_docs_load_in_chromium_from_the_service_only(browser: Browser, service_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{service_url}/docs", wait_until="load")
        page.locator(".opblock").first.wait_for(timeout=15_000)
        operations = page.locator(".opblock").count()
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert operations > 20
    origin = urlsplit(service_url).netloc
    assert requests and all(urlsplit(url).netloc == origin for url in requests if "://" in url), [
        url for url in requests if urlsplit(url).netloc != origin
    ]
    assert errors == []
