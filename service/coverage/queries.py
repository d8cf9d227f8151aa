"""Coverage queries: counts per unit from the maintained state, or from history for a date."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.db.state import today

RankCounts = dict[int, int]

# Feature statuses valid on :as_of: the newest version with status_since on or before it.
FEATURE_STATUS = """
feature_status AS MATERIALIZED (
    SELECT DISTINCT ON (feature_table, feature_id)
        feature_table, feature_id, status, status_since, broadband_status_rank(status) AS rank
    FROM status_history
    WHERE municipality_id = :m AND status_since <= :as_of
    ORDER BY feature_table, feature_id, status_since DESC
)"""

BEST = (
    FEATURE_STATUS
    + """,
best AS MATERIALIZED (
    SELECT a.id AS address_id, coalesce(min(fs.rank), broadband_status_rank('none')) AS best_rank
    FROM addresses a
    LEFT JOIN address_features p ON p.address_id = a.id
    LEFT JOIN feature_status fs
        ON fs.feature_table = p.feature_table AND fs.feature_id = p.feature_id
    WHERE a.municipality_id = :m
    GROUP BY a.id
)"""
)


def _grouped(rows: Any) -> dict[Any, RankCounts]:
    """Nest (unit, rank, count) rows; a unit without addresses comes with a NULL rank."""
    grouped: dict[Any, RankCounts] = defaultdict(dict)
    for key, rank, count in rows:
        counts = grouped[key]
        if rank is not None:
            counts[int(rank)] = int(count)
    return dict(grouped)


def current_counts_by_district(session: Session, m: int) -> dict[int | None, RankCounts]:
    """Today's counts per district from the maintained table: a lookup, not a spatial join."""
    rows = session.execute(
        text(
            "SELECT district_id, best_rank, addresses FROM coverage_counts "
            "WHERE municipality_id = :m AND addresses <> 0"
        ),
        {"m": m},
    ).all()
    return _grouped(rows)


