"""Bulk loads: the state triggers stand aside and the coverage state is computed once, set-based.

Per-statement triggers keep the coverage state right after every edit; for a load of many rows
their spatial work per statement costs far more than one join at the end. Inside `bulk_load`
(migration 0009) inserts and updates skip that work, a table that receives many rows compared
with what it holds has its indexes and foreign keys built again afterwards, inserts are logged
as one `load` entry per statement, and the end computes each loaded municipality's state anew.
All of it happens in the caller's transaction: a failure anywhere leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

MANY_ROWS = 1_000
"""Writes of at least this many rows take the bulk path; fewer keep the incremental triggers."""

BEGIN = text("SELECT broadband_bulk_begin()")
DEFER = text("SELECT broadband_bulk_defer(CAST(:table AS regclass), :rows)")
END = text("SELECT broadband_bulk_end(CAST(:municipalities AS bigint[]))")


@contextmanager
def bulk_load(session: Session, municipalities: Sequence[int]) -> Iterator[None]:
    """Load inside; on leaving, indexes are rebuilt and the municipalities' state computed."""
    session.execute(BEGIN)
    yield
    session.execute(END, {"municipalities": list(municipalities)})


def defer_indexes(session: Session, table: str, rows: int) -> bool:
    """Before writing `rows` rows: drop the table's indexes if building them again is cheaper."""
    deferred: bool = session.execute(DEFER, {"table": table, "rows": rows}).scalar_one()
    return deferred


def rebuild(session: Session, municipality_id: int) -> None:
    """The municipality's coverage state from geometry, writing only what differs."""
    session.execute(text("SELECT broadband_rebuild_coverage(:m)"), {"m": municipality_id})


def is_bulk(rows: int | Sequence[Any]) -> bool:
    """Whether a write of that many rows takes the bulk path."""
    count = rows if isinstance(rows, int) else len(rows)
    return count >= MANY_ROWS
