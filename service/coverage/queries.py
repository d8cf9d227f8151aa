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

# Every address of :as_of (an address that moved since comes at its position then) with its
# district and best status then, and the areas and hamlets that contained it (migration 0011).
COVERAGE_AT = "coverage AS MATERIALIZED (SELECT * FROM broadband_coverage_at(:m, :as_of))"
PAIRS_AT = "pairs AS MATERIALIZED (SELECT * FROM broadband_pairs_at(:m, :as_of))"


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


# A past date's counts: today's, less the address states begun since, plus those that ended
# since but held on the date; only what changed since is read (migration 0011).
COUNTS_AT = """
SELECT district_id, best_rank, sum(n) FROM (
    SELECT district_id, best_rank, addresses AS n FROM coverage_counts WHERE municipality_id = :m
    UNION ALL
    SELECT district_id, best_rank, -count(*) FROM address_states
    WHERE municipality_id = :m AND until IS NULL AND since > :as_of GROUP BY 1, 2
    UNION ALL
    SELECT district_id, best_rank, count(*) FROM address_states
    WHERE municipality_id = :m AND until IS NOT NULL AND until > :as_of AND since <= :as_of
    GROUP BY 1, 2
) changed GROUP BY 1, 2 HAVING sum(n) <> 0"""


def counts_by_district(session: Session, m: int, as_of: dt.date) -> dict[int | None, RankCounts]:
    """Counts per district of a past date: its addresses, districts, outlines and statuses."""
    rows = session.execute(text(COUNTS_AT), {"m": m, "as_of": as_of}).all()
    return _grouped(rows)


def district_names(session: Session, m: int, as_of: dt.date | None = None) -> dict[int, str]:
    """District ids and names (those of the date, if one is given), in name order."""
    source = "districts" if as_of is None else "broadband_districts_at(:as_of)"
    rows = session.execute(
        text(f"SELECT id, name FROM {source} WHERE municipality_id = :m ORDER BY name"),
        {"m": m, "as_of": as_of},
    ).all()
    return {row.id: row.name for row in rows}


def counts_by_hamlet(session: Session, m: int, as_of: dt.date) -> dict[str, RankCounts]:
    """Addresses inside each hamlet of the date (with a status by then), by their best status."""
    rows = session.execute(
        text(
            f"WITH {COVERAGE_AT}, {PAIRS_AT} "
            "SELECT h.name, c.best_rank, count(c.address_id) FROM broadband_hamlets_at(:as_of) h "
            "LEFT JOIN pairs p ON p.feature_table = 'hamlets' AND p.feature_id = h.id "
            "LEFT JOIN coverage c ON c.address_id = p.address_id AND c.moved = p.moved "
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
            f"WITH {COVERAGE_AT}, {PAIRS_AT}, members AS ("
            "  SELECT DISTINCT s.kind, p.address_id, p.moved FROM broadband_areas_at(:as_of) s"
            "  JOIN pairs p ON p.feature_table = 'areas' AND p.feature_id = s.id"
            "  WHERE s.municipality_id = :m) "
            "SELECT x.kind, c.best_rank, count(*) FROM members x JOIN coverage c "
            "ON c.address_id = x.address_id AND c.moved = x.moved GROUP BY 1, 2"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return _grouped(rows)


def counts_by_provider(session: Session, m: int, as_of: dt.date) -> dict[str, RankCounts]:
    """Per provider: each address's best status among that provider's areas only."""
    rows = session.execute(
        text(
            f"WITH {PAIRS_AT}, per_address AS ("
            "  SELECT s.provider, p.address_id, p.moved, min(p.rank) AS rank"
            "  FROM broadband_areas_at(:as_of) s"
            "  JOIN pairs p ON p.feature_table = 'areas' AND p.feature_id = s.id"
            "  WHERE s.municipality_id = :m AND s.provider IS NOT NULL"
            "  GROUP BY 1, 2, 3) "
            "SELECT provider, rank, count(*) FROM per_address GROUP BY 1, 2"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return _grouped(rows)


def address_total(session: Session, m: int, as_of: dt.date | None = None) -> int:
    """All addresses of the municipality (those of the date, if one is given)."""
    source = "addresses" if as_of is None else "broadband_addresses_at(:as_of)"
    total: int = session.execute(
        text(f"SELECT count(*) FROM {source} WHERE municipality_id = :m"), {"m": m, "as_of": as_of}
    ).scalar_one()
    return total


def hectares_by_kind(session: Session, m: int, as_of: dt.date) -> dict[str, dict[str, float]]:
    """Hectares (EPSG:25832) of areas per kind and status valid on the date."""
    if as_of == today(session):
        return current_hectares_by_kind(session, m)
    rows = session.execute(
        text(
            "SELECT kind, status, sum(area_m2) / 10000 FROM broadband_areas_at(:as_of) "
            "WHERE municipality_id = :m GROUP BY 1, 2"
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
            "SELECT connection, count(*), sum(pupils) FROM broadband_schools_at(:as_of) "
            "WHERE municipality_id = :m GROUP BY 1"
        ),
        {"m": m, "as_of": as_of},
    ).all()
    return {status: (int(count), int(pupils)) for status, count, pupils in rows}


def timeline_counts(session: Session, m: int, dates: list[dt.date]) -> dict[dt.date, RankCounts]:
    """Counts by best status on each date (that date's addresses, `none` included), from the
    addresses' states over time."""
    rows = session.execute(
        text(
            "SELECT d, s.best_rank, count(*) FROM unnest(CAST(:dates AS date[])) AS d "
            "JOIN address_states s ON s.municipality_id = :m AND s.since <= d "
            "AND (s.until IS NULL OR s.until > d) GROUP BY 1, 2"
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
