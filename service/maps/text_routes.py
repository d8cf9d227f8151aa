"""The map's text alternatives: the text view (`/map/tabelle`) and the accessibility statement.

Same parameters, CSP and per-data-version ETag as the map pages, so a visitor who cannot use the
map gets the same figures at the same freshness.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.db.state import data_version
from service.maps import text_view
from service.maps.routes import Ags, AsOf, public_page_headers
from service.web import openapi
from service.web.deps import SessionDep, SettingsDep
from service.web.negotiation import etag, not_modified
from service.web.templates import templates

router = APIRouter(tags=["map"])


def _cached_page(
    request: Request, key: tuple[object, ...], headers: dict[str, str], render: Callable[[], str]
) -> Response:
    if (cached := not_modified(request, headers["ETag"], headers)) is not None:
        return cached
    body = request.app.state.cache.get_or_compute(key, render)
    return HTMLResponse(body, headers=headers)


@router.get(
    "/map/tabelle",
    response_class=HTMLResponse,
    responses={304: openapi.NOT_MODIFIED},
    name="map_text",
    summary="The map as text (German): headline, districts, Bauerschaften, kinds, areas, schools",
)
def text_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    ags: Ags = None,
) -> Response:
    """Every figure and feature of the map as HTML tables, printable."""
    key = (request.url.path, ags, as_of, settings.demand_quota, data_version(session))
    query = {k: v for k, v in (("as_of", as_of), ("ags", ags)) if v is not None}
    suffix = f"?{urlencode(query)}" if query else ""
    quota = settings.demand_quota

    def render() -> str:
        view = text_view.text_view(session, ags, as_of, quota)
        return text_view.render(request, view, suffix)

    return _cached_page(request, key, public_page_headers(settings, etag(key)), render)


@router.get(
    "/barrierefreiheit",
    response_class=HTMLResponse,
    responses={304: openapi.NOT_MODIFIED},
    name="accessibility_statement",
    summary="Erklärung zur Barrierefreiheit (BITV 2.0); contact and date from the settings",
)
def accessibility_statement(request: Request, settings: SettingsDep) -> Response:
    """The statement the BITV 2.0 asks for, following its model statement's sections."""
    values = (
        settings.accessibility_contact_email,
        settings.accessibility_contact_phone,
        settings.accessibility_contact_address,
        settings.accessibility_statement_date,
        settings.accessibility_arbitration,
    )
    key = (request.url.path, values)
    email, phone, address, statement_date, arbitration = values

    def render() -> str:
        return templates.get_template("barrierefreiheit.html").render(
            request=request,
            page="barrierefreiheit",
            email=email,
            phone=phone,
            address=address,
            statement_date=statement_date,
            arbitration=arbitration,
            german_date=text_view.german_date,
        )

    return _cached_page(request, key, public_page_headers(settings, etag(key)), render)
