"""The map's text alternatives: the text view (`/map/tabelle`) and the accessibility statement.

Same parameters, CSP and per-data-version ETag as the map pages, so a visitor who cannot use the
map gets the same figures at the same freshness.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.core.settings import Settings
from service.maps import text_view
from service.maps.routes import AsOf, Region, public_page_headers
from service.web import openapi
from service.web.cached import current_version
from service.web.deps import SessionDep, SettingsDep
from service.web.negotiation import etag, not_modified
from service.web.templates import templates

router = APIRouter(tags=["map"])
STATEMENT_VERSION = 0  # the statement depends on the settings (in its key), not on the data


def _cached_page(
    request: Request,
    key: tuple[object, ...],
    version: Hashable,
    settings: Settings,
    render: Callable[[], str],
) -> Response:
    headers = public_page_headers(settings, etag((*key, version)))
    if (unchanged := not_modified(request, headers["ETag"], headers)) is not None:
        return unchanged
    body = request.app.state.cache.get_or_compute(key, version, render)
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
    ags: Region = None,
) -> Response:
    """Every figure and feature of the map as HTML tables, printable."""
    key = (request.url.path, ags, as_of, settings.demand_quota)
    query = {k: v for k, v in (("as_of", as_of), ("ags", ags)) if v is not None}
    suffix = f"?{urlencode(query)}" if query else ""
    quota = settings.demand_quota

    def render() -> str:
        view = text_view.text_view(session, ags, as_of, quota)
        return text_view.render(request, view, suffix)

    return _cached_page(request, key, current_version(request, session, key), settings, render)


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

    return _cached_page(request, key, STATEMENT_VERSION, settings, render)
