"""The change log over HTTP: who changed which feature, when, and what."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.core import dates
from service.core.errors import BadRequestError
from service.db import changelog as changes
from service.features.documents import paging
from service.features.routes import collection_or_404
from service.history import compare
from service.layers import COLLECTIONS
from service.web import openapi, params
from service.web.cached import cached
from service.web.deps import SessionDep, base_url
from service.web.params import IsoDate

router = APIRouter(tags=["changes"])

Since = Annotated[
    str | None,
    Query(
        description="Only changes at or after this date or RFC 3339 date-time",
        json_schema_extra={
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ]
        },
    ),
]
CollectionId = Annotated[
    str | None,
    Query(
        description="Only this collection, e.g. areas",
        json_schema_extra={"enum": list(COLLECTIONS)},
    ),
]
FeatureId = Annotated[
    int | None, Query(alias="feature", ge=1, le=2**63 - 1, description="Only this feature")
]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
From = Annotated[
    IsoDate,
    Query(alias="from", description="Compare the state at the end of this day, not after `to`"),
]
To = Annotated[
    IsoDate | None,
    Query(
        alias="to",
        description="With the state at the end of this day, not after today (default today)",
    ),
]


def parse_since(value: str) -> dt.datetime:
    """A date means its midnight in UTC; a date-time says its offset (RFC 3339), as documented."""
    try:
        if dates.ISO_DATE.fullmatch(value):
            return dt.datetime.combine(dates.parse_date(value), dt.time(), dt.UTC)
        return dates.parse_date_time(value)
    except ValueError:
        message = f"expected a date YYYY-MM-DD or an RFC 3339 date-time, got {value!r}"
        raise BadRequestError.about("since", message) from None


@router.get(
    "/changes",
    summary="The change log: who changed what, when",
    responses={404: openapi.problem("No collection of that name")},
)
def change_log(
    request: Request,
    session: SessionDep,
    since: Since = None,
    collection: CollectionId = None,
    feature: FeatureId = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> JSONResponse:
    """Entries oldest first; a transaction (one API write, one import) shares a number."""
    if collection is not None:
        collection_or_404(collection)
    moment = parse_since(since) if since is not None else None
    entries, matched = changes.entries(session, moment, collection, feature, limit, offset)
    query = {
        k: v
        for k, v in {"since": since, "collection": collection, "feature": feature}.items()
        if v is not None
    }
    url = f"{base_url(request)}/changes"

    def href(**changes: str) -> str:
        return f"{url}?{urlencode({**query, 'limit': limit, 'offset': offset, **changes})}"

    links = paging(href, offset, limit, len(entries), matched, "application/json")
    return JSONResponse(
        {
            "changes": [entry.as_json() for entry in entries],
            "numberMatched": matched,
            "numberReturned": len(entries),
            "links": links,
        }
    )


@router.get(
    "/changes/summary",
    summary="What changed between two dates: features, statuses and connected addresses",
)
def change_summary(
    request: Request, session: SessionDep, start: From, end: To = None, ags: params.Ags = None
) -> JSONResponse:
    """Features added, removed and redrawn, statuses changed, and coverage at both dates."""
    found = cached(
        request,
        session,
        (request.url.path, ags, start, end),
        lambda: compare.summary(session, ags, start, end),
    )
    return JSONResponse(found.as_json())
