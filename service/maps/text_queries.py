"""Rows of the text view: every area, hamlet and school as it stood on a date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# The features of the date as they stood then, each with its status of that day (0011).
AREAS = """
SELECT name, kind, status, status_since, provider, funding, approximate
FROM broadband_areas_at(:as_of) WHERE municipality_id = :m ORDER BY name"""

HAMLETS = """
SELECT name, status, status_since, approximate
FROM broadband_hamlets_at(:as_of) WHERE municipality_id = :m ORDER BY name"""

SCHOOLS = """
SELECT name, school_type, connection, status_since, pupils, approximate
FROM broadband_schools_at(:as_of) WHERE municipality_id = :m ORDER BY name"""

APPROXIMATE = """
SELECT 'districts' AS layer, bool_or(approximate) FROM districts WHERE municipality_id = :m
UNION ALL SELECT 'areas', bool_or(approximate) FROM areas WHERE municipality_id = :m
UNION ALL SELECT 'hamlets', bool_or(approximate) FROM hamlets WHERE municipality_id = :m
UNION ALL SELECT 'schools', bool_or(approximate) FROM schools WHERE municipality_id = :m
UNION ALL SELECT 'addresses', bool_or(approximate) FROM addresses WHERE municipality_id = :m"""


def _rows(session: Session, sql: str, m: int, as_of: dt.date) -> list[dict[str, Any]]:
    result = session.execute(text(sql), {"m": m, "as_of": as_of}).mappings().all()
    return [dict(row) for row in result]


def areas(session: Session, m: int, as_of: dt.date) -> list[dict[str, Any]]:
    """Areas of the date as they stood, with their status then and since when."""
    return _rows(session, AREAS, m, as_of)


def hamlets(session: Session, m: int, as_of: dt.date) -> list[dict[str, Any]]:
    """Hamlets of the date as they stood, with their status then and since when."""
    return _rows(session, HAMLETS, m, as_of)


def schools(session: Session, m: int, as_of: dt.date) -> list[dict[str, Any]]:
    """Schools of the date as they stood, with their connection then and since when."""
    return _rows(session, SCHOOLS, m, as_of)


def approximate_layers(session: Session, m: int) -> set[str]:
    """Layers of which the package marks at least one feature as approximate."""
    rows = session.execute(text(APPROXIMATE), {"m": m}).all()
    return {layer for layer, approximate in rows if approximate}
