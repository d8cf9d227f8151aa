"""What the database held at two dates, for the comparison in `history.summary`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.history.summary import Count, FeaturePair, Shape, StatusPair, StatusVersion, UnitCount

LABELS = {
    "areas": "name",
    "hamlets": "name",
    "schools": "name",
    "districts": "name",
    "addresses": "street || ' ' || house_number",
}
"""How each feature collection names its features (an address by street and house number)."""

POINTS = ("schools", "addresses")
STATUS_COLUMN = {"areas": "status", "hamlets": "status", "schools": "connection"}


def without_jit(session: Session) -> None:
    """For the rest of the transaction: the state functions' row estimates are far off, so the
    planner would compile queries of tens of milliseconds for half a second (as 0002 and 0009
    turn it off in their functions)."""
    session.execute(text("SELECT set_config('jit', 'off', true)"))


def _shape(name: str | None, area: float | None, x: float | None, y: float | None) -> Shape | None:
    return None if name is None else Shape(name, area, x, y)


def differing_features(
    session: Session, m: int, collection: str, start: dt.date, end: dt.date
) -> list[FeaturePair]:
    """The features of a collection absent at one of the dates or with another geometry."""
    label = LABELS[collection]
    if collection in POINTS:
        measures = "NULL::float8, ST_X({g}.geom), ST_Y({g}.geom)"
    else:
        measures = "ST_Area({g}.geom), NULL::float8, NULL::float8"
    rows = session.execute(
        text(
            f"WITH a AS (SELECT id, {label} AS name, geom FROM broadband_{collection}_at(:start) "
            "  WHERE municipality_id = :m), "
            f"b AS (SELECT id, {label} AS name, geom FROM broadband_{collection}_at(:end) "
            "  WHERE municipality_id = :m) "
            f"SELECT coalesce(a.id, b.id), a.name, {measures.format(g='a')}, "
            f"b.name, {measures.format(g='b')} "
            "FROM a FULL JOIN b ON b.id = a.id "
            "WHERE a.id IS NULL OR b.id IS NULL OR ST_AsEWKB(a.geom) <> ST_AsEWKB(b.geom)"
        ),
        {"m": m, "start": start, "end": end},
    ).all()
    return [FeaturePair(int(row[0]), _shape(*row[1:5]), _shape(*row[5:9])) for row in rows]


def statuses(
    session: Session, m: int, collection: str, start: dt.date, end: dt.date
) -> list[StatusPair]:
    """Each feature present at both dates with its status then; since when the later one holds."""
    status = STATUS_COLUMN[collection]
    rows = session.execute(
        text(
            f"SELECT b.id, b.name, a.{status}, b.{status}, b.status_since "
            f"FROM broadband_{collection}_at(:start) a "
            f"JOIN broadband_{collection}_at(:end) b ON b.id = a.id "
            "WHERE a.municipality_id = :m AND b.municipality_id = :m"
        ),
        {"m": m, "start": start, "end": end},
    ).all()
    return [StatusPair(collection, *row) for row in rows]


def status_versions(session: Session, m: int, start: dt.date, end: dt.date) -> list[StatusVersion]:
    """Every status dated after the earlier date up to the later one, with the feature's newest
    name (a deleted feature's from its last version)."""
    names = " UNION ALL ".join(
        f"SELECT '{t}' AS feature_table, id, name, valid_from FROM {t} WHERE municipality_id = :m "
        f"UNION ALL SELECT '{t}', id, name, valid_from FROM {t}_versions "
        "WHERE municipality_id = :m"
        for t in STATUS_COLUMN
    )
    rows = session.execute(
        text(
            f"WITH named AS (SELECT DISTINCT ON (feature_table, id) feature_table, id, name "
            f"  FROM ({names}) n ORDER BY feature_table, id, valid_from DESC) "
            "SELECT h.feature_table, h.feature_id, coalesce(n.name, '#' || h.feature_id), "
            "  h.status, h.status_since "
            "FROM status_history h LEFT JOIN named n "
            "  ON n.feature_table = h.feature_table AND n.id = h.feature_id "
            "WHERE h.municipality_id = :m AND h.status_since > :start AND h.status_since <= :end "
            "ORDER BY h.status_since, h.feature_table, 3, h.feature_id"
        ),
        {"m": m, "start": start, "end": end},
    ).all()
    return [StatusVersion(*row) for row in rows]


def coverage_by_unit(
    session: Session, m: int, day: dt.date, connected: int
) -> dict[str, dict[int | None, UnitCount]]:
    """Connected (best rank `connected`) and all addresses of the date in each district (and
    outside every district, key None) and inside each hamlet (Bauerschaft), in one pass."""
    rows = session.execute(
        text(
            "WITH coverage AS MATERIALIZED (SELECT * FROM broadband_coverage_at(:m, :d)), "
            "pairs AS MATERIALIZED (SELECT * FROM broadband_pairs_at(:m, :d) "
            "  WHERE feature_table = 'hamlets'), "
            "counts AS (SELECT district_id, count(*) FILTER (WHERE best_rank = :c) AS connected, "
            "  count(*) AS total FROM coverage GROUP BY 1), "
            "districts AS (SELECT id, name FROM broadband_districts_at(:d) "
            "  WHERE municipality_id = :m) "
            "SELECT 'districts', coalesce(u.id, c.district_id), u.name, coalesce(c.connected, 0), "
            "  coalesce(c.total, 0) "
            "FROM districts u FULL JOIN counts c ON c.district_id = u.id "
            "UNION ALL "
            "SELECT 'hamlets', h.id, h.name, count(c.address_id) FILTER (WHERE c.best_rank = :c), "
            "  count(c.address_id) "
            "FROM broadband_hamlets_at(:d) h "
            "LEFT JOIN pairs p ON p.feature_id = h.id "
            "LEFT JOIN coverage c ON c.address_id = p.address_id AND c.moved = p.moved "
            "WHERE h.municipality_id = :m GROUP BY 2, 3"
        ),
        {"m": m, "d": day, "c": connected},
    ).all()
    units: dict[str, dict[int | None, UnitCount]] = {"districts": {}, "hamlets": {}}
    for kind, key, name, c, t in rows:
        units[kind][key] = UnitCount(name, Count(int(c), int(t)))
    return units
