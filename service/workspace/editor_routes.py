"""The workspace map editor (`/redaktion/karte`): draw, reshape and split areas and hamlets.

The page itself only reads; every write goes from the browser through the OGC API
(`POST`/`PATCH /collections/{id}/items`, session cookie + `X-CSRF-Token`), the one write path.
Splitting needs a geometry operation Leaflet-Geoman's free edition lacks, and must write both
parts in one transaction: `POST /redaktion/karte/teilen/{id}` does it through `writes.split`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from service.auth.dependencies import PrincipalDep, SessionUserDep, csrf_token
from service.auth.routes import sign_in_redirect
from service.auth.tokens import authorize
from service.core import crs
from service.core.errors import PreconditionRequiredError
from service.core.vocabulary import GERMAN_LABELS, Funding, Kind, Status
from service.features import writes
from service.features.checks import load_json
from service.features.documents import feature_doc
from service.features.etags import version_check
from service.layers import COLLECTIONS
from service.web.bodies import BodyDep
from service.web.deps import SettingsDep, base_url
from service.web.security import page_headers
from service.web.templates import templates

router = APIRouter(tags=["Redaktion"], include_in_schema=False)

EDITABLE = ("areas", "hamlets")
"""Layers drawn and reshaped on the map (polygons an editor may write)."""


def _choices(enum: type[Kind] | type[Status] | type[Funding]) -> list[tuple[str, str]]:
    return [(member.value, GERMAN_LABELS[member]) for member in enum]


def _page_context(request: Request, settings: SettingsDep, user: Any) -> dict[str, Any]:
    return {
        "user": user,
        "csrf_token": csrf_token(request),
        "layers": [(name, COLLECTIONS[name].german_title) for name in EDITABLE],
        "kinds": _choices(Kind),
        "statuses": _choices(Status),
        "fundings": _choices(Funding),
        "basemap": settings.basemap or "",
        "attribution": settings.basemap_attribution if settings.basemap else "",
    }


@router.get("/redaktion/karte", name="workspace_map")
def map_editor(request: Request, settings: SettingsDep, user: SessionUserDep) -> Response:
    """The editor page: a map, its tools and a form; data comes from the OGC API by fetch."""
    if user is None:
        return sign_in_redirect(request, settings)
    context = _page_context(request, settings, user)
    return templates.TemplateResponse(
        request, "redaktion/karte.html", context, headers=page_headers(settings)
    )


@router.post("/redaktion/karte/teilen/{feature_id:int}", name="workspace_split")
def split_area(
    request: Request, principal: PrincipalDep, body: BodyDep, feature_id: int
) -> JSONResponse:
    """Cut an area along a line (CRS84) in one transaction; If-Match guards the version read."""
    collection = COLLECTIONS["areas"]
    authorize(principal, collection)
    header = request.headers.get("if-match")
    if not header:
        raise PreconditionRequiredError(
            f"areas #{feature_id}: send If-Match with the ETag you read, so no edit is overwritten"
        )
    document = load_json(body, "areas")
    line = document.get("line") if isinstance(document, dict) else None
    kept, added = writes.split(
        request.app.state.sessionmaker,
        collection,
        feature_id,
        line,
        crs.DEFAULT,
        principal.name,
        version_check(header, collection, feature_id),
    )
    parts = [json.loads(feature_doc(base_url(request), collection, row)) for row in (kept, added)]
    return JSONResponse({"parts": parts}, headers={"Cache-Control": "no-store"})
