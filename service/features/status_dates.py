"""When a status holds from: one rule for every write (the API, the workspace, imports).

A new or changed status without a date of its own holds from the day it is recorded (the
database's `current_date`), or from the date given for a whole delivery; an unchanged status
keeps its stored date. Seeding a package is the exception: a package is the official record, so
it must date every status itself (the layer registry marks `status_since` required).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from service.layers import Collection

DATE_FIELD = "status_since"


class DateSource(StrEnum):
    """Where the date a status holds from came from, as an import's preview names it."""

    FILE = "file"  # the feature's own date: the file's column, the client's property
    DELIVERY = "--status-since"  # the date given for the whole delivery
    TODAY = "today"  # a new or changed status without a date: the day it is recorded
    UNCHANGED = "unchanged"  # the status did not change: its stored date stays


@dataclass(frozen=True)
class StatusDate:
    """The date a feature's status holds from, and why."""

    day: dt.date
    source: DateSource


def status_date(
    collection: Collection,
    stored: dict[str, Any] | None,
    new: dict[str, Any],
    today: dt.date,
    given: dt.date | None = None,
) -> StatusDate | None:
    """The date the new status holds from; None for a layer without a status.

    `stored` is the feature as stored (None or empty for a new feature), `new` its checked new
    properties, `given` the date a whole delivery was dated with. On a changed status, a date equal
    to the stored one is the old version's date carried along (a merge patch, a file without a
    date column), not a date of the new status.
    """
    field = collection.status_field
    if field is None or DATE_FIELD not in collection.fields:
        return None
    own = new.get(DATE_FIELD)
    old = stored.get(DATE_FIELD) if stored else None
    if own is not None and own != old:  # a date of its own: new, changed or corrected
        return StatusDate(own, DateSource.FILE)
    if stored and old is not None and new.get(field) == stored.get(field):
        return StatusDate(old, DateSource.UNCHANGED)
    if given is not None:
        return StatusDate(given, DateSource.DELIVERY)
    return StatusDate(today, DateSource.TODAY)


def dated_status(
    collection: Collection,
    stored: dict[str, Any] | None,
    new: dict[str, Any],
    today: dt.date,
    given: dt.date | None = None,
) -> dict[str, Any]:
    """The new properties with the date their status holds from (see `status_date`)."""
    dated = status_date(collection, stored, new, today, given)
    return new if dated is None else {**new, DATE_FIELD: dated.day}


def undated(collection: Collection) -> Collection:
    """The layer as a write checks it: the status date may be left out, `status_date` sets it."""
    spec = collection.fields.get(DATE_FIELD)
    if collection.status_field is None or spec is None:
        return collection
    fields = {**collection.fields, DATE_FIELD: replace(spec, required=False)}
    return replace(collection, fields=fields)
