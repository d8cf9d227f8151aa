"""Every request gets an id (`X-Request-ID`), one access log line, and a problem document when an
error escapes every handler. Pure ASGI, so streaming responses and contextvars pass untouched."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import parse_qsl, quote

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.logging import REQUEST_ID
from service.web import problems

REQUEST_ID_HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Query values may carry secrets, so only names are logged, and only names that look like names.
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,40}")
PATH_SAFE = "/:@!$&'()*+,;=-._~"

ACCESS = logging.getLogger("service.access")


def request_id(scope: Scope) -> str:
    """The caller's id when it is a plain token of at most 64 characters, else a new one."""
    offered = Headers(scope=scope).get(REQUEST_ID_HEADER)
    if offered is not None and SANE_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def parameter_names(query_string: bytes) -> list[str]:
    """The names of the query parameters, in order, once each; odd names become `*`."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    names = [name if PARAMETER_NAME.fullmatch(name) else "*" for name, _ in pairs]
    return list(dict.fromkeys(names))


def log_access(scope: Scope, status: int, started: float) -> None:
    """One line per request: method, path, parameter names, status, duration; never a value."""
    path = quote(scope["path"], safe=PATH_SAFE)
    names = parameter_names(scope.get("query_string", b""))
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    target = path + ("?" + "&".join(names) if names else "")
    ACCESS.info(
        "%s %s %d %.1f ms",
        scope["method"],
        target,
        status,
        duration_ms,
        extra={
            "method": scope["method"],
            "path": path,
            "query_parameters": names,
            "status": status,
            "duration_ms": duration_ms,
        },
    )


class RequestContext:
    """Outermost of our middleware: sets the request id, logs the request, catches what escapes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        # Each request runs in a task of its own, so the value ends with it; it is not reset
        # here, so that the server's own error handling still logs with it.
        REQUEST_ID.set(rid)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if status is not None:  # the answer has begun: only the server can end it now
                raise
            response = await problems.unexpected(Request(scope), error)
            await response(scope, receive, send_with_id)
        finally:
            log_access(scope, status or 500, started)
