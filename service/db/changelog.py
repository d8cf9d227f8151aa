"""Reads the change log the triggers write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.models import Change
from service.features.changes import ChangeEntry, field_changes


def entries(
    session: Session,
    since: dt.datetime | None,
    collection: str | None,
    feature_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[ChangeEntry], int]:
    """Matching log entries, oldest first, and how many match in all."""
    conditions = []
    if since is not None:
        conditions.append(Change.changed_at >= since)
    if collection is not None:
        conditions.append(Change.table_name == collection)
    if feature_id is not None:
        conditions.append(Change.feature_id == feature_id)
    matched = session.scalar(select(func.count()).select_from(Change).where(*conditions)) or 0
    rows = session.scalars(
        select(Change).where(*conditions).order_by(Change.id).limit(limit).offset(offset)
    )
    result = [entry_of(row) for row in rows]
    return result, int(matched)


def entry_of(row: Any) -> ChangeEntry:
    """One logged row (a `changes` row or a mapping with its columns) as users read it."""
    properties, moved = field_changes(row.old, row.new)
    return ChangeEntry(
        row.id,
        row.changed_at,
        row.actor,
        row.source,
        row.table_name,
        row.feature_id,
        row.operation,
        row.transaction_id,
        properties,
        moved,
    )
