"""`/docs`: Swagger UI from the service's own /static (npm's swagger-ui-dist), never from a CDN.

Its one inline script (the start-up call FastAPI writes) is allowed by its SHA-256 in the page's
CSP; nothing else inline runs, and the page asks no other host for anything.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from service.web.assets import Assets

router = APIRouter()
PACKAGE = "swagger-ui"  # the /static prefix main.py serves node_modules/swagger-ui-dist under
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """CSP sources (`'sha256-…'`) of every inline script of a page, exactly as written."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: str) -> str:
    """Files of this service only; the start-up script by its hash; no framing."""
    scripts = " ".join(["'self'", *script_hashes(html)])
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        f"script-src {scripts}; connect-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def docs_page(assets: Assets, openapi_url: str, title: str) -> HTMLResponse:
    """The Swagger UI page with its CSP; the same bytes for every request."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} – API",
        swagger_js_url=assets.url(f"{PACKAGE}/swagger-ui-bundle.js"),
        swagger_css_url=assets.url(f"{PACKAGE}/swagger-ui.css"),
        swagger_favicon_url=assets.url(f"{PACKAGE}/favicon-32x32.png"),
    )
    html = bytes(page.body).decode()
    headers = {"Content-Security-Policy": docs_policy(html), "Cache-Control": "no-cache"}
    return HTMLResponse(html, headers=headers)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """The API description for people, rendered in the browser by Swagger UI."""
    app = request.app
    return docs_page(app.state.assets, app.openapi_url or "/openapi.json", app.title)
