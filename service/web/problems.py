"""The one place where domain errors become HTTP statuses, as RFC 9457 problem documents."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError

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
    UnsupportedMediaTypeError,
)

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
    DatabaseUnavailableError: 503,
    ConfigurationError: 500,
    ProvisioningError: 500,
}

PROBLEM_JSON = "application/problem+json"


def status_for(error: DomainError) -> int:
    """Most specific mapping wins, so subclasses can refine their parent's status."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


async def _handle(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, DomainError):  # registered for DomainError only
        raise error
    status = status_for(error)
    body: dict[str, object] = {
        "type": "about:blank",
        "title": type(error).__name__.removesuffix("Error"),
        "status": status,
        "detail": error.summary if isinstance(error, InvalidDataError) else str(error),
    }
    if isinstance(error, InvalidDataError):
        body["problems"] = [asdict(problem) for problem in error.problems]
    headers = {}
    if isinstance(error, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="broadband"'
    if isinstance(error, MethodNotAllowedError):
        headers["Allow"] = ", ".join(error.allowed)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _database_down(request: Request, error: Exception) -> JSONResponse:
    """A database that is down or refuses us is the service's problem, not the client's: 503."""
    body = {
        "type": "about:blank",
        "title": "DatabaseUnavailable",
        "status": 503,
        "detail": "the database cannot be reached right now; see /readyz",
    }
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)


OGC_PATHS = ("/collections", "/changes", "/imports", "/export")


async def _invalid_request(request: Request, error: Exception) -> Response:
    """OGC API paths answer bad parameters with 400 and a problem document naming each one."""
    if not isinstance(error, RequestValidationError):  # registered for it only
        raise error
    if not request.url.path.startswith(OGC_PATHS):
        return await request_validation_exception_handler(request, error)
    problems = [
        Problem("request", None, str(item["loc"][-1]), str(item["msg"])) for item in error.errors()
    ]
    return await _handle(request, BadRequestError(problems, "invalid request parameters"))


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(DomainError, _handle)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OperationalError, _database_down)
