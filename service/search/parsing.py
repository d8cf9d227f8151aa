"""Address search as people type it ("Nordstr. 1a, 48653 Coesfeld"): parsing and normalising."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.core.errors import BadRequestError, Problem

MAX_QUERY = 200
SEARCHABLE = "[0-9A-Za-zÄÖÜäöüßẞİ\u212a]"
"""A character `normalise_street` keeps (İ and the Kelvin sign lower-case to i and k): a text
without one has no street to search for. The street must also remain once a postcode and a
house number are taken off, which no pattern says; the parser does."""
# A postcode with the town name after it ("48653 Coesfeld"), wherever it stands.
_POSTCODE = re.compile(r"\b(\d{5})\b(?:\s+[^\d,]+)?")
_HOUSE_NUMBER = r"\d+(?:\s?[a-zA-Z]\b)?(?:\s?[-/]\s?\d+[a-zA-Z]?)?"
# Street, number, and maybe a town name after it ("Marktplatz 1 Coesfeld").
_NUMBER = re.compile(rf"^(.*?)[\s,]+({_HOUSE_NUMBER})(?:[\s,]+[^\d,]+)?$")


@dataclass(frozen=True)
class AddressQuery:
    """The parts of a typed address the search uses."""

    street: str
    house_number: str | None
    postcode: str | None


def normalise_street(street: str) -> str:
    """Compare street names the way people write them: case, ß/ss, 'str.', spaces and hyphens."""
    text = street.strip().lower().replace("ß", "ss")
    text = re.sub(r"str\.?$", "strasse", text)
    return re.sub(r"[^0-9a-zäöü]", "", text)


def normalise_number(number: str) -> str:
    """'12 A' and '12a' are the same house number."""
    return re.sub(r"\s", "", number).lower()


def _refuse() -> BadRequestError:
    message = f"expected an address like 'Marktplatz 1' (1 to {MAX_QUERY} characters)"
    return BadRequestError([Problem("query", None, "q", message)], "invalid address search")


def parse_query(query: str) -> AddressQuery:
    """Split a typed address into street, house number and postcode; town names are dropped."""
    text = " ".join(query.split())
    if not text or len(query) > MAX_QUERY:
        raise _refuse()
    postcode_match = _POSTCODE.search(text)
    postcode = postcode_match.group(1) if postcode_match else None
    if postcode_match:
        text = (text[: postcode_match.start()] + " " + text[postcode_match.end() :]).strip(" ,")
    match = _NUMBER.match(text)
    street, number = (match.group(1), normalise_number(match.group(2))) if match else (text, None)
    street = street.strip(" ,")
    if not normalise_street(street):
        raise _refuse()
    return AddressQuery(street, number, postcode)
