"""Headers of the server-rendered workspace pages: a strict CSP, no caching, no sniffing."""

from __future__ import annotations

from urllib.parse import urlsplit

from service.core.settings import Settings


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
