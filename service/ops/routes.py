"""Liveness and readiness probes for orchestrators and load balancers, and metrics for
Prometheus."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from service.auth.tokens import bearer
from service.core import metrics
from service.core.errors import AuthenticationError, NotFoundError
from service.core.settings import Settings
from service.db.schema import readiness
from service.web.deps import EngineDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    """Answers without touching the database, so a slow database never gets the process killed."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable and migrated",
    responses={503: {"description": "Not ready; `reason` says why"}},
)
async def readyz(engine: EngineDep) -> JSONResponse:
    """Tells a load balancer whether to send traffic here."""
    reason = await run_in_threadpool(readiness, engine)
    if reason is not None:
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready"})


def check_scrape(settings: Settings, authorization: str | None) -> None:
    """404 while metrics are off; with `token`, 401 unless the request sends the metrics token."""
    if settings.metrics == "off":
        raise NotFoundError("metrics are switched off (BROADBAND_METRICS=off)")
    if settings.metrics == "public":
        return
    expected = settings.metrics_token.get_secret_value().strip() if settings.metrics_token else ""
    try:
        sent = bearer(authorization)
    except AuthenticationError:
        sent = ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        metrics.authentication_failed("metrics_token")
        raise AuthenticationError("metrics need `Authorization: Bearer <BROADBAND_METRICS_TOKEN>`")


@router.get("/metrics", include_in_schema=False)
def metrics_text(request: Request, settings: SettingsDep) -> Response:
    """Prometheus's scrape, in its text format; with several workers, all of them added up."""
    check_scrape(settings, request.headers.get("authorization"))
    request.app.state.pool_usage.refresh()
    body = metrics.exposition()
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})
