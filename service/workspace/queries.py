"""Workspace SQL: overview rows with their addresses, what a preview measures, the history.

Session in, rows out, never commits. Table and column names come from the layer registry only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, bindparam, text
from sqlalchemy.orm import Session

from service.core.crs import DEFAULT
from service.core.errors import NotFoundError
from service.coverage import figures
from service.db import state
from service.db.changelog import entry_of
from service.db.state import MunicipalityRow
from service.features import queries as items
from service.features.changes import ChangeEntry
from service.features.records import Row
from service.layers import LAYERS, Collection
from service.workspace.rules import Figures

FEATURE_ADDRESSES = """
SELECT count(*) AS addresses, count(*) FILTER (WHERE c.best_rank = 1) AS connected
FROM address_features p JOIN address_coverage c ON c.address_id = p.address_id
WHERE p.feature_table = :t AND p.feature_id = :id
"""

PER_FEATURE = """
SELECT p.feature_id, count(*) AS addresses, count(*) FILTER (WHERE c.best_rank = 1) AS connected
FROM address_features p JOIN address_coverage c ON c.address_id = p.address_id
WHERE p.feature_table = :t GROUP BY p.feature_id
"""

MUNICIPALITY_OF = (
    "SELECT m.id, m.ags, m.name FROM municipality m JOIN {table} f ON "
    "f.municipality_id = m.id WHERE f.id = :id"
)

HISTORY_COLUMNS = (
    "SELECT id, changed_at, actor, source, table_name, feature_id, operation, transaction_id, "
    "old, new FROM changes"
)
TOWN_HISTORY = (
    f"{HISTORY_COLUMNS} WHERE table_name IN :tables AND "
    "coalesce(new ->> 'municipality_id', old ->> 'municipality_id') = CAST(:m AS text) "
    "ORDER BY id DESC LIMIT :limit OFFSET :offset"
)
TOWN_HISTORY_COUNT = (
    "SELECT count(*) FROM changes WHERE table_name IN :tables AND "
    "coalesce(new ->> 'municipality_id', old ->> 'municipality_id') = CAST(:m AS text)"
)
FEATURE_HISTORY = (
    f"{HISTORY_COLUMNS} WHERE table_name = :t AND feature_id = :id ORDER BY id DESC LIMIT :limit"
)
LOGGED = "SELECT table_name, feature_id, new FROM changes WHERE id = :id"


@dataclass(frozen=True)
class OverviewRow:
    """One feature of the overview table."""

    id: int
    name: str
    status: str | None
    since: dt.date | None
    provider: str | None
    funding: str | None
    kind: str | None
    addresses: int | None
    connected: int | None


@dataclass(frozen=True)
class Filters:
    """What the overview's GET form asks for."""

    status: str | None = None
    kind: str | None = None
    name: str | None = None
    sort: str = "name"
    descending: bool = False


def _column(collection: Collection, name: str) -> str:
    return f"f.{name}" if name in collection.fields else "NULL"


def overview(session: Session, collection: Collection, filters: Filters) -> list[OverviewRow]:
    """Features of one layer with the addresses inside each and how many are connected."""
    status = collection.status_field or "status"
    counted = collection.name in ("areas", "hamlets")
    select = (
        f"SELECT f.id, f.name, {_column(collection, status)} AS status, "
        f"{_column(collection, 'status_since')} AS since, {_column(collection, 'provider')} "
        f"AS provider, {_column(collection, 'funding')} AS funding, "
        f"{_column(collection, 'kind')} AS kind, "
        + ("c.addresses, c.connected " if counted else "NULL AS addresses, NULL AS connected ")
        + f"FROM {collection.name} f "
        + (f"LEFT JOIN ({PER_FEATURE}) c ON c.feature_id = f.id " if counted else "")
    )
    where = ["true"]
    params: dict[str, Any] = {"t": collection.name}
    if filters.status and collection.status_field:
        where.append(f"f.{status} = :status")
        params["status"] = filters.status
    if filters.kind:
        if "kind" not in collection.fields:
            return []
        where.append("f.kind = :kind")
        params["kind"] = filters.kind
    if filters.name:
        where.append("f.name ILIKE :name")
        params["name"] = "%" + filters.name.replace("%", r"\%").replace("_", r"\_") + "%"
    direction = "DESC" if filters.descending else "ASC"
    order = f"{filters.sort} {direction} NULLS LAST, f.name"
    rows = session.execute(
        text(select + " WHERE " + " AND ".join(where) + " ORDER BY " + order), params
    )
    return [OverviewRow(*row) for row in rows]


def municipality_of(session: Session, collection: Collection, fid: int) -> MunicipalityRow:
    """The municipality a feature belongs to."""
    row = session.execute(text(MUNICIPALITY_OF.format(table=collection.name)), {"id": fid}).one()
    return MunicipalityRow(row.id, row.ags, row.name)


def measure(session: Session, collection: Collection, fid: int) -> Figures:
    """The headline figure of the feature's municipality and the feature's own addresses."""
    unit = figures.headline(session, municipality_of(session, collection, fid), None)
    own = session.execute(text(FEATURE_ADDRESSES), {"t": collection.name, "id": fid}).one()
    return Figures(
        unit.addresses.numerator,
        unit.addresses.denominator,
        unit.addresses.share_pct,
        int(own.addresses),
        int(own.connected),
    )


@dataclass(frozen=True)
class Logged:
    """A change-log entry as the history page shows it, with the row it left behind."""

    entry: ChangeEntry
    new: dict[str, Any] | None


def _logged(row: Any) -> Logged:
    return Logged(entry_of(row), row.new)


def feature_history(session: Session, collection: Collection, fid: int, limit: int) -> list[Logged]:
    """A feature's log entries, newest first."""
    rows = session.execute(text(FEATURE_HISTORY), {"t": collection.name, "id": fid, "limit": limit})
    return [_logged(row) for row in rows]


def town_history(session: Session, m: int, limit: int, offset: int) -> tuple[list[Logged], int]:
    """One page of a municipality's log entries, newest first, and how many there are."""
    tables = tuple(name for name in LAYERS if name != "municipality")
    params: dict[str, Any] = {"tables": tables, "m": m, "limit": limit, "offset": offset}
    tables_param: BindParameter[Any] = bindparam("tables", expanding=True)
    rows = session.execute(text(TOWN_HISTORY).bindparams(tables_param), params)
    total = session.execute(text(TOWN_HISTORY_COUNT).bindparams(tables_param), params).scalar_one()
    return [_logged(row) for row in rows], int(total)


def logged_row(session: Session, change_id: int) -> tuple[str, int, dict[str, Any] | None] | None:
    """Which feature a log entry belongs to and the row it left (None for a deletion)."""
    row = session.execute(text(LOGGED), {"id": change_id}).one_or_none()
    return None if row is None else (row.table_name, int(row.feature_id), row.new)


def feature(session: Session, collection: Collection, fid: int) -> Row:
    """One feature as stored (properties typed, geometry in CRS84)."""
    return items.one(session, collection, fid, DEFAULT)


def feature_or_none(session: Session, collection: Collection, fid: int) -> Row | None:
    """The feature, or None when it has been deleted."""
    try:
        return feature(session, collection, fid)
    except NotFoundError:
        return None


def the_municipality(session: Session) -> MunicipalityRow:
    """The municipality loaded (the workspace serves one at a time)."""
    return state.municipality(session)
