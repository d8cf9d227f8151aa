"""Links and redirects never come from a Host header nobody configured (`Host: evil.example`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.core.settings import Settings
from service.main import create_app

EVIL = "evil.example"
PUBLIC = "https://breitband.example.de"
PAGES = [
    ("/", {}),
    ("/api", {"Accept": "text/html"}),  # the redirect to /docs
    ("/collections", {}),
    ("/collections/areas/items?limit=1", {}),
    ("/map", {}),
    ("/redaktion", {"Accept": "text/html"}),  # the redirect to the sign-in page
    ("/healthz", {}),
]


def _everything(response: httpx2.Response | httpx.Response) -> str:
    """Status line aside, all a client sees: header values and body."""
    headers = " ".join(f"{name}: {value}" for name, value in response.headers.items())
    return headers + "\n" + response.text


@pytest.mark.parametrize(("path", "headers"), PAGES)
def test_a_foreign_host_is_refused_and_never_echoed(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    for host in (EVIL, f"{EVIL}:8000", "localhost.evil.example"):
        response = client.get(path, headers={**headers, "Host": host}, follow_redirects=False)
        assert response.status_code == 400, (path, host, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert EVIL not in _everything(response)


def test_forwarded_host_headers_do_not_change_links(client: TestClient) -> None:
    forged = {"X-Forwarded-Host": EVIL, "Forwarded": f"host={EVIL}", "X-Forwarded-Proto": "https"}
    for path, headers in PAGES:
        response = client.get(path, headers={**headers, **forged}, follow_redirects=False)
        assert EVIL not in _everything(response), path


def test_allowed_hosts_build_links_from_the_request(client: TestClient) -> None:
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        headers = {"Host": host, "Accept": "text/html"}
        response = client.get("/api", headers=headers, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"http://{host}/docs"


@pytest.fixture
def public(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app with BROADBAND_PUBLIC_URL set, as behind a reverse proxy."""
    app = create_app(settings.model_copy(update={"public_url": PUBLIC + "/"}))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("host", ["breitband.example.de", "testserver"])
def test_with_a_public_url_every_link_uses_it(public: TestClient, host: str) -> None:
    headers = {"Host": host, "Accept": "text/html"}
    redirect = public.get("/api", headers=headers, follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == f"{PUBLIC}/docs"
    document = public.get("/collections", headers={"Host": host}).json()
    hrefs = [link["href"] for c in document["collections"] for link in c["links"]]
    hrefs += [link["href"] for link in document["links"]]
    assert hrefs and all(href.startswith(PUBLIC + "/") for href in hrefs)
    page = public.get("/collections?f=html", headers={"Host": host}).text
    assert "http://testserver" not in page and "http://breitband" not in page
    assert public.get("/", headers={"Host": EVIL}).status_code == 400


def test_the_settings_reject_a_public_url_that_is_no_address() -> None:
    for wrong in ("breitband.example.de", "ftp://x.example", "https://x.example/?a=1"):
        with pytest.raises(ValueError, match=r"expected e\.g\."):
            Settings(public_url=wrong)
    hosts = Settings(
        public_url="https://[2001:db8::1]:8443", allowed_hosts="a.example"
    ).trusted_hosts
    assert hosts == ["a.example", "[2001:db8::1]"]


def test_uvicorn_on_the_loopback_serves_links_to_itself(service_url: str) -> None:
    document = httpx.get(f"{service_url}/collections", timeout=10).json()
    assert all(link["href"].startswith(service_url) for link in document["links"])
    refused = httpx.get(f"{service_url}/collections", headers={"Host": EVIL}, timeout=10)
    assert refused.status_code == 400
