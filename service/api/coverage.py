"""Coverage figures over HTTP: JSON by default, `?f=csv` for spreadsheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from service import figures, reports
from service.api.deps import SessionDep
from service.coverage import Breakdown
from service.db.coverage import data_version

router = APIRouter(prefix="/coverage", tags=["coverage"])

AsOf = Annotated[
    dt.date | None,
    Query(description="Evaluate every feature in the version valid on this date (default today)"),
]
Ags = Annotated[str | None, Query(description="Municipality key; needed when several are loaded")]
Format = Annotated[Literal["json", "csv"], Query(alias="f", description="json or csv")]
UnitFormat = Annotated[
    Literal["json", "csv", "geojson"],
    Query(alias="f", description="json, csv, or geojson (districts and hamlets: with outlines)"),
]
GEOJSON_TYPE = "application/geo+json"
CSV_TYPE = "text/csv; charset=utf-8"


def _cached(request: Request, session: SessionDep, compute: Callable[[], Any]) -> Any:
    """Reuse the answer while the data is unchanged; a new change makes a new key."""
    key = (request.url.path, str(request.query_params), data_version(session))
    return request.app.state.cache.get_or_compute(key, compute)


def _json(data: Any) -> Response:
    return JSONResponse(jsonable_encoder(data))


def _csv(body: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(body, media_type=CSV_TYPE, headers=headers)


@router.get("", summary="Municipality summary: address, area, school and reference figures")
def coverage_summary(
    request: Request, session: SessionDep, as_of: AsOf = None, ags: Ags = None, f: Format = "json"
) -> Response:
    """The headline figure with everything behind it."""
    summary = _cached(request, session, lambda: figures.summary(session, ags, as_of))
    if f == "csv":
        return _csv(reports.units_csv([summary.unit]), "abdeckung")
    return _json(reports.summary_json(summary))


def _units(
    request: Request,
    session: SessionDep,
    breakdown: Breakdown,
    as_of: dt.date | None,
    ags: str | None,
    f: str,
) -> Response:
    found = _cached(request, session, lambda: figures.units(session, breakdown, ags, as_of))
    if f == "csv":
        return _csv(reports.units_csv(found), f"abdeckung-{breakdown.value}")
    if f == "geojson":
        outlines = figures.unit_outlines(session, breakdown, ags)
        body = jsonable_encoder(reports.units_geojson(found, outlines))
        return JSONResponse(body, media_type=GEOJSON_TYPE)
    return _json([reports.unit_json(unit) for unit in found])


@router.get("/districts", summary="Address coverage per district (Ortsteil)")
def coverage_districts(
    request: Request,
    session: SessionDep,
    as_of: AsOf = None,
    ags: Ags = None,
    f: UnitFormat = "json",
) -> Response:
    """One unit per district."""
    return _units(request, session, Breakdown.DISTRICT, as_of, ags, f)


@router.get("/hamlets", summary="Address coverage per hamlet (Bauerschaft)")
def coverage_hamlets(
    request: Request,
    session: SessionDep,
    as_of: AsOf = None,
    ags: Ags = None,
    f: UnitFormat = "json",
) -> Response:
    """One unit per hamlet that had a version by then."""
    return _units(request, session, Breakdown.HAMLET, as_of, ags, f)


@router.get("/kinds", summary="Address coverage per kind of expansion area")
def coverage_kinds(
    request: Request, session: SessionDep, as_of: AsOf = None, ags: Ags = None, f: Format = "json"
) -> Response:
    """One unit per kind: settlement, commercial, outskirts."""
    return _units(request, session, Breakdown.KIND, as_of, ags, f)


@router.get("/providers", summary="Share of all addresses inside each provider's connected areas")
def coverage_providers(
    request: Request, session: SessionDep, as_of: AsOf = None, ags: Ags = None, f: Format = "json"
) -> Response:
    """One unit per provider; the denominator is every address of the municipality."""
    return _units(request, session, Breakdown.PROVIDER, as_of, ags, f)


@router.get("/timeline", summary="The municipality's address coverage over time")
def coverage_timeline(
    request: Request,
    session: SessionDep,
    start: Annotated[dt.date, Query(alias="from", description="First date")] = dt.date(2018, 1, 1),
    end: Annotated[dt.date | None, Query(alias="to", description="Last date (today)")] = None,
    step: Annotated[Literal["month", "quarter", "year"], Query()] = "month",
    ags: Ags = None,
    f: Format = "json",
) -> Response:
    """One point per step, for a progress chart."""
    points = _cached(request, session, lambda: figures.timeline(session, ags, start, end, step))
    if f == "csv":
        return _csv(reports.timeline_csv(points), "abdeckung-verlauf")
    return _json(reports.timeline_json(points))
