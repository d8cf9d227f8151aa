"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service.db.schema import readiness
from service.web.deps import EngineDep

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
