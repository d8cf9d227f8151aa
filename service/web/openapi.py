"""The API description (`/api`, `/openapi.json`) tells what the service really answers.

Statuses that follow from what an operation takes are added here, once, by rule, instead of on
every route: a path parameter can name nothing (404), an `ags` no loaded municipality (404), a
token can be missing or too weak (401, 403) or its address over a rate limit (429), a body too
large (413); any request can carry a bad parameter or Host (400), a URL too long (414), or meet
a server error (5XX). Routes declare only what is their own: the media types of their answers
(`answers`) and their particular statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from service.web.params import AGS_DESCRIPTION, REGION_DESCRIPTION

PROBLEM_JSON = "application/problem+json"


def problem(description: str) -> dict[str, Any]:
    """An error answer: an RFC 9457 problem document."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"type": "object"}}}}


NOT_MODIFIED = {"description": "Not Modified: If-None-Match named the current ETag (no body)"}
BAD_REQUEST = problem(
    "A parameter is wrong (the problem names it), or the Host is not one this service answers for"
)
URI_TOO_LONG = problem("The URL is longer than BROADBAND_MAX_URL_BYTES")
NOT_FOUND = problem("Nothing with this identifier")
NO_MUNICIPALITY = problem("No municipality with this AGS is loaded")
UNAUTHENTICATED = problem("No token or session, or an unknown or revoked token")
FORBIDDEN = problem("The token's role may not do this")
TOO_MANY = {
    **problem(
        "Too many failed authentications (or uploads) from this address; "
        "`Retry-After` says how many seconds to wait"
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
TOO_LARGE = problem("The body is larger than its limit (the problem names the setting)")
SERVER_ERROR = problem(
    "The service could not answer: 503 while the database is away or a statement ran too long "
    "(with Retry-After), 500 for a defect (logged under the request_id the problem names)"
)


def answers(*media_types: str, description: str = "OK", status: int = 200) -> dict[int | str, Any]:
    """`responses=` of a route whose success comes in these media types (by `f=` or Accept)."""
    content: dict[str, Any] = {media_type.split(";")[0].strip(): {} for media_type in media_types}
    return {status: {"description": description, "content": content}}


def _picks_municipality(operation: dict[str, Any]) -> bool:
    """The `ags` parameter or form field (not a filter on the property of that name)."""
    fields = list(operation.get("parameters", []))
    for body in operation.get("requestBody", {}).get("content", {}).values():
        fields += body.get("schema", {}).get("properties", {}).values()
    marks = (AGS_DESCRIPTION, REGION_DESCRIPTION)
    return any(field.get("description") in marks for field in fields)


def _implied(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The error answers an operation has because of what it takes."""
    implied = {"400": BAD_REQUEST, "414": URI_TOO_LONG}
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        implied["404"] = NOT_FOUND
    elif _picks_municipality(operation):
        implied["404"] = NO_MUNICIPALITY
    if operation.get("security"):
        implied |= {"401": UNAUTHENTICATED, "403": FORBIDDEN, "429": TOO_MANY}
    if "requestBody" in operation:
        implied["413"] = TOO_LARGE
    implied["5XX"] = SERVER_ERROR
    return implied


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the implied answers to every operation; what a route declared itself stays."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, answer in _implied(operation).items():
                responses.setdefault(status, answer)
    return schema


def install(app: FastAPI) -> None:
    """Complete the description the app builds (once; FastAPI caches it)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
