"""Security headers on every response (`SecurityHeaders`), the workspace pages' own, and the
trusted-host check (`TrustedHosts`): links are never built from a Host header nobody configured.

Every response says `nosniff` and `same-origin` for the Referer; an HTML response without a CSP
of its own (the OGC pages, HTML errors) gets a strict default one. Pages with their
own policy (the map with its basemap and `BROADBAND_FRAME_ANCESTORS`, `/docs`) keep it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.settings import Settings
from service.web.problems import problem

DEFAULT_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
EVERY_RESPONSE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def basemap_source(settings: Settings) -> str | None:
    """The tile host as a CSP source (`{s}` subdomains as a wildcard), or None without a basemap."""
    if not settings.basemap:
        return None
    parts = urlsplit(settings.basemap.replace("{s}.", "SUBDOMAIN."))
    return f"{parts.scheme}://{parts.netloc.replace('SUBDOMAIN.', '*.')}"


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles only from files of this service (no inline code), no framing.

    The basemap's tiles are the one outside request a page may make (GDPR).
    """
    images = " ".join(filter(None, ["'self'", "data:", basemap_source(settings)]))
    return (
        "default-src 'self'; "
        f"img-src {images}; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


def page_headers(settings: Settings) -> dict[str, str]:
    """Headers every workspace page (and its redirects) carries: personal pages are never cached."""
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


class SecurityHeaders:
    """Pure ASGI: adds the headers above where a route set none; bodies pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EVERY_RESPONSE.items():
                    headers.setdefault(name, value)
                media = headers.get("content-type", "").partition(";")[0].strip().lower()
                if media == "text/html":
                    headers.setdefault("Content-Security-Policy", DEFAULT_PAGE_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


TRUSTED = "broadband.trusted_host"  # scope key Starlette's check sets through `_accepted`


async def _accepted(scope: Scope, receive: Receive, send: Send) -> None:
    scope[TRUSTED] = True


async def _discarded(message: Message) -> None:
    """Starlette's plain-text 400; ours is a problem document."""


class TrustedHosts:
    """Starlette's TrustedHostMiddleware decides; a refused Host gets a 400 problem document
    that does not repeat it (the header is the attacker's text)."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(_accepted, allowed_hosts, www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            await self.check(scope, receive, _discarded)
            if not scope.pop(TRUSTED, False):
                detail = "this service does not answer for that Host; see BROADBAND_ALLOWED_HOSTS"
                await problem(400, "BadRequest", detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)
