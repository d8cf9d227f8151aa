"""Every limit on hostile input in one place: its default, its setting, and the refusal naming it.

A limit that is reached is refused with a 4xx whose text names the limit and the environment
variable that raises it, so an operator with a genuine large delivery knows what to change.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from service.core.errors import InvalidDataError, PayloadTooLargeError, Problem

if TYPE_CHECKING:
    from service.core.settings import Settings

MAX_HEADER_BYTES = 65_536  # request line and headers: a long CQL2 filter URL must fit
MAX_URL_BYTES = 65_536  # room for a CQL2 filter of MAX_LENGTH characters, percent-encoded
MAX_UNPACKED_BYTES = 200_000_000
MAX_DELIVERY_ROWS = 200_000
MAX_VERTICES_PER_FEATURE = 100_000
MAX_VERTICES_PER_DELIVERY = 2_000_000
STATEMENT_TIMEOUT_MS = 15_000
IMPORT_STATEMENT_TIMEOUT_MS = 300_000

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class ImportLimits:
    """How much one delivery may hold, and how long its statements may run; the defaults are
    the settings' defaults."""

    unpacked_bytes: int = MAX_UNPACKED_BYTES
    rows: int = MAX_DELIVERY_ROWS
    vertices_per_feature: int = MAX_VERTICES_PER_FEATURE
    vertices_per_delivery: int = MAX_VERTICES_PER_DELIVERY
    statement_timeout_ms: int = IMPORT_STATEMENT_TIMEOUT_MS  # of the import's transactions

    @classmethod
    def from_settings(cls, settings: Settings) -> ImportLimits:
        """The limits as configured (`BROADBAND_MAX_UNPACKED_BYTES` …)."""
        return cls(
            unpacked_bytes=settings.max_unpacked_bytes,
            rows=settings.max_delivery_rows,
            vertices_per_feature=settings.max_vertices_per_feature,
            vertices_per_delivery=settings.max_vertices_per_delivery,
            statement_timeout_ms=settings.import_statement_timeout_ms,
        )


def over_limit(
    name: str, message: str, setting: str, feature: str | None = None
) -> InvalidDataError:
    """A delivery past one of its limits (422), naming the limit's setting."""
    text = f"{message} (the limit is set by {setting})"
    return InvalidDataError([Problem(name, feature, None, text)], f"{name} is over the {setting}")


def unpacks_too_far(name: str, limit: int) -> PayloadTooLargeError:
    """A zip-based file that inflates past `BROADBAND_MAX_UNPACKED_BYTES` (413)."""
    setting = "BROADBAND_MAX_UNPACKED_BYTES"
    text = f"unpacks to more than {limit:,} bytes (the limit is set by {setting})"
    return PayloadTooLargeError([Problem(name, None, None, text)], f"{name} is over the {setting}")


def _problem_body(status: int, title: str, detail: str) -> bytes:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode()


class UrlLengthLimit:
    """Refuses a request whose target (path and query) is longer than `max_bytes`: 414.

    Pure ASGI, so it answers before routing, parsing or any other middleware looks at the URL.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_URL_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, unless its URL is too long."""
        if scope["type"] == "http":
            path = scope.get("raw_path") or str(scope.get("path", "")).encode()
            query = scope.get("query_string") or b""
            size = len(path) + (len(query) + 1 if query else 0)
            if size > self.max_bytes:
                await self._refuse(size, scope, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, size: int, scope: Scope, send: Send) -> None:
        detail = (
            f"the URL is {size:,} bytes long, over the limit of {self.max_bytes:,} "
            "(the limit is set by BROADBAND_MAX_URL_BYTES)"
        )
        body = _problem_body(414, "URITooLong", detail)
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 414, "headers": headers})
        await send({"type": "http.response.body", "body": body})
