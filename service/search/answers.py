"""Is this address covered, by whom, since when? The answer behind the map's search box."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from service.core.vocabulary import GERMAN_LABELS, Status
from service.coverage.figures import past_date
from service.coverage.rules import STATUS_OF_RANK
from service.db import state
from service.search import queries
from service.search.parsing import parse_query


@dataclass(frozen=True)
class CoveringFeature:
    """An area or hamlet that contains the address."""

    collection: str
    id: int
    name: str
    status: str
    status_since: dt.date
    provider: str | None
    funding: str | None
    kind: str | None


@dataclass(frozen=True)
class AddressMatch:
    """One address found, with its best status and what gives it."""

    id: int
    address: str
    street: str
    house_number: str
    postcode: str
    lon: float
    lat: float
    status: str
    status_label: str
    covered: bool
    providers: list[str]
    since: dt.date | None
    features: list[CoveringFeature] = field(default_factory=list)


def _match(row: Any, features: list[Any]) -> AddressMatch:
    covering = [
        CoveringFeature(
            collection=f.feature_table,
            id=f.id,
            name=f.name,
            status=f.status,
            status_since=f.status_since,
            provider=f.provider,
            funding=f.funding,
            kind=f.kind,
        )
        for f in features
    ]
    status = STATUS_OF_RANK[int(row.best_rank)]
    best = [f for f in covering if f.status == status]
    providers = sorted({f.provider for f in best if f.provider})
    street, number = row.street, row.house_number
    return AddressMatch(
        id=row.id,
        address=f"{street} {number}, {row.postcode}",
        street=street,
        house_number=number,
        postcode=row.postcode,
        lon=round(float(row.lon), 6),
        lat=round(float(row.lat), 6),
        status=status,
        status_label=GERMAN_LABELS.get(status, "kein Ausbaugebiet"),
        covered=status == Status.CONNECTED,
        providers=providers,
        since=min((f.status_since for f in best), default=None),
        features=covering,
    )


def lookup(
    session: Session, q: str, ags: str | None, limit: int = 10, as_of: dt.date | None = None
) -> list[AddressMatch]:
    """Addresses matching the typed text, each with its coverage today or at the end of `as_of`."""
    query = parse_query(q)
    town = state.municipality(session, ags)
    day = past_date(session, as_of)
    rows = queries.find_addresses(session, town.id, query, limit, day)
    features = queries.covering_features(session, town.id, rows, day)
    return [_match(row, features.get(row.id, [])) for row in rows]
