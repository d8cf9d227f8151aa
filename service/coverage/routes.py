"""Coverage figures over HTTP: JSON by default, `?f=csv` for spreadsheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from service.core import metrics
from service.coverage import figures, reports
from service.coverage.rules import Breakdown
from service.web import openapi, params
from service.web.cached import cached
from service.web.deps import SessionDep, SettingsDep
from service.web.params import IsoDate

router = APIRouter(prefix="/coverage", tags=["coverage"])

AsOf = Annotated[
    IsoDate | None,
    Query(
        description="Evaluate every feature in the version valid on this date, not after today "
        "(default today)"
    ),
]
Ags = params.AgsRegion
Format = Annotated[Literal["json", "csv"], Query(alias="f", description="json or csv")]
UnitFormat = Annotated[
    Literal["json", "csv", "geojson"],
    Query(alias="f", description="json, csv, or geojson (with the units' outlines)"),
]
# Units without outlines: `geojson` is let through only to be refused (400) by a message that
# says which units have it; the description lists what is served.
TabularFormat = Annotated[
    Literal["json", "csv", "geojson"],
    Query(alias="f", description="json or csv", json_schema_extra={"enum": ["json", "csv"]}),
]
GEOJSON_TYPE = "application/geo+json"
CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json"


def _counted(view: str, compute: Callable[[], Any]) -> Callable[[], Any]:
    """The computation, counted as a rebuild of this view when it runs (the cache had none)."""

    def rebuild() -> Any:
        metrics.coverage_rebuilt(view)
        return compute()

    return rebuild


def _cached(
    request: Request,
    session: SessionDep,
    view: str,
    params: tuple[Any, ...],
    compute: Callable[[], Any],
) -> Any:
    """Reuse the answer while the data is unchanged; a committed change makes a new key.

    The key holds the parsed parameters only, so unknown or reordered ones cannot multiply it.
    """
    compute = _counted(view, compute)
    return cached(request, session, (request.url.path, params), compute)


def _json(data: Any) -> Response:
    return JSONResponse(jsonable_encoder(data))


def _csv(body: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(body, media_type=CSV_TYPE, headers=headers)


@router.get(
    "",
    summary="Address, area, school and reference figures of a municipality, Kreis or Land",
    responses=openapi.answers(JSON_TYPE, CSV_TYPE),
)
def coverage_summary(
    request: Request, session: SessionDep, as_of: AsOf = None, ags: Ags = None, f: Format = "json"
) -> Response:
    """The headline figure with everything behind it."""
    summary = _cached(
        request, session, "summary", (ags, as_of), lambda: figures.summary(session, ags, as_of)
    )
    if f == "csv":
        return _csv(reports.units_csv([summary.unit]), "abdeckung")
    return _json(reports.summary_json(summary))


OUTLINED = (Breakdown.DISTRICT, Breakdown.HAMLET)
"""The breakdowns whose units have an outline, so `f=geojson` can draw them."""


def _units(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    breakdown: Breakdown,
    params: tuple[str | None, dt.date | None],
    f: str,
) -> Response:
    ags, as_of = params
    quota = settings.demand_quota
    found = _cached(
        request,
        session,
        breakdown.value,
        params,
        lambda: figures.units(session, breakdown, ags, as_of, demand_quota=quota),
    )
    if f == "csv":
        return _csv(reports.units_csv(found), f"abdeckung-{breakdown.value}")
    if f == "geojson":
        outlines = cached(
            request,
            session,
            (request.url.path, ags, "outlines"),
            lambda: figures.unit_outlines(session, breakdown, ags),
        )
        body = jsonable_encoder(reports.units_geojson(found, outlines))
        return JSONResponse(body, media_type=GEOJSON_TYPE)
    return _json([reports.unit_json(unit) for unit in found])


def _breakdown_route(breakdown: Breakdown) -> Callable[..., Response]:
    """One route per breakdown; they differ in the unit they count by, and only units with an
    outline offer `f=geojson` (so the API description lists it for them alone)."""

    def outlined(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        as_of: AsOf = None,
        ags: Ags = None,
        f: UnitFormat = "json",
    ) -> Response:
        return _units(request, session, settings, breakdown, (ags, as_of), f)

    def tabular(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        as_of: AsOf = None,
        ags: Ags = None,
        f: TabularFormat = "json",
    ) -> Response:
        return _units(request, session, settings, breakdown, (ags, as_of), f)

    return outlined if breakdown in OUTLINED else tabular


for _path, _breakdown, _summary in (
    ("districts", Breakdown.DISTRICT, "Address coverage per district (Ortsteil)"),
    (
        "hamlets",
        Breakdown.HAMLET,
        "Address coverage per hamlet that had a version by then, with its sign-up demand: "
        "demand_share, demand_quota (own or BROADBAND_DEMAND_QUOTA), demand_gap_addresses",
    ),
    ("kinds", Breakdown.KIND, "Address coverage per kind of expansion area"),
    ("providers", Breakdown.PROVIDER, "Share of all addresses in each provider's connected areas"),
):
    router.add_api_route(
        f"/{_path}",
        _breakdown_route(_breakdown),
        methods=["GET"],
        summary=_summary,
        name=f"coverage_{_path}",
        responses=openapi.answers(
            JSON_TYPE, CSV_TYPE, *([GEOJSON_TYPE] if _breakdown in OUTLINED else [])
        ),
        description="A JSON array of unit objects; `f=geojson` adds outlines (districts, hamlets).",
    )


@router.get(
    "/timeline",
    summary="Address coverage of the municipality, Kreis or Land over time",
    responses=openapi.answers(JSON_TYPE, CSV_TYPE),
)
def coverage_timeline(
    request: Request,
    session: SessionDep,
    start: Annotated[IsoDate, Query(alias="from", description="First date")] = dt.date(2018, 1, 1),
    end: Annotated[
        IsoDate | None, Query(alias="to", description="Last date, not after today (default today)")
    ] = None,
    step: Annotated[Literal["month", "quarter", "year"], Query()] = "month",
    ags: Ags = None,
    f: Format = "json",
) -> Response:
    """One point per step, for a progress chart."""
    points = _cached(
        request,
        session,
        "timeline",
        (ags, start, end, step),
        lambda: figures.timeline(session, ags, start, end, step),
    )
    if f == "csv":
        return _csv(reports.timeline_csv(points), "abdeckung-verlauf")
    return _json(reports.timeline_json(points))
