"""Reading a delivery uploaded as multipart form: size limits, the saved file, the import request.

Shared by `POST /imports` and the workspace's delivery page, so both refuse the same uploads the
same way (413 before the body is read when it declares too much, and as soon as it passes).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from service.core import dates
from service.core.errors import BadRequestError, PayloadTooLargeError
from service.core.limits import ImportLimits
from service.layers import importable
from service.packages.columns import Mapping
from service.packages.importing import ImportRequest, Match
from service.packages.sources import ReadOptions
from service.web.bodies import counting, declared_over, too_large

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
    "status_since",
)
FORM_OVERHEAD = 100_000  # bytes of multipart framing and form fields beside the file


def too_large_import(limit: int) -> PayloadTooLargeError:
    """The 413 of a delivery past `BROADBAND_MAX_IMPORT_BYTES`."""
    return too_large("import", "file", limit, "BROADBAND_MAX_IMPORT_BYTES")


def text_field(form: FormData, name: str) -> str | None:
    """A text field of the form, stripped; None when absent or blank."""
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
                raise too_large_import(limit)
            out.write(chunk)
    return target


def _boolean(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise BadRequestError.about(name, f"expected true or false, got {value!r}", layer="import")


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dates.parse_date(value)
    except ValueError:
        message = f"expected a date YYYY-MM-DD, got {value!r}"
        raise BadRequestError.about(name, message, layer="import") from None


def _request(form: FormData, path: Path, file_name: str, mapping: Mapping) -> ImportRequest:
    layer = text_field(form, "layer")
    if layer not in importable():
        raise BadRequestError.about(
            "layer", f"expected one of {', '.join(importable())}, got {layer!r}", layer="import"
        )
    match_value = text_field(form, "match") or Match.NAME.value
    if match_value not in [m.value for m in Match]:
        raise BadRequestError.about(
            "match", f"expected name or external_id, got {match_value!r}", layer="import"
        )
    return ImportRequest(
        path=path,
        layer=layer,
        file_name=file_name,
        match=Match(match_value),
        delete_missing=_boolean(text_field(form, "delete_missing"), "delete_missing"),
        read=ReadOptions(
            source_layer=text_field(form, "source_layer"),
            crs=text_field(form, "crs"),
            encoding=text_field(form, "encoding"),
        ),
        mapping=mapping,
        status_since=_day(text_field(form, "status_since"), "status_since"),
    )


@asynccontextmanager
async def delivery_upload(
    request: Request, limit: int, extra_fields: tuple[str, ...] = ()
) -> AsyncIterator[tuple[ImportRequest, FormData]]:
    """The upload as an import request; its file lives until the block ends.

    `extra_fields` are the caller's own form fields (a page's CSRF token, say).
    """
    if declared_over(request, limit + FORM_OVERHEAD):
        raise too_large_import(limit)  # before a byte of the body is read
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequestError.about(
            "body", "expected multipart/form-data with a `file` and a `layer` field", layer="import"
        )
    counted = Request(
        request.scope, counting(request.receive, limit + FORM_OVERHEAD, too_large_import(limit))
    )
    fields = len(FORM_FIELDS) + len(extra_fields)
    async with counted.form(max_files=2, max_fields=fields) as form:
        unknown = sorted(set(form.keys()) - set(FORM_FIELDS) - set(extra_fields))
        if unknown:
            allowed = ", ".join((*FORM_FIELDS, *extra_fields))
            message = f"unknown form field; allowed: {allowed}"
            raise BadRequestError.about(unknown[0], message, layer="import")
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
            delivery = _request(form, path, upload.filename or path.name, mapping)
            limits = ImportLimits.from_settings(request.app.state.settings)
            yield replace(delivery, limit=limit, limits=limits), form
