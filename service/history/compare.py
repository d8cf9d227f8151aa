"""The comparison of two dates for the API and the CLI: `history.queries` compared by
`history.summary`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from service.coverage.rules import RANK
from service.db import state
from service.history import queries
from service.history.summary import (
    ChangeSummary,
    compare_features,
    compare_units,
    period,
    status_changes,
    total,
)

COLLECTIONS = ("areas", "hamlets", "schools", "districts", "addresses")


def summary(
    session: Session, ags: str | None, start: dt.date, end: dt.date | None = None
) -> ChangeSummary:
    """What changed in the municipality from the end of `start` to the end of `end` (today)."""
    start, end = period(start, end, state.today(session))
    town = state.municipality(session, ags)
    m, connected = town.id, RANK["connected"]
    queries.without_jit(session)
    before = queries.coverage_by_unit(session, m, start, connected)
    after = queries.coverage_by_unit(session, m, end, connected)
    districts = compare_units(before["districts"], after["districts"])
    hamlets = compare_units(before["hamlets"], after["hamlets"])
    return ChangeSummary(
        ags=town.ags,
        name=town.name,
        start=start,
        end=end,
        collections=tuple(
            compare_features(c, queries.differing_features(session, m, c, start, end))
            for c in COLLECTIONS
        ),
        status_changes=status_changes(
            pair
            for collection in queries.STATUS_COLUMN
            for pair in queries.statuses(session, m, collection, start, end)
        ),
        status_versions=tuple(queries.status_versions(session, m, start, end)),
        municipality=total(districts, town.name),
        districts=districts,
        hamlets=hamlets,
    )
