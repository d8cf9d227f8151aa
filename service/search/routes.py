"""`GET /lookup`: the service's own address search (no external geocoder)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder

from service.search.answers import lookup as find
from service.search.parsing import MAX_QUERY, SEARCHABLE
from service.web import params
from service.web.deps import SessionDep

router = APIRouter(tags=["lookup"])


@router.get("/lookup", summary="Is this address covered? By which provider, since when?")
def lookup(
    session: SessionDep,
    q: Annotated[
        str,
        Query(
            description="An address, e.g. 'Marktplatz 1' or 'Nordstr. 1, 48653'",
            # What the parser refuses with a message in words (service.search.parsing).
            json_schema_extra={"minLength": 1, "maxLength": MAX_QUERY, "pattern": SEARCHABLE},
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ags: params.Ags = None,
    as_of: params.AsOf = None,
) -> dict[str, Any]:
    """Exact matches of street and number first; otherwise streets that start with the text."""
    matches = find(session, q, ags, limit, as_of)
    return {"query": q, "matches": jsonable_encoder(matches)}