def counts_by_district(session: Session, m: int, as_of: dt.date) -> dict[int | None, RankCounts]:
    """Counts per district with the statuses valid on a date."""
    rows = session.execute(
        text(
            f"WITH {BEST} SELECT c.district_id, b.best_rank, count(*) FROM best b "
            "JOIN address_coverage c ON c.address_id = b.address_id GROUP BY 1, 2"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return _grouped(rows)


def district_names(session: Session, m: int) -> dict[int, str]:
    """District ids and names, in name order."""
    rows = session.execute(
        text("SELECT id, name FROM districts WHERE municipality_id = :m ORDER BY name"), {"m": m}
    ).all()
    return {row.id: row.name for row in rows}


def counts_by_hamlet(session: Session, m: int, as_of: dt.date) -> dict[str, RankCounts]:
    """Addresses inside each hamlet that had a version by then, by their best status."""
    rows = session.execute(
        text(
            f"WITH {BEST} SELECT h.name, b.best_rank, count(b.address_id) FROM hamlets h "
            "JOIN feature_status fs ON fs.feature_table = 'hamlets' AND fs.feature_id = h.id "
            "LEFT JOIN address_features p ON p.feature_table = 'hamlets' AND p.feature_id = h.id "
            "LEFT JOIN best b ON b.address_id = p.address_id "
            "WHERE h.municipality_id = :m GROUP BY 1, 2"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return _grouped(rows)


def hamlet_demand(session: Session, m: int) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """Each hamlet's sign-up share and own quota (today's values: neither has a history)."""
    rows = session.execute(
        text("SELECT name, demand_share, demand_quota FROM hamlets WHERE municipality_id = :m"),
        {"m": m},
    ).all()
    return {row.name: (row.demand_share, row.demand_quota) for row in rows}


def counts_by_kind(session: Session, m: int, as_of: dt.date) -> dict[str, RankCounts]:
    """Addresses inside areas of each kind (each address once per kind), by best status."""
    rows = session.execute(
        text(
            f"WITH {BEST}, members AS ("
            "  SELECT DISTINCT s.kind, p.address_id FROM areas s"
            "  JOIN feature_status fs ON fs.feature_table = 'areas' AND fs.feature_id = s.id"
            "  JOIN address_features p ON p.feature_table = 'areas' AND p.feature_id = s.id"
            "  WHERE s.municipality_id = :m) "
            "SELECT m.kind, b.best_rank, count(*) FROM members m "
            "JOIN best b ON b.address_id = m.address_id GROUP BY 1, 2"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return _grouped(rows)


def counts_by_provider(session: Session, m: int, as_of: dt.date) -> dict[str, RankCounts]:
    """Per provider: each address's best status among that provider's areas only."""
    rows = session.execute(
        text(
            f"WITH {FEATURE_STATUS}, per_address AS ("
            "  SELECT s.provider, p.address_id, min(fs.rank) AS rank FROM areas s"
            "  JOIN feature_status fs ON fs.feature_table = 'areas' AND fs.feature_id = s.id"
            "  JOIN address_features p ON p.feature_table = 'areas' AND p.feature_id = s.id"
            "  WHERE s.municipality_id = :m AND s.provider IS NOT NULL"
            "  GROUP BY 1, 2) "
            "SELECT provider, rank, count(*) FROM per_address GROUP BY 1, 2"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return _grouped(rows)


def address_total(session: Session, m: int) -> int:
    """All addresses of the municipality (addresses have no history: today's set)."""
    total: int = session.execute(
        text("SELECT count(*) FROM addresses WHERE municipality_id = :m"), {"m": m}
    ).scalar_one()
    return total


def hectares_by_kind(session: Session, m: int, as_of: dt.date) -> dict[str, dict[str, float]]:
    """Hectares (EPSG:25832) of areas per kind and status valid on the date."""
    if as_of == today(session):
        return current_hectares_by_kind(session, m)
    rows = session.execute(
        text(
            f"WITH {FEATURE_STATUS}, sized AS ("
            "  SELECT id, kind, area_m2 AS m2 FROM areas WHERE municipality_id = :m) "
            "SELECT s.kind, fs.status, sum(s.m2) / 10000 FROM sized s JOIN feature_status fs "
            "ON fs.feature_table = 'areas' AND fs.feature_id = s.id GROUP BY 1, 2"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return _hectares(rows)


def _hectares(rows: Any) -> dict[str, dict[str, float]]:
    """Nest (kind, status, hectares) rows."""
    result: dict[str, dict[str, float]] = defaultdict(dict)
    for kind, status, hectares in rows:
        result[kind][status] = float(hectares)
    return dict(result)


def current_hectares_by_kind(session: Session, m: int) -> dict[str, dict[str, float]]:
    """Today's hectares from the areas themselves: the history holds the same statuses for
    today (its trigger writes every change), but reading it all made a cache miss 90 ms; the
    stored size (area_m2) spares measuring every outline again."""
    rows = session.execute(
        text(
            "SELECT kind, status, sum(area_m2) / 10000 FROM areas "
            "WHERE municipality_id = :m GROUP BY 1, 2"
        ),
        {"m": m},
    ).all()
    return _hectares(rows)


def current_schools_by_connection(session: Session, m: int) -> dict[str, tuple[int, int]]:
    """Today's (schools, pupils) per connection from the schools themselves."""
    rows = session.execute(
        text(
            "SELECT connection, count(*), sum(pupils) FROM schools "
            "WHERE municipality_id = :m GROUP BY 1"
        ),
        {"m": m},
    ).all()
    return {status: (int(count), int(pupils)) for status, count, pupils in rows}


def schools_by_connection(session: Session, m: int, as_of: dt.date) -> dict[str, tuple[int, int]]:
    """(schools, pupils) per connection status valid on the date."""
    if as_of == today(session):
        return current_schools_by_connection(session, m)
    rows = session.execute(
        text(
            f"WITH {FEATURE_STATUS} SELECT fs.status, count(*), sum(s.pupils) "
            "FROM schools s JOIN feature_status fs "
            "ON fs.feature_table = 'schools' AND fs.feature_id = s.id "
            "WHERE s.municipality_id = :m GROUP BY 1"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return {status: (int(count), int(pupils)) for status, count, pupils in rows}


def timeline_counts(session: Session, m: int, dates: list[dt.date]) -> dict[dt.date, RankCounts]:
    """Counts by best status on each date, in one query over the containment pairs."""
    rows = session.execute(
        text(
            "WITH dates AS (SELECT unnest(CAST(:dates AS date[])) AS d), "
            "fs AS (SELECT dates.d, h.feature_table, h.feature_id, h.rank FROM dates "
            "  CROSS JOIN LATERAL (SELECT DISTINCT ON (feature_table, feature_id) "
            "    feature_table, feature_id, broadband_status_rank(status) AS rank "
            "    FROM status_history WHERE municipality_id = :m AND status_since <= dates.d "
            "    ORDER BY feature_table, feature_id, status_since DESC) h), "
            "best AS (SELECT fs.d, p.address_id, min(fs.rank) AS rank FROM address_features p "
            "  JOIN fs ON fs.feature_table = p.feature_table AND fs.feature_id = p.feature_id "
            "  GROUP BY 1, 2) "
            "SELECT d, rank, count(*) FROM best GROUP BY 1, 2"
        ),
        {"m": m, "dates": dates},
    ).all()
    grouped = _grouped(rows)
    return {day: grouped.get(day, {}) for day in dates}


def unit_geometries(session: Session, m: int, table: str) -> dict[str, dict[str, Any]]:
    """District or hamlet outlines as GeoJSON geometries in EPSG:4326 (RFC 7946), by name."""
    if table not in {"districts", "hamlets"}:
        raise ValueError(table)
    rows = session.execute(
        text(
            "SELECT name, CAST(ST_AsGeoJSON(ST_Transform(geom, 4326), 6) AS json) "
            f"FROM {table} WHERE municipality_id = :m"
        ),
        {"m": m},
    ).all()
    return {str(name): geometry for name, geometry in rows}
