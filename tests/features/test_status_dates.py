"""The one dating rule: which date a new, changed or unchanged status holds from, and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from service.features.status_dates import (
    DateSource,
    StatusDate,
    dated_status,
    status_date,
    undated,
)
from service.layers import LAYERS

TODAY = dt.date(2026, 12, 1)
GIVEN = dt.date(2026, 11, 15)
STORED_SINCE = dt.date(2021, 11, 1)
STORED: dict[str, Any] = {"name": "A", "status": "planned", "status_since": STORED_SINCE}
OWN = dt.date(2025, 9, 1)


def _new(status: str, since: dt.date | None = None) -> dict[str, Any]:
    return {"name": "A", "status": status, "status_since": since}


@pytest.mark.parametrize(
    ("stored", "new", "given", "expected"),
    [
        (None, _new("planned"), None, StatusDate(TODAY, DateSource.TODAY)),
        (None, _new("planned"), GIVEN, StatusDate(GIVEN, DateSource.DELIVERY)),
        (None, _new("planned", OWN), GIVEN, StatusDate(OWN, DateSource.FILE)),
        ({}, _new("planned"), None, StatusDate(TODAY, DateSource.TODAY)),
        (STORED, _new("planned"), GIVEN, StatusDate(STORED_SINCE, DateSource.UNCHANGED)),
        (
            STORED,
            _new("planned", STORED_SINCE),
            None,
            StatusDate(STORED_SINCE, DateSource.UNCHANGED),
        ),
        (STORED, _new("planned", OWN), None, StatusDate(OWN, DateSource.FILE)),  # a correction
        (STORED, _new("connected"), None, StatusDate(TODAY, DateSource.TODAY)),
        (STORED, _new("connected"), GIVEN, StatusDate(GIVEN, DateSource.DELIVERY)),
        # The old date carried along (a merge patch, a file without dates) is not the new one's.
        (
            STORED,
            _new("connected", STORED_SINCE),
            None,
            StatusDate(TODAY, DateSource.TODAY),
        ),
        (STORED, _new("connected", OWN), GIVEN, StatusDate(OWN, DateSource.FILE)),
    ],
    ids=[
        "new",
        "new-delivery-date",
        "new-own-date",
        "new-empty-stored",
        "unchanged",
        "unchanged-same-date",
        "unchanged-corrected",
        "changed",
        "changed-delivery-date",
        "changed-old-date",
        "changed-own-date",
    ],
)
def test_status_date(
    stored: dict[str, Any] | None,
    new: dict[str, Any],
    given: dt.date | None,
    expected: StatusDate,
) -> None:
    assert status_date(LAYERS["areas"], stored, new, TODAY, given) == expected


def test_layers_without_a_status_are_not_dated() -> None:
    district = {"name": "Lette", "approximate": False, "external_id": None}
    assert status_date(LAYERS["districts"], None, district, TODAY) is None
    assert dated_status(LAYERS["districts"], None, district, TODAY) == district


def test_schools_are_dated_by_their_connection() -> None:
    stored = {"name": "S", "connection": "lte", "status_since": dt.date(2021, 1, 1)}
    new = {**stored, "connection": "fibre"}
    assert dated_status(LAYERS["schools"], stored, new, TODAY)["status_since"] == TODAY


def test_a_write_may_leave_the_date_out_a_package_may_not() -> None:
    for name in ("areas", "hamlets", "schools"):
        assert LAYERS[name].fields["status_since"].required  # seeding: the official record
        assert not undated(LAYERS[name]).fields["status_since"].required
    assert undated(LAYERS["districts"]) is LAYERS["districts"]
