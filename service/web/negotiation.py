"""Format choice (`f=` or Accept) and conditional GET (ETag / If-None-Match) for the API."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable

from fastapi import Request
from fastapi.responses import Response

from service.core.errors import BadRequestError

FORMATS = ("json", "html")


def output_format(request: Request, allowed: tuple[str, ...] = FORMATS) -> str:
    """`f=` decides; without it a browser (Accept: text/html first) gets HTML, others JSON."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in allowed:
            message = f"unknown format {f!r}; allowed: {', '.join(allowed)}"
            raise BadRequestError.about("f", message)
        return f
    return "html" if request.headers.get("accept", "").startswith("text/html") else "json"


def wants_html(request: Request) -> bool:
    """Whether to answer with the HTML page."""
    return output_format(request) == "html"


def etag(key: Hashable) -> str:
    """A strong validator from whatever determines the response (data version, parameters)."""
    return '"' + hashlib.sha256(repr(key).encode()).hexdigest()[:32] + '"'


def tags(header: str | None) -> list[str]:
    """The entity tags of an If-Match / If-None-Match header, as sent (weak ones keep `W/`)."""
    if header is None:
        return []
    return [part.strip() for part in header.split(",") if part.strip()]


def matches(header: str | None, tag: str) -> bool:
    """If-None-Match uses the weak comparison: `W/"x"` matches `"x"`, and `*` matches anything."""
    listed = [part.removeprefix("W/") for part in tags(header)]
    return "*" in listed or tag in listed


def not_modified(request: Request, tag: str, headers: dict[str, str]) -> Response | None:
    """304 when the client already holds this version."""
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers={**headers, "ETag": tag})
    return None


def negotiated(headers: dict[str, str]) -> dict[str, str]:
    """Caches must key on Accept too: without `f=` it chooses between HTML and JSON."""
    return {**headers, "Vary": "Accept"}
