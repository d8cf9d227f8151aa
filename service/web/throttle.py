"""The rate limits as a request meets them: who the client is, and the running app's budgets."""

from __future__ import annotations

from fastapi import Request

from service.core.rate_limits import RateLimits

UNKNOWN_CLIENT = "unknown"


def client_address(request: Request) -> str:
    """The address limits count by; behind a trusted proxy uvicorn has put the forwarded one here
    already (`proxy_headers`), so `X-Forwarded-For` is never read by us."""
    return request.client.host if request.client else UNKNOWN_CLIENT


def rate_limits(request: Request) -> RateLimits:
    """The budgets `create_app` made for this app: each app (and test) starts with none used."""
    budgets: RateLimits = request.app.state.rate_limits
    return budgets


def take_upload(request: Request) -> None:
    """Count one upload of this client, refused with 429 once its budget is used up."""
    rate_limits(request).uploads.take(client_address(request))
