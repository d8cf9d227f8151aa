"""Imports over HTTP: upload a delivery for a preview, look at it again, commit exactly that."""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParameter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message, Receive

from service.auth.dependencies import PrincipalDep
from service.auth.tokens import authorize
from service.core.errors import BadRequestError, PayloadTooLargeError, Problem
from service.db.models import Import
from service.features.routes import base_url
from service.layers import COLLECTIONS
from service.packages import deliveries
from service.packages import import_queries as import_store
from service.packages.columns import Mapping
from service.packages.importing import IMPORTABLE, ImportRequest, Match
from service.packages.sources import ReadOptions
from service.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["imports"])
ImportId = Annotated[int, PathParameter(ge=1, le=2**63 - 1)]
CHUNK = 1 << 20
FORM_FIELDS = (
    "file",
    "layer",
    "match",
    "delete_missing",
    "crs",
    "source_layer",
    "encoding",
    "mapping",
    "ags",
)

UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file", "layer"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "GeoPackage, zipped Shapefile, GeoJSON, CSV or XLSX",
        },
        "layer": {"type": "string", "enum": list(IMPORTABLE)},
        "match": {"type": "string", "enum": [m.value for m in Match], "default": "name"},
        "delete_missing": {"type": "boolean", "default": False},
        "crs": {"type": "string", "description": "CRS of a file that declares none"},
        "source_layer": {"type": "string", "description": "layer inside a GeoPackage"},
        "encoding": {"type": "string", "description": "text encoding, e.g. cp1252"},
        "mapping": {"type": "string", "format": "binary", "description": "TOML mapping file"},
        "ags": {"type": "string", "description": "municipality key, if several are loaded"},
    },
}
PROBLEM = {"description": "Problem document", "content": {"application/problem+json": {}}}


def _too_large(limit: int) -> PayloadTooLargeError:
    message = f"larger than the import limit of {limit:,} bytes (BROADBAND_MAX_IMPORT_BYTES)"
    return PayloadTooLargeError([Problem("import", None, "file", message)], "file too large")


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError.about(name, "expected a text field, got a file", layer="import")
    return value.strip() or None


async def _save(upload: UploadFile, folder: Path, limit: int) -> Path:
    """Copy the upload to a file of ours (only its suffix kept), refusing it past the limit."""
    suffix = Path(upload.filename or "").suffix.lower()
    target = folder / ("delivery" + (suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""))
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            out.write(chunk)
    return target


def _limited(receive: Receive, limit: int) -> Receive:
    """The request body as it arrives, refused as soon as it passes the limit (chunked too)."""
    received = 0

    async def counting() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit - 100_000)
        return message

    return counting


def _boolean(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise BadRequestError.about(name, f"expected true or false, got {value!r}", layer="import")


def _request(form: FormData, path: Path, file_name: str, mapping: Mapping) -> ImportRequest:
    layer = _text(form, "layer")
    if layer not in IMPORTABLE:
        raise BadRequestError.about(
            "layer", f"expected one of {', '.join(IMPORTABLE)}, got {layer!r}", layer="import"
        )
    match_value = _text(form, "match") or Match.NAME.value
    if match_value not in [m.value for m in Match]:
        raise BadRequestError.about(
            "match", f"expected name or external_id, got {match_value!r}", layer="import"
        )
    return ImportRequest(
        path=path,
        layer=layer,
        file_name=file_name,
        match=Match(match_value),
        delete_missing=_boolean(_text(form, "delete_missing"), "delete_missing"),
        read=ReadOptions(
            source_layer=_text(form, "source_layer"),
            crs=_text(form, "crs"),
            encoding=_text(form, "encoding"),
        ),
        mapping=mapping,
    )


def _document(request: Request, record: Import) -> dict[str, Any]:
    url = f"{base_url(request)}/imports/{record.id}"
    links = [{"href": url, "rel": "self", "type": "application/json"}]
    if record.committed_at is None:
        links.append({"href": f"{url}/commit", "rel": "commit", "type": "application/json"})
    else:
        changes = f"{base_url(request)}/changes?collection={record.layer}"
        links.append({"href": changes, "rel": "related", "type": "application/json"})
    return {
        "id": record.id,
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
    limit = settings.max_import_bytes
    declared = request.headers.get("content-length", "")
    if re.fullmatch(r"[0-9]{1,30}", declared) and int(declared) > limit + 100_000:
        raise _too_large(limit)  # before a byte of the body is read
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequestError.about(
            "body", "expected multipart/form-data with a `file` and a `layer` field", layer="import"
        )
    counted = Request(request.scope, _limited(request.receive, limit + 100_000))
    async with counted.form(max_files=2, max_fields=len(FORM_FIELDS)) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequestError.about(
                "file", "attach the delivery as the multipart field `file`", layer="import"
            )
        with tempfile.TemporaryDirectory(prefix="broadband-import-") as folder:
            path = await _save(upload, Path(folder), limit)
            mapping = Mapping()
            mapping_upload = form.get("mapping")
            if isinstance(mapping_upload, UploadFile):
                mapping_path = Path(folder) / "mapping.toml"
                mapping_path.write_bytes(await mapping_upload.read(1_000_000))
                mapping = Mapping.from_toml(mapping_path)
            delivery = replace(
                _request(form, path, upload.filename or path.name, mapping), limit=limit
            )
            authorize(principal, COLLECTIONS[delivery.layer])
            factory = request.app.state.sessionmaker
            ags = _text(form, "ags")
            record = await run_in_threadpool(
                deliveries.preview, factory, delivery, principal.name, ags
            )
    document = _document(request, record)
    headers = {"Location": document["links"][0]["href"]}
    return JSONResponse(document, status_code=201, headers=headers)


@router.get("/imports/{import_id}", summary="An import's preview (or what it committed)")
def get_import(request: Request, session: SessionDep, import_id: ImportId) -> JSONResponse:
    """The same preview again, with its status."""
    return JSONResponse(_document(request, import_store.get(session, import_id)))


@router.post(
    "/imports/{import_id}/commit",
    summary="Apply exactly the previewed changes; 409 if the layer changed since",
    openapi_extra={"responses": {str(c): PROBLEM for c in (401, 403, 404, 409)}},
)
def commit_import(request: Request, principal: PrincipalDep, import_id: ImportId) -> JSONResponse:
    """One transaction; the change log names the file and the token's holder."""
    factory = request.app.state.sessionmaker
    with factory() as session:
        layer = import_store.get(session, import_id).layer
    authorize(principal, COLLECTIONS[layer])
    record = deliveries.commit(factory, import_id, principal.name)
    return JSONResponse(_document(request, record))
