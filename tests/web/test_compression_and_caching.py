"""Compression (br, gzip) by content type, a strong ETag per coding, content-hashed static URLs."""

from __future__ import annotations

import asyncio
import gzip
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import brotli  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web.assets import IMMUTABLE, Assets
from service.web.middleware import Compression, accepted_coding, coded_etag

BR = {"Accept-Encoding": "gzip, deflate, br"}
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
def served(client: TestClient, coesfeld: object) -> TestClient:
    return client


def _static_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("identity", None),
        ("", None),
        (None, None),
    ],
)
def test_brotli_is_preferred_and_q0_refuses(header: str | None, coding: str | None) -> None:
    assert accepted_coding(header) == coding


def test_a_coding_gets_its_own_strong_tag_and_weak_tags_stay() -> None:
    assert coded_etag('"abc"', "br") == '"abc-br"'
    assert coded_etag('W/"abc"', "gzip") == 'W/"abc"'


@pytest.mark.parametrize("path", ["/map", "/collections/areas/items"])
def test_pages_and_geojson_are_compressed_with_a_tag_per_coding(
    served: TestClient, path: str
) -> None:
    tags = {}
    for headers, coding in ((BR, "br"), (GZIP, "gzip"), (IDENTITY, None)):
        response = served.get(path, headers=headers)
        assert response.status_code == 200
        assert response.headers.get("content-encoding") == coding
        assert "Accept-Encoding" in response.headers["vary"]
        tags[coding] = response.headers["etag"]
        again = served.get(path, headers={**headers, "If-None-Match": tags[coding]})
        assert again.status_code == 304, coding
        assert again.headers["etag"] == tags[coding]
    assert tags["br"] == tags[None][:-1] + '-br"'
    assert tags["gzip"] == tags[None][:-1] + '-gzip"'
    # A body in one coding never validates a cached body in another.
    other = served.get(path, headers={**GZIP, "If-None-Match": tags["br"]})
    assert other.status_code == 200
    assert other.headers["content-encoding"] == "gzip"


def test_the_map_page_is_about_20_kb_on_the_wire(served: TestClient) -> None:
    response = served.get("/map", headers=GZIP)
    wire = len(gzip.compress(response.content, 9))
    assert int(response.headers["content-length"]) <= wire + 1024
    assert int(response.headers["content-length"]) < 40 * 1024


@pytest.mark.parametrize("path", ["/export.gpkg", "/collections/areas/items?f=gpkg", "/map.png"])
def test_binary_downloads_are_never_compressed(served: TestClient, path: str) -> None:
    response = served.get(path, headers=BR)
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content)


def test_every_asset_of_the_map_has_a_hashed_url_cached_for_a_year(served: TestClient) -> None:
    urls = _static_urls(served.get("/map").text)
    assert {url.rsplit("/", 1)[1] for url in urls} >= {
        "leaflet.js",
        "leaflet.css",
        "map.js",
        "map.css",
    }
    for url in urls:
        assert re.fullmatch(r"/static/(leaflet/)?[0-9a-f]{12}/[\w.-]+", url), url
        response = served.get(url, headers=BR)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE
    script = served.get(next(u for u in urls if u.endswith("leaflet.js")), headers=BR)
    assert script.headers["content-encoding"] == "br"
    assert script.headers["etag"].endswith('-br"')


def test_images_in_leaflets_css_resolve_under_the_same_hash(served: TestClient) -> None:
    css_url = next(u for u in _static_urls(served.get("/map").text) if u.endswith("leaflet.css"))
    css = served.get(css_url).text
    images = set(re.findall(r"url\((images/[^)]+)\)", css))
    assert images  # layers.png, marker-icon.png, …
    for image in images:
        response = served.get(urljoin(css_url, image), headers=BR)
        assert response.status_code == 200, image
        assert response.headers["content-type"] == "image/png"
        assert "content-encoding" not in response.headers
        assert response.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize("path", ["/static/leaflet/leaflet.js", "/static/map.js"])
def test_plain_static_urls_still_work_and_revalidate(served: TestClient, path: str) -> None:
    response = served.get(path, headers=GZIP)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-encoding"] == "gzip"
    by_tag = served.get(path, headers={**GZIP, "If-None-Match": response.headers["etag"]})
    assert by_tag.status_code == 304
    assert by_tag.headers["etag"] == response.headers["etag"]
    by_date = served.get(
        path, headers={**GZIP, "If-Modified-Since": response.headers["last-modified"]}
    )
    assert by_date.status_code == 304


def test_an_outdated_hash_still_serves_the_file_but_only_revalidated(served: TestClient) -> None:
    response = served.get("/static/000000000000/map.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


def test_the_workspace_pages_use_hashed_urls(client: TestClient) -> None:
    page = client.get("/redaktion/anmelden").text
    urls = _static_urls(page)
    assert urls
    for url in urls:
        assert re.fullmatch(r"/static/(\w+/)?[0-9a-f]{12}/[\w.-]+", url), url
        assert client.get(url).headers["cache-control"] == IMMUTABLE


def test_a_vendor_hash_covers_the_whole_package(tmp_path: Path) -> None:
    own, package = tmp_path / "own", tmp_path / "pkg"
    (package / "images").mkdir(parents=True)
    own.mkdir()
    (own / "a.js").write_text("a")
    (own / "b.js").write_text("b")
    (package / "lib.css").write_text(".x { background: url(images/i.png) }")
    (package / "images" / "i.png").write_bytes(b"1")
    before = Assets.scan(own, {"pkg": package})
    (package / "images" / "i.png").write_bytes(b"2")
    (own / "b.js").write_text("b2")
    after = Assets.scan(own, {"pkg": package})
    assert before.url("pkg/lib.css") != after.url("pkg/lib.css")  # its image changed
    assert before.url("a.js") == after.url("a.js")  # our own files: each its own hash
    assert before.url("b.js") != after.url("b.js")
    with pytest.raises(LookupError, match=r"no file 'c\.js'"):
        after.url("c.js")


def _chunked_app(media_type: bytes, chunks: list[bytes]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", media_type), (b"etag", b'"v1"')]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, chunk in enumerate(chunks):
            more = i < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    return app


def _run(media_type: bytes, chunks: list[bytes]) -> list[Message]:
    """In a thread of its own: Playwright's sync API may hold this thread's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _serve(media_type, chunks)).result()


async def _serve(media_type: bytes, chunks: list[bytes]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = Compression(_chunked_app(media_type, chunks))
    headers = [(b"accept-encoding", b"br")]
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": headers}
    await middleware(scope, receive, send)
    return sent


CHUNKS = [(f"id;name\n{i};Feld {i}\n" * 400).encode() for i in range(3)]


def test_a_streamed_text_export_is_compressed_chunk_by_chunk() -> None:
    chunks = CHUNKS
    sent = _run(b"text/csv; charset=utf-8", chunks)
    start, bodies = sent[0], sent[1:]
    headers = dict(start["headers"])
    assert headers[b"content-encoding"] == b"br"
    assert headers[b"etag"] == b'"v1-br"'
    assert len(bodies) == len(chunks)  # still three messages: nothing was held back
    assert all(body["body"] for body in bodies[:-1])
    assert brotli.decompress(b"".join(b["body"] for b in bodies)) == b"".join(chunks)


def test_a_streamed_zip_passes_untouched() -> None:
    chunks = CHUNKS
    sent = _run(b"application/zip", chunks)
    assert b"content-encoding" not in dict(sent[0]["headers"])
    assert dict(sent[0]["headers"])[b"etag"] == b'"v1"'
    assert [m["body"] for m in sent[1:]] == chunks
