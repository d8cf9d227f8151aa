"""Imports over HTTP: upload a delivery for a preview, look at it again, commit exactly that."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.auth.dependencies import PrincipalDep
from service.auth.tokens import authorize
from service.db.models import Import
from service.layers import COLLECTIONS, importable
from service.packages import deliveries, uploads
from service.packages.importing import Match
from service.web import params
from service.web.deps import SessionDep, SettingsDep, base_url
from service.web.throttle import take_upload

router = APIRouter(tags=["imports"])
ImportId = params.ImportId
UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file", "layer"],
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "GeoPackage, zipped Shapefile, GeoJSON, CSV or XLSX",
        },
        "layer": {"type": "string", "enum": list(importable())},
        "match": {"type": "string", "enum": [m.value for m in Match], "default": "name"},
        "delete_missing": {"type": "boolean", "default": False},
        "crs": {"type": "string", "description": "CRS of a file that declares none"},
        "source_layer": {"type": "string", "description": "layer inside a GeoPackage"},
        "encoding": {"type": "string", "description": "text encoding, e.g. cp1252"},
        "mapping": {"type": "string", "format": "binary", "description": "TOML mapping file"},
        "ags": {
            "type": "string",
            "pattern": params.AGS,
            "description": params.AGS_DESCRIPTION,
        },
        "status_since": {
            "type": "string",
            "format": "date",
            "description": "the date of every new or changed status that has none of its own "
            "(default: the day it is recorded); not in the future",
        },
    },
}
PROBLEM = {"description": "Problem document", "content": {"application/problem+json": {}}}


def _document(request: Request, record: Import) -> dict[str, Any]:
    url = f"{base_url(request)}/imports/{record.public_id}"
    links = [{"href": url, "rel": "self", "type": "application/json"}]
    if record.committed_at is None:
        links.append({"href": f"{url}/commit", "rel": "commit", "type": "application/json"})
    else:
        changes = f"{base_url(request)}/changes?collection={record.layer}"
        links.append({"href": changes, "rel": "related", "type": "application/json"})
    return {
        "id": str(record.public_id),
        "status": "preview" if record.committed_at is None else "committed",
        "file_name": record.file_name,
        "layer": record.layer,
        "match": "external_id" if record.match == "external_id" else "name",
        "delete_missing": record.delete_missing,
        "actor": record.actor,
        "created_at": record.created_at.isoformat(),
        "committed_at": record.committed_at.isoformat() if record.committed_at else None,
        "committed_by": record.committed_by,
        "transaction": record.transaction_id,
        "preview": record.preview,
        "links": links,
    }


@router.post(
    "/imports",
    status_code=201,
    summary="Upload a delivery: it is checked and the preview diff returned; nothing is written",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": UPLOAD_SCHEMA}},
        },
        "responses": {str(c): PROBLEM for c in (400, 401, 403, 413, 422)},
    },
)
async def create_import(
    request: Request, principal: PrincipalDep, settings: SettingsDep
) -> JSONResponse:
    """All or nothing: one bad feature refuses the file with every problem listed."""
    take_upload(request)  # counted before the body is read; over the limit: 429
    async with uploads.delivery_upload(request, settings.max_import_bytes) as (delivery, form):
        authorize(principal, COLLECTIONS[delivery.layer])
        factory = request.app.state.sessionmaker
        ags = uploads.text_field(form, "ags")
        record = await run_in_threadpool(deliveries.preview, factory, delivery, principal.name, ags)
    document = _document(request, record)
    headers = {"Location": document["links"][0]["href"]}
    return JSONResponse(document, status_code=201, headers=headers)


@router.get(
    "/imports/{import_id}",
    summary="An import's preview (or what it committed), for its uploader or an admin",
    openapi_extra={"responses": {str(c): PROBLEM for c in (401, 403, 404)}},
)
def get_import(
    request: Request, session: SessionDep, principal: PrincipalDep, import_id: ImportId
) -> JSONResponse:
    """The same preview again, with its status; someone else's is a 404, as if it did not exist."""
    return JSONResponse(_document(request, deliveries.stored(session, import_id, principal)))


@router.post(
    "/imports/{import_id}/commit",
    summary="Apply exactly the previewed changes; 409 if the layer changed since",
    openapi_extra={"responses": {str(c): PROBLEM for c in (401, 403, 404, 409)}},
)
def commit_import(request: Request, principal: PrincipalDep, import_id: ImportId) -> JSONResponse:
    """One transaction; the change log names the file and the token's holder (uploader or admin)."""
    settings = request.app.state.settings
    record = deliveries.commit(
        request.app.state.sessionmaker, import_id, principal, settings.import_statement_timeout_ms
    )
    return JSONResponse(_document(request, record))
