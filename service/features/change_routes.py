"""The change log over HTTP: who changed which feature, when, and what."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.core.errors import BadRequestError
from service.db import changelog as changes
from service.features.documents import paging
from service.features.routes import collection_or_404
from service.web.deps import SessionDep, base_url

router = APIRouter(tags=["changes"])

Since = Annotated[
    str | None, Query(description="Only changes at or after this date or RFC 3339 date-time")
]
CollectionId = Annotated[str | None, Query(description="Only this collection, e.g. areas")]
FeatureId = Annotated[
    int | None, Query(alias="feature", ge=1, le=2**63 - 1, description="Only this feature")
]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


def parse_since(value: str) -> dt.datetime:
    """A date means its midnight in UTC; a date-time without zone is taken as UTC."""
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError.about(
            "since", f"expected a date or date-time, got {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@router.get("/changes", summary="The change log: who changed what, when")
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
    moment = parse_since(since) if since else None
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
