"""The web map: full page and iframe version, cached per data version, with CSP and ETag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service.core.settings import Settings
from service.maps import address_layer, pages
from service.maps.webmap import PAGE_ASSETS, MapOptions
from service.web import openapi, params
from service.web.cached import cached, current_version
from service.web.deps import SessionDep, SettingsDep
from service.web.negotiation import etag, not_modified
from service.web.params import IsoDate

router = APIRouter(tags=["map"])

# The patterns are the parsers' (service.maps.pages), stated for clients; the parsers check
# them, so a refusal says in words what was expected rather than quoting a pattern.
Layers = Annotated[
    str | None,
    Query(
        description="Layers shown at first, e.g. areas,schools",
        json_schema_extra={"pattern": pages.LAYERS_PATTERN},
    ),
]
Center = Annotated[
    str | None,
    Query(
        description="lon,lat in decimal degrees",
        json_schema_extra={"pattern": pages.CENTER_PATTERN},
    ),
]
Zoom = Annotated[int | None, Query(ge=1, le=19)]
AsOf = Annotated[
    IsoDate | None, Query(description="Show the versions valid on this date, not after today")
]
Compare = Annotated[
    IsoDate | None,
    Query(description="Outline the areas and Bauerschaften changed since this earlier date"),
]
Highlight = Annotated[
    str | None,
    Query(
        description="<collection>/<id>, e.g. areas/12",
        json_schema_extra={"pattern": pages.HIGHLIGHT_PATTERN},
    ),
]
Ags = params.Ags
Region = params.AgsRegion


def content_security_policy(settings: Settings) -> str:
    """Only this service, plus the basemap's tile host, may be contacted by the page."""
    images = "'self' data:"
    if settings.basemap:
        parts = urlsplit(settings.basemap.replace("{s}.", "SUBDOMAIN."))
        host = parts.netloc.replace("SUBDOMAIN.", "*.")  # {s} tile hosts: a., b., c. …
        images += f" {parts.scheme}://{host}"
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        f"frame-ancestors {settings.frame_ancestors}"
    )


def public_page_headers(settings: Settings, tag: str | None = None) -> dict[str, str]:
    """Headers of the public pages (map, text view, report): their CSP, revalidated each use."""
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
    }
    return headers if tag is None else {"ETag": tag, **headers}


def _page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    options: MapOptions,
    ags: str | None,
    as_of: dt.date | None,
    compare: dt.date | None = None,
) -> Response:
    # Content-hashed asset URLs: part of the key, so the page's ETag changes when they do.
    options = replace(options, asset_urls=request.app.state.assets.links(PAGE_ASSETS))
    if as_of is None:  # the address points are today's (the tiles keep no history)
        options = replace(options, address_tiles_url=address_layer.TILES_URL)
    key = (request.url.path, options, ags, as_of, compare)
    version = current_version(request, session, key)
    tag = etag((*key, version))
    headers = public_page_headers(settings, tag)
    if (unchanged := not_modified(request, tag, headers)) is not None:
        return unchanged
    body = request.app.state.cache.get_or_compute(
        key, version, lambda: pages.map_page(session, ags, as_of, options, compare)
    )
    return HTMLResponse(body, headers=headers)


def _options(
    settings: Settings,
    embed: bool,
    layers: str | None,
    center: str | None,
    zoom: int | None,
    highlight: str | None,
) -> MapOptions:
    return MapOptions(
        as_of=dt.date.today(),
        embed=embed,
        basemap_url=settings.basemap,
        basemap_attribution=settings.basemap_attribution,
        visible=pages.parse_layers(layers),
        center=pages.parse_center(center),
        zoom=zoom,
        highlight=pages.parse_highlight(highlight),
        demand_quota=settings.demand_quota,
        time_travel=not embed,  # the full page only: an embedded map stays compact
    )


def _map_route(embed: bool) -> Callable[..., Response]:
    """The full page and the iframe version differ only in framing."""

    def route(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        layers: Layers = None,
        center: Center = None,
        zoom: Zoom = None,
        as_of: AsOf = None,
        highlight: Highlight = None,
        ags: Region = None,
        compare: Compare = None,
    ) -> Response:
        options = _options(settings, embed, layers, center, zoom, highlight)
        return _page(request, session, settings, options, ags, as_of, compare)

    return route


REGION_MAP = (
    "With a Kreis's (5 digits) or Land's (2) `ags`, the map of that region: each loaded "
    "municipality's outline shaded by its share of connected addresses, labelled with it, and "
    "listed in the legend with a link to its own map."
)

router.add_api_route(
    "/map",
    _map_route(embed=False),
    methods=["GET"],
    response_class=HTMLResponse,
    responses={304: openapi.NOT_MODIFIED},
    name="map",
    summary="The coverage map (full page, German): legend, headline figure, address search",
    description=REGION_MAP,
)
router.add_api_route(
    "/map/embed",
    _map_route(embed=True),
    methods=["GET"],
    response_class=HTMLResponse,
    responses={304: openapi.NOT_MODIFIED},
    name="map_embed",
    summary="The same map for an iframe: no margins, compact legend, small attribution",
    description=REGION_MAP,
)


@router.get(
    "/map.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="A print-quality map (A4 landscape, 150 dpi) for the council report",
)
def printed_map(
    request: Request, session: SessionDep, as_of: AsOf = None, ags: Ags = None
) -> Response:
    """Title, legend, scale bar, north arrow and date; drawn without any basemap."""
    key = (request.url.path, ags, as_of)
    png = cached(request, session, key, lambda: pages.print_page(session, ags, as_of))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.get(
    "/map/timeline",
    response_class=JSONResponse,
    responses={304: openapi.NOT_MODIFIED},
    summary="The map's chart: [date, share of connected addresses in %] on the first of every "
    "month since the municipality's first recorded status",
)
def map_timeline(request: Request, session: SessionDep, ags: Ags = None) -> Response:
    """Revalidated by its ETag like the page, so a repeat visit transfers nothing."""
    key = (request.url.path, ags)
    version = current_version(request, session, key)
    tag = etag((*key, version))
    headers = {"Cache-Control": "no-cache", "ETag": tag}
    if (unchanged := not_modified(request, tag, headers)) is not None:
        return unchanged
    points = request.app.state.cache.get_or_compute(
        key, version, lambda: pages.month_timeline(session, ags)
    )
    return JSONResponse(points, headers=headers)
