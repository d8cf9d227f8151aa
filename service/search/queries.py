"""Finding addresses and what covers them, for the map's search box and `GET /lookup`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.search.parsing import AddressQuery, normalise_street

# The SQL twin of `service.lookup.normalise_street`, applied to the stored street names.
STREET_KEY = (
    "regexp_replace(regexp_replace(replace(lower(a.street), 'ß', 'ss'), 'str\\.?$', 'strasse'),"
    " '[^0-9a-zäöü]', '', 'g')"
)


def find_addresses(session: Session, m: int, query: AddressQuery, limit: int) -> list[Any]:
    """Exact street (+ number, + postcode) matches first, then streets starting with the text."""
    rows = session.execute(
        text(
            "SELECT a.id, a.street, a.house_number, a.postcode, "
            "ST_X(ST_Transform(a.geom, 4326)) AS lon, ST_Y(ST_Transform(a.geom, 4326)) AS lat, "
            "c.best_rank, "
            f"({STREET_KEY} = :street) AS exact "
            "FROM addresses a JOIN address_coverage c ON c.address_id = a.id "
            "WHERE a.municipality_id = :m "
            f"AND {STREET_KEY} LIKE :street || '%' "
            "AND (CAST(:number AS text) IS NULL "
            "     OR regexp_replace(lower(a.house_number), '\\s', '', 'g') = :number) "
            "AND (CAST(:postcode AS text) IS NULL OR a.postcode = :postcode) "
            "ORDER BY exact DESC, a.street, "
            "  CAST(substring(a.house_number FROM '^[0-9]{1,9}') AS integer) NULLS LAST, "
            "  a.house_number "
            "LIMIT :limit"
        ),
        {
            "m": m,
            "street": normalise_street(query.street),
            "number": query.house_number,
            "postcode": query.postcode,
            "limit": limit,
        },
    ).all()
    exact = [row for row in rows if row.exact]
    return exact or list(rows)


def covering_features(session: Session, address_ids: list[int]) -> dict[int, list[Any]]:
    """The areas and hamlets covering each address, best status first."""
    rows = session.execute(
        text(
            "SELECT p.address_id, p.feature_table, f.id, f.name, f.status, f.status_since, "
            "f.provider, f.funding, f.kind FROM address_features p "
            "JOIN LATERAL ("
            "  SELECT id, name, status, status_since, provider, funding, kind FROM areas "
            "  WHERE p.feature_table = 'areas' AND id = p.feature_id "
            "  UNION ALL SELECT id, name, status, status_since, NULL, NULL, NULL FROM hamlets "
            "  WHERE p.feature_table = 'hamlets' AND id = p.feature_id) f ON true "
            "WHERE p.address_id = ANY(:ids) "
            "ORDER BY p.address_id, p.rank, f.status_since, f.name"
        ),
        {"ids": address_ids},
    ).all()
    found: dict[int, list[Any]] = {}
    for row in rows:
        found.setdefault(row.address_id, []).append(row)
    return found
