"""Finding addresses and what covers them, for the map's search box and `GET /lookup`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.search.parsing import AddressQuery, normalise_street

# The SQL twin of `service.lookup.normalise_street`, applied to the stored street names.
STREET_KEY = (
    "regexp_replace(regexp_replace(replace(lower(a.street), 'ß', 'ss'), 'str\\.?$', 'strasse'),"
    " '[^0-9a-zäöü]', '', 'g')"
)


# Today's addresses and their coverage, or those of a past date (`:as_of`), where an address's
# version of that day has one coverage row: `moved` when it stood elsewhere then.
TODAY = "addresses a JOIN address_coverage c ON c.address_id = a.id"
PAST = (
    "broadband_addresses_at(:as_of) a "
    "JOIN broadband_coverage_at(:m, :as_of) c ON c.address_id = a.id"
)


def find_addresses(
    session: Session, m: int, query: AddressQuery, limit: int, as_of: dt.date | None = None
) -> list[Any]:
    """Exact street (+ number, + postcode) matches first, then streets starting with the text;
    as they stood at the end of `as_of` (a past date) if given."""
    rows = session.execute(
        text(
            "SELECT a.id, a.street, a.house_number, a.postcode, "
            "ST_X(ST_Transform(a.geom, 4326)) AS lon, ST_Y(ST_Transform(a.geom, 4326)) AS lat, "
            f"c.best_rank, {'false' if as_of is None else 'c.moved'} AS moved, "
            f"({STREET_KEY} = :street) AS exact "
            f"FROM {TODAY if as_of is None else PAST} "
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
            "as_of": as_of,
        },
    ).all()
    exact = [row for row in rows if row.exact]
    return exact or list(rows)


def covering_features(
    session: Session,
    m: int,
    addresses: list[Any],
    as_of: dt.date | None = None,
) -> dict[int, list[Any]]:
    """The areas and hamlets covering each address found, best status first; for a past date
    `as_of`, those of its end, with their outlines and statuses then, at the address's position
    then (an address that moved since has pairs at both positions: `moved` picks one)."""
    pairs, areas, hamlets, which = "address_features", "areas", "hamlets", ""
    if as_of is not None:
        pairs = "broadband_pairs_at(:m, :as_of)"
        areas, hamlets = "broadband_areas_at(:as_of)", "broadband_hamlets_at(:as_of)"
        which = "AND p.moved = (p.address_id = ANY(:moved)) "
    rows = session.execute(
        text(
            "SELECT p.address_id, p.feature_table, f.id, f.name, f.status, f.status_since, "
            f"f.provider, f.funding, f.kind FROM {pairs} p "
            "JOIN LATERAL ("
            f"  SELECT id, name, status, status_since, provider, funding, kind FROM {areas} "
            "  WHERE p.feature_table = 'areas' AND id = p.feature_id "
            f"  UNION ALL SELECT id, name, status, status_since, NULL, NULL, NULL FROM {hamlets} "
            "  WHERE p.feature_table = 'hamlets' AND id = p.feature_id) f ON true "
            f"WHERE p.address_id = ANY(:ids) {which}"
            "ORDER BY p.address_id, p.rank, f.status_since, f.name"
        ),
        {
            "ids": [a.id for a in addresses],
            "moved": [a.id for a in addresses if a.moved],
            "m": m,
            "as_of": as_of,
        },
    ).all()
    found: dict[int, list[Any]] = {}
    for row in rows:
        found.setdefault(row.address_id, []).append(row)
    return found
