"""The address search: typed addresses are found, and the answer says covered, by whom, since."""

from __future__ import annotations

import re
import sys

import pytest
from fastapi.testclient import TestClient

from service.core.errors import InvalidDataError
from service.search.parsing import SEARCHABLE, AddressQuery, normalise_street, parse_query


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Marktplatz 1", AddressQuery("Marktplatz", "1", None)),
        ("Nordstr. 12 a, 48653 Coesfeld", AddressQuery("Nordstr.", "12a", "48653")),
        ("Am Einzelhof", AddressQuery("Am Einzelhof", None, None)),
        ("  Weg   der Einheit 3-5 ", AddressQuery("Weg der Einheit", "3-5", None)),
        ("48653 Coesfeld, Marktplatz 1", AddressQuery("Marktplatz", "1", "48653")),
        ("Marktplatz 1, Coesfeld", AddressQuery("Marktplatz", "1", None)),
        ("Marktplatz 1 Coesfeld", AddressQuery("Marktplatz", "1", None)),
        ("Marktplatz 1 a", AddressQuery("Marktplatz", "1a", None)),
    ],
)
def test_typed_addresses_are_split(typed: str, expected: AddressQuery) -> None:
    assert parse_query(typed) == expected


def test_street_spellings_compare_equal() -> None:
    assert normalise_street("Nordstraße") == normalise_street("nordstr.") == "nordstrasse"
    assert normalise_street("Am Einzel-Hof") == normalise_street("am einzelhof")


@pytest.mark.parametrize("typed", ["   ", "48653", "48653 Coesfeld", ", 12"])
def test_queries_without_a_street_are_refused(typed: str) -> None:
    with pytest.raises(InvalidDataError, match="expected an address"):
        parse_query(typed)


@pytest.mark.parametrize(
    ("typed", "status", "covered", "provider"),
    [
        ("Nordstraße 1", "connected", True, "Deutsche Glasfaser"),
        ("dreiskamp 1", "connected", True, "omnion"),
        ("Marktplatz 1, 48653 Coesfeld", "insufficient_demand", False, "Deutsche Glasfaser"),
        ("Südweststr. 1", "under_construction", False, "Deutsche Glasfaser"),
        ("Wulferhook 1", "in_preparation", False, None),
        ("Am Einzelhof 1", "none", False, None),
    ],
)
def test_seeded_addresses_are_found_with_their_status(
    coesfeld: object,
    client: TestClient,
    typed: str,
    status: str,
    covered: bool,
    provider: str | None,
) -> None:
    response = client.get("/lookup", params={"q": typed})
    assert response.status_code == 200
    matches = response.json()["matches"]
    assert len(matches) == 1
    match = matches[0]
    assert (match["status"], match["covered"]) == (status, covered)
    assert match["providers"] == ([provider] if provider else [])
    assert 7.0 < match["lon"] < 7.3
    assert 51.8 < match["lat"] < 52.0
    if status == "none":
        assert match["since"] is None
        assert match["features"] == []
    else:
        assert match["since"] == min(
            f["status_since"] for f in match["features"] if f["status"] == status
        )


def test_a_street_prefix_suggests_addresses(coesfeld: object, client: TestClient) -> None:
    matches = client.get("/lookup", params={"q": "Marktpl", "limit": 5}).json()["matches"]
    assert matches
    assert all(m["street"].startswith("Marktpl") for m in matches)


def test_unknown_address_finds_nothing_and_bad_input_is_a_problem(
    coesfeld: object, client: TestClient
) -> None:
    assert client.get("/lookup", params={"q": "Gibtsnichtweg 99"}).json()["matches"] == []
    assert client.get("/lookup", params={"q": ""}).status_code == 400
    too_few = client.get("/lookup", params={"q": "x", "limit": 0})
    assert too_few.status_code == 400
    assert [p["field"] for p in too_few.json()["problems"]] == ["limit"]


def test_the_described_pattern_names_exactly_the_characters_a_street_is_searched_by() -> None:
    """`q` must hold one of them (SEARCHABLE, stated in /api); the parser keeps no other."""
    kept = {chr(code) for code in range(sys.maxunicode + 1) if normalise_street(chr(code))}
    assert kept == {c for c in map(chr, range(sys.maxunicode + 1)) if re.fullmatch(SEARCHABLE, c)}
