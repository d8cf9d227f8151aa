"""The council report: a printable German HTML page and the same content as an A4 PDF."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from service.maps.report import Report, build_report
from service.maps.report_pdf import chart_svg, report_pdf
from service.maps.routes import public_page_headers
from service.web import params
from service.web.cached import cached
from service.web.deps import SessionDep, SettingsDep
from service.web.params import IsoDate
from service.web.templates import templates

router = APIRouter(tags=["map"])

AsOf = Annotated[
    IsoDate | None, Query(description="The report's date, not after today (default today)")
]
Ags = params.Ags


def _report(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    ags: str | None,
    as_of: dt.date | None,
) -> Report:
    key = ("report", ags, as_of, settings.demand_quota)
    report: Report = cached(
        request, session, key, lambda: build_report(session, ags, as_of, settings.demand_quota)
    )
    return report


@router.get(
    "/report", response_class=HTMLResponse, summary="The council report (German, printable)"
)
def report_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    ags: Ags = None,
) -> Response:
    """Headline, map, tables, chart, Breitbandatlas comparison, sources; no script."""
    report = _report(request, session, settings, ags, as_of)
    query = urlencode({"as_of": report.as_of.isoformat(), "ags": report.ags})
    chart = base64.b64encode(chart_svg(report)).decode("ascii")
    context = {
        "report": report,
        "map_url": f"{request.url_for('printed_map').path}?{query}",
        "pdf_url": f"{request.url_for('report_pdf_file').path}?{query}",
        "chart": f"data:image/svg+xml;base64,{chart}",
    }
    headers = public_page_headers(settings)
    return templates.TemplateResponse(request, "bericht.html", context, headers=headers)


@router.get(
    "/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The council report as an A4 PDF (German)",
    name="report_pdf_file",
)
def report_pdf_file(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    ags: Ags = None,
) -> Response:
    """Map page, table pages and chart page, with title, author and date in the metadata."""
    report = _report(request, session, settings, ags, as_of)
    name = f"bericht-{report.ags}-{report.as_of.isoformat()}.pdf"
    headers = {"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-cache"}
    return Response(report_pdf(report), media_type="application/pdf", headers=headers)
