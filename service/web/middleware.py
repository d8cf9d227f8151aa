"""Every request gets an id (`X-Request-ID`), one access log line, a count and a time in the
metrics, and a problem document when an error escapes every handler; text responses are
compressed. Pure ASGI, so streaming responses and contextvars pass untouched."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import parse_qsl, quote

from brotli_asgi import BrotliResponder, Mode
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core import metrics
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


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/collections/areas/items/{feature_id}`,
    a mount's `/static/leaflet/{path}`), never the path itself; `unmatched` when none took it."""
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str):
        return template
    if "app_root_path" in scope:  # a mount: its prefix went from the path to the root path
        prefix = str(scope.get("root_path", "")).removeprefix(str(scope["app_root_path"]))
        return f"{prefix}/{{path}}"
    return metrics.UNMATCHED


class RequestMetrics:
    """Counts and times every answer by method, route template and status, for Prometheus.

    Outside the other middleware of ours, so refusals (414, untrusted hosts) and problems made
    of escaped errors count too, and the time includes compressing the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            elapsed = time.perf_counter() - started
            metrics.request_answered(scope["method"], route_template(scope), status or 500, elapsed)


MINIMUM_SIZE = 500
BROTLI_QUALITY = 5  # about gzip -9's size at a fraction of the time; higher is too slow per request
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "image/svg+xml",
        "application/vnd.mapbox-vector-tile",  # protobuf with repeated keys: about half the size
    }
)
CODINGS = ("br", "gzip")  # preferred first


def compressible(content_type: str) -> bool:
    """Text, JSON (GeoJSON, problems), JS, CSS, CSV, SVG, vector tiles; never images or zip."""
    media = content_type.partition(";")[0].strip().lower()
    if media == "text/event-stream":
        return False
    return media.startswith("text/") or media in TEXT_TYPES or media.endswith(("+json", "+xml"))


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def accepted_coding(accept_encoding: str | None) -> str | None:
    """`br` if the client takes it, else `gzip`, else none; `q=0` refuses a coding."""
    offered: dict[str, float] = {}
    for part in (accept_encoding or "").split(","):
        name, _, parameters = part.partition(";")
        offered[name.strip().lower()] = _quality(parameters)
    return next((coding for coding in CODINGS if offered.get(coding, 0.0) > 0), None)


def coded_etag(tag: str, coding: str) -> str:
    """`"abc"` → `"abc-br"`: a compressed body is another representation, so another strong tag.

    The features' item tags already work so (`"<tag>-<representation>"`) and If-Match accepts
    any of them; weak tags stay as they are (a coding does not change what they promise)."""
    return tag if tag.startswith("W/") else f'{tag[:-1]}-{coding}"'


def _plain_validators(scope: Scope, coding: str) -> set[str]:
    """Take the coding off the client's If-None-Match tags, so routes compare their own tags;
    returns the tags the client sent with it, to put back on a 304."""
    header = Headers(scope=scope).get("if-none-match")
    if not header:
        return set()
    suffix = f'-{coding}"'
    held: set[str] = set()
    plain: list[str] = []
    for tag in (part.strip() for part in header.split(",") if part.strip()):
        coded = tag.endswith(suffix) and not tag.startswith("W/")
        if coded:
            held.add(tag)
        plain.append(tag.removesuffix(suffix) + '"' if coded else tag)
    others = [(k, v) for k, v in scope["headers"] if k.lower() != b"if-none-match"]
    scope["headers"] = [*others, (b"if-none-match", ", ".join(plain).encode("latin-1"))]
    return held


def _vary_on_coding(headers: MutableHeaders) -> None:
    listed = {part.strip().lower() for part in headers.get("vary", "").split(",")}
    if "accept-encoding" not in listed:
        headers.add_vary_header("Accept-Encoding")


class Compression:
    """Brotli (brotli-asgi) or gzip (Starlette) for text responses of 500 bytes and more.

    Whether a response is compressed is decided by its content type, not its path, so a
    GeoPackage from `/collections/…/items?f=gpkg` passes untouched; streamed bodies stay streamed
    (each chunk is compressed and flushed). Strong ETags get the coding appended, also on 304s."""

    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = accepted_coding(Headers(scope=scope).get("accept-encoding"))
        held = _plain_validators(scope, coding) if coding else set()
        if coding == "br":  # brotli-asgi knows body messages only, not the pathsend extension
            scope.get("extensions", {}).pop("http.response.pathsend", None)
        compressing = False

        async def finish(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                tag = headers.get("etag")
                if coding and tag:
                    coded = coded_etag(tag, coding)
                    applied = compressing and headers.get("content-encoding") == coding
                    if applied or (message["status"] == 304 and coded in held):
                        headers["ETag"] = coded
                        _vary_on_coding(headers)
            await send(message)

        forward: Send = finish

        async def gate(message: Message) -> None:
            nonlocal forward, compressing
            if message["type"] == "http.response.start" and self._compresses(message):
                compressing = coding is not None
                forward = self._responder(coding, finish)
            await forward(message)

        await self.app(scope, receive, gate)

    @staticmethod
    def _compresses(message: Message) -> bool:
        headers = Headers(raw=message.get("headers", []))
        return (
            message["status"] not in (204, 206, 304)
            and "content-encoding" not in headers
            and compressible(headers.get("content-type", ""))
        )

    def _responder(self, coding: str | None, send: Send) -> Send:
        """The library's responder for one response, writing to `send`; without a coding
        Starlette's identity responder still adds `Vary: Accept-Encoding` where it would."""
        if coding is None:
            identity = IdentityResponder(self.app, self.minimum_size)
            identity.send = send
            return identity.send_with_compression
        if coding == "br":
            brotli = BrotliResponder(self.app, BROTLI_QUALITY, Mode.text, 22, 0, self.minimum_size)
            brotli.send = send
            return brotli.send_with_brotli
        gzip = GZipResponder(self.app, self.minimum_size)
        gzip.send = send
        return gzip.send_with_compression
