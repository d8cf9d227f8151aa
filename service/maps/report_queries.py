"""What the report asks the database beyond the figures: how many features are approximations."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.layers import LAYERS

COUNT_APPROXIMATE = (
    "SELECT count(*) FILTER (WHERE approximate) AS approximate, count(*) AS total "
    "FROM {table} WHERE municipality_id = :m"
)


def approximate_counts(session: Session, m: int) -> dict[str, tuple[int, int]]:
    """Per layer with an `approximate` flag: (approximate features, all features)."""
    found = {}
    for name, layer in LAYERS.items():
        if "approximate" not in layer.fields or name == "municipality":
            continue
        row = session.execute(text(COUNT_APPROXIMATE.format(table=name)), {"m": m}).one()
        found[name] = (int(row.approximate), int(row.total))
    return found
