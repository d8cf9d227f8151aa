"""Dates and date-times in parameters, exactly as RFC 3339 writes them and the API description
says (`format: date`, `format: date-time`): Python's own parsers accept more, which would make
the description wrong (`0` as 1970-01-01, `20240301`, a date-time without offset)."""

from __future__ import annotations

import datetime as dt
import re

DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
"""RFC 3339 `full-date`, as a pattern an API description can carry."""
TIME = "[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
"""RFC 3339 `"T" full-time`: seconds, maybe a fraction, and the offset."""
ISO_DATE = re.compile(DATE)
DATE_TIME = re.compile(DATE + TIME)


def parse_date(text: str) -> dt.date:
    """A `full-date`; ValueError for anything else, 30 February included."""
    if not ISO_DATE.fullmatch(text):
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}")
    return dt.date.fromisoformat(text)


def parse_date_time(text: str) -> dt.datetime:
    """A `date-time` with its offset (`Z` or ±hh:mm); ValueError for anything else."""
    if not DATE_TIME.fullmatch(text):
        raise ValueError(f"expected an RFC 3339 date-time, got {text!r}")
    return dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
