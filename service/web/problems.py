"""The one place where errors become HTTP answers: each by its type, never by the URL, as an
RFC 9457 problem document (`application/problem+json`); every 5xx is logged with its traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from service.core.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DatabaseUnavailableError,
    DomainError,
    InvalidDataError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    PreconditionRequiredError,
    Problem,
    ProvisioningError,
    TooManyRequestsError,
    UnsupportedMediaTypeError,
)
from service.core.logging import REQUEST_ID, DatabaseHealth
from service.db.engine import timed_out

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    BadRequestError: 400,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    MethodNotAllowedError: 405,
    ConflictError: 409,
    PreconditionFailedError: 412,
    PayloadTooLargeError: 413,
    InvalidDataError: 422,
    PreconditionRequiredError: 428,
    UnsupportedMediaTypeError: 415,
    TooManyRequestsError: 429,
    DatabaseUnavailableError: 503,
    ConfigurationError: 500,
    ProvisioningError: 500,
}

PROBLEM_JSON = "application/problem+json"
# Where FastAPI found a bad parameter; the first part of an error's `loc`.
PARAMETER_PLACES = ("query", "path", "header", "cookie")
ECHOED_PLACES = ("query", "path")  # headers and cookies may be credentials: never echoed
MAX_ECHO = 80
# While the database is away: a restart takes seconds; clients may come back after this many.
RETRY_SOON = {"Retry-After": "5"}

LOGGER = logging.getLogger(__name__)


def status_for(error: DomainError) -> int:
    """Most specific mapping wins, so subclasses can refine their parent's status."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def _problem_member(item: Problem) -> dict[str, object]:
    """One problem; `location` only where a geometry fails at a known place."""
    member = asdict(item)
    if member["location"] is None:
        del member["location"]
    return member


def problem(
    status: int,
    title: str,
    detail: str,
    problems: list[Problem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The problem document; a 5xx also names the request id, for the report to the operator."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if problems is not None:
        body["problems"] = [_problem_member(item) for item in problems]
    headers = dict(headers or {})
    request_id = REQUEST_ID.get()
    if status >= 500 and request_id is not None:
        body["request_id"] = request_id
        headers["X-Request-ID"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _title(status: int) -> str:
    """`Not Found` → `NotFound`, like the titles derived from the domain errors' names."""
    return _phrase(status).replace(" ", "").replace("-", "")


async def _handle(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, DomainError):  # registered for DomainError only
        raise error
    status = status_for(error)
    title = type(error).__name__.removesuffix("Error")
    if status >= 500:
        LOGGER.error("%s; answered %d", title, status, exc_info=error)
    headers: dict[str, str] = {}
    if isinstance(error, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="broadband"'
    if isinstance(error, DatabaseUnavailableError):
        headers.update(RETRY_SOON)
    if isinstance(error, MethodNotAllowedError):
        headers["Allow"] = ", ".join(error.allowed)
    if isinstance(error, TooManyRequestsError):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, InvalidDataError):
        return problem(status, title, error.summary, error.problems, headers)
    return problem(status, title, str(error), headers=headers)


async def _database_down(request: Request, error: Exception) -> JSONResponse:
    """A database that is down or refuses us is the service's problem, not the client's: 503.

    A lost connection is logged once per outage (by the engine watch, with its traceback); any
    other database error is logged here.
    """
    if isinstance(error, OperationalError) and timed_out(error):
        LOGGER.warning("statement timeout; answered 503", exc_info=error)
        detail = (
            "the query ran longer than the statement timeout and was cancelled "
            "(BROADBAND_STATEMENT_TIMEOUT_MS; imports: BROADBAND_IMPORT_STATEMENT_TIMEOUT_MS)"
        )
        return problem(503, "StatementTimeout", detail, headers={"Retry-After": "30"})
    health: DatabaseHealth = request.app.state.database
    if not health.down:
        LOGGER.error("database error; answered 503", exc_info=error)
    detail = "the database cannot be reached right now; see /readyz"
    return problem(503, "DatabaseUnavailable", detail, headers=RETRY_SOON)


def _parameter_problem(error: Mapping[str, Any]) -> Problem:
    """One of FastAPI's validation errors as a problem naming the parameter (or body field)."""
    place, *rest = [str(part) for part in error.get("loc", ())] or ["request"]
    field = rest[0] if place in PARAMETER_PLACES and rest else ".".join(rest) or place
    message = str(error.get("msg", "invalid value"))
    received = error.get("input")
    if place in ECHOED_PLACES and isinstance(received, str | int | float):
        shown = repr(received)
        message += f", got {shown if len(shown) <= MAX_ECHO else shown[:MAX_ECHO] + '…'}"
    return Problem("request", None, field, message)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    """Parameters FastAPI could not parse: 400, with a problem naming each one."""
    if not isinstance(error, RequestValidationError):  # registered for it only
        raise error
    found = [_parameter_problem(item) for item in error.errors()]
    fields = ", ".join(dict.fromkeys(str(item.field) for item in found))
    return await _handle(request, BadRequestError(found, f"invalid {fields}"))


def _http_detail(request: Request, error: HTTPException) -> str:
    """Routing's bare `Not Found` and `Method Not Allowed` say what to do instead."""
    bare = error.detail == _phrase(error.status_code)
    if bare and error.status_code == 404:
        return f"nothing at {request.url.path}; /api lists every endpoint"
    if bare and error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        return f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    return str(error.detail)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed(request: Request) -> str:
    """Every method some route answers at this path: routing's 405 names only the first route's,
    and GET and POST of one path are often two routes."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    )


async def _http_error(request: Request, error: Exception) -> Response:
    """Routing's own errors (unknown path, method not allowed) in the same shape; headers kept."""
    if not isinstance(error, HTTPException):  # registered for it only
        raise error
    if error.status_code == 405:
        error.headers = {**(error.headers or {}), "Allow": _allowed(request)}
    status = error.status_code
    if status < 400 or not is_body_allowed_for_status_code(status):
        return Response(status_code=status, headers=error.headers)
    if status >= 500:
        LOGGER.error("%s; answered %d", error.detail, status, exc_info=error)
    return problem(status, _title(status), _http_detail(request, error), headers=error.headers)


async def unexpected(request: Request, error: Exception) -> JSONResponse:
    """Whatever no handler knows is a defect: 500, logged with its traceback, never shown."""
    LOGGER.error("unhandled %s; answered 500", type(error).__name__, exc_info=error)
    detail = "an unexpected error occurred; it was logged, please report the request_id"
    return problem(500, _title(500), detail)


PROBLEM_RESPONSE = {
    "description": "Problem document (RFC 9457) naming each parameter that is wrong",
    "content": {PROBLEM_JSON: {"schema": {"type": "object"}}},
}


def _described(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI description with FastAPI's stock 422 replaced by the 400 we really send."""
    stock = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = stock()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                validation = responses.get("422", {})
                if "HTTPValidationError" not in json.dumps(validation):
                    continue
                if validation.get("description") == "Validation Error":
                    del responses["422"]  # FastAPI's stock answer, which we never send
                else:  # a 422 we do send (invalid data), documented with FastAPI's body
                    responses["422"] = {**validation, "content": PROBLEM_RESPONSE["content"]}
                responses.setdefault("400", PROBLEM_RESPONSE)
        for unused in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(unused, None)
        app.openapi_schema = schema
        return schema

    return openapi


def install(app: FastAPI) -> None:
    """Register the handlers on the app (and say in the API description what they send)."""
    app.openapi = _described(app)  # type: ignore[method-assign]
    app.add_exception_handler(DomainError, _handle)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(Exception, unexpected)
