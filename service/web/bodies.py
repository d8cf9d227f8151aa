"""Request bodies under a size limit: refused by declared length, then counted as they arrive."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import Message, Receive

from service.core.errors import PayloadTooLargeError, Problem
from service.web.deps import SettingsDep


def too_large(layer: str, field: str, limit: int, setting: str) -> PayloadTooLargeError:
    """The one 413 of the service: what was too large, the limit, and the setting that sets it."""
    message = f"larger than the limit of {limit:,} bytes ({setting})"
    return PayloadTooLargeError([Problem(layer, None, field, message)], f"{field} too large")


def declared_over(request: Request, limit: int) -> bool:
    """Whether Content-Length already says the body is over the limit (nothing read yet)."""
    declared = request.headers.get("content-length", "")
    return bool(re.fullmatch(r"[0-9]{1,30}", declared)) and int(declared) > limit


def counting(receive: Receive, limit: int, error: PayloadTooLargeError) -> Receive:
    """The body as it arrives, refused as soon as it passes the limit (chunked bodies too)."""
    received = 0

    async def wrapped() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise error
        return message

    return wrapped


async def read_limited(request: Request, limit: int, error: PayloadTooLargeError) -> bytes:
    """The whole body, refused with 413 before it is read when declared too large."""
    if declared_over(request, limit):
        raise error
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise error
        chunks.append(chunk)
    return b"".join(chunks)


async def limited_body(request: Request, settings: SettingsDep) -> bytes:
    """The request body, refused with 413 as soon as it passes the configured limit."""
    limit = settings.max_body_bytes
    error = too_large("request", "body", limit, "BROADBAND_MAX_BODY_BYTES")
    return await read_limited(request, limit, error)


BodyDep = Annotated[bytes, Depends(limited_body)]
