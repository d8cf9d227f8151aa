"""What the report asks the database beyond the figures: how many features are approximations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.layers import LAYERS
from service.maps.queries import source

COUNT_APPROXIMATE = (
    "SELECT count(*) FILTER (WHERE approximate) AS approximate, count(*) AS total "
    "FROM {table} WHERE municipality_id = :m"
)


def approximate_counts(
    session: Session, m: int, past: dt.date | None = None
) -> dict[str, tuple[int, int]]:
    """Per layer with an `approximate` flag: (approximate features, all features), today's or,
    with `past`, those of that day."""
    found = {}
    for name, layer in LAYERS.items():
        if "approximate" not in layer.fields or name == "municipality":
            continue
        query = COUNT_APPROXIMATE.format(table=source(name, past))
        row = session.execute(text(query), {"m": m, "day": past}).one()
        found[name] = (int(row.approximate), int(row.total))
    return found
