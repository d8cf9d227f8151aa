"""Rows of the text view: every area, hamlet and school in the version valid on a date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.coverage.queries import FEATURE_STATUS

AREAS = f"""
WITH {FEATURE_STATUS}
SELECT f.name, f.kind, fs.status, fs.status_since, f.provider, f.funding, f.approximate
FROM areas f JOIN feature_status fs ON fs.feature_table = 'areas' AND fs.feature_id = f.id
WHERE f.municipality_id = :m ORDER BY f.name"""

HAMLETS = f"""
WITH {FEATURE_STATUS}
SELECT f.name, fs.status, fs.status_since, f.approximate
FROM hamlets f JOIN feature_status fs ON fs.feature_table = 'hamlets' AND fs.feature_id = f.id
WHERE f.municipality_id = :m ORDER BY f.name"""

SCHOOLS = f"""
WITH {FEATURE_STATUS}
SELECT f.name, f.school_type, fs.status AS connection, fs.status_since, f.pupils, f.approximate
FROM schools f JOIN feature_status fs ON fs.feature_table = 'schools' AND fs.feature_id = f.id
WHERE f.municipality_id = :m ORDER BY f.name"""

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
    """Areas that had a version by the date, with that version's status and date."""
    return _rows(session, AREAS, m, as_of)


def hamlets(session: Session, m: int, as_of: dt.date) -> list[dict[str, Any]]:
    """Hamlets that had a version by the date, with that version's status and date."""
    return _rows(session, HAMLETS, m, as_of)


def schools(session: Session, m: int, as_of: dt.date) -> list[dict[str, Any]]:
    """Schools that had a version by the date, with that version's connection and date."""
    return _rows(session, SCHOOLS, m, as_of)


def approximate_layers(session: Session, m: int) -> set[str]:
    """Layers of which the package marks at least one feature as approximate."""
    rows = session.execute(text(APPROXIMATE), {"m": m}).all()
    return {layer for layer, approximate in rows if approximate}
