"""Demand progress of hamlets: sign-ups against the quota, the gap worked out by hand.

Prüfdorf (see test_coverage.py) gets two more hamlets, away from every area:
- "Heide" box(720, 720, 900, 900) with 25 addresses (a 5 × 5 grid), 20 % signed up, no quota of
  its own. Default quota 0.40: needed ⌈0.40 × 25⌉ = 10, signed up round(0.20 × 25) = 5, gap 5.
  With the setting at 0.28: needed ⌈0.28 × 25⌉ = ⌈7⌉ = 7 (in floats 7.000000000000001, which
  would round up to 8), gap 7 − 5 = 2.
- "Moor" box(920, 350, 1000, 650) with 10 addresses, 35 % signed up, its own quota 0.45: needed
  ⌈4.5⌉ = 5, signed up round(3.5) = 4 (half up), gap 1, whatever the setting.
- "Hof" (1 address, a6) has no share: gap unknown (None), quota the default.
"""

from __future__ import annotations

import csv
import io
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy.orm import Session

from service.core.settings import Settings
from service.coverage import figures
from service.coverage.reports import HAMLET_HEADERS
from service.coverage.rules import Breakdown, HamletUnit, Unit, demand_gap
from service.main import create_app
from tests.coverage.test_coverage import AGS, _insert, geom, multi, town

__all__ = ["town"]  # the fixture, shared with test_coverage.py
DEMAND_KEYS = {"demand_share", "demand_quota", "demand_quota_default", "demand_gap_addresses"}


def _hamlet(
    db: Session, m: int, name: str, share: str, quota: str | None, box_: tuple[int, int, int, int]
) -> int:
    values: dict[str, object] = {"municipality_id": m, "name": name}
    values |= {"status": "insufficient_demand"}
    values |= {"status_since": "2021-01-01", "demand_share": share, "demand_quota": quota}
    return _insert(db, "hamlets", {**values, "geom": multi(*box_)})


def _address(db: Session, m: int, number: str, x: float, y: float) -> None:
    values = {"municipality_id": m, "street": "Feldweg", "house_number": number}
    _insert(db, "addresses", {**values, "postcode": "99999", "geom": geom(Point(x, y))})


@pytest.fixture
def hamlets(town: dict[str, int], db: Session) -> None:
    m = town["m"]
    _hamlet(db, m, "Heide", "0.20", None, (720, 720, 900, 900))
    for i in range(25):
        _address(db, m, f"H{i}", 730 + 40 * (i % 5), 730 + 40 * (i // 5))
    _hamlet(db, m, "Moor", "0.35", "0.45", (920, 350, 1000, 650))
    for i in range(10):
        _address(db, m, f"M{i}", 960, 360 + 30 * i)


def _signed_up(share: str, addresses: int) -> int:
    return int((Decimal(share) * addresses).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _demand(units: list[Unit]) -> dict[str, tuple[object, ...]]:
    found: dict[str, tuple[object, ...]] = {}
    for unit in units:
        assert isinstance(unit, HamletUnit)
        found[unit.name] = (
            unit.addresses.denominator,
            unit.demand_share,
            unit.demand_quota,
            unit.demand_quota_default,
            unit.demand_gap_addresses,
        )
    return found


@pytest.mark.usefixtures("hamlets")
def test_the_gap_is_worked_out_from_the_hamlets_addresses(db: Session) -> None:
    assert _demand(figures.units(db, Breakdown.HAMLET, AGS, None, demand_quota=0.40)) == {
        "Heide": (25, 0.20, 0.40, True, 5),
        "Hof": (1, None, 0.40, True, None),
        "Moor": (10, 0.35, 0.45, False, 1),
    }
    assert _demand(figures.units(db, Breakdown.HAMLET, AGS, None, demand_quota=0.28)) == {
        "Heide": (25, 0.20, 0.28, True, 2),
        "Hof": (1, None, 0.28, True, None),
        "Moor": (10, 0.35, 0.45, False, 1),
    }


def test_the_gap_never_goes_below_zero() -> None:
    assert demand_gap(Decimal("0.90"), Decimal("0.40"), 10) == 0
    assert demand_gap(Decimal("0.40"), Decimal("0.40"), 10) == 0
    assert demand_gap(Decimal("0.50"), Decimal("0.40"), 0) == 0
    assert demand_gap(None, Decimal("0.40"), 10) is None
    assert demand_gap(Decimal("0"), Decimal("1"), 7) == 7


def test_the_api_gives_every_hamlet_its_demand(coesfeld: object, client: TestClient) -> None:
    body = client.get("/coverage/hamlets").json()
    by_name = {unit["name"]: unit for unit in body}
    for unit in body:
        assert set(unit) >= DEMAND_KEYS
        assert unit["demand_quota"] == 0.40 and unit["demand_quota_default"] is True
    herteler = by_name["Herteler"]  # 31 % signed up in the Coesfeld package
    n = herteler["addresses"]["denominator"]
    expected = max(0, math.ceil(Decimal("0.40") * n) - _signed_up("0.31", n))
    assert herteler["demand_share"] == 0.31
    assert herteler["demand_gap_addresses"] == expected
    assert by_name["Flamschen"]["demand_gap_addresses"] is None  # no share in the package


def test_the_setting_is_the_default_quota_and_csv_carries_it(
    coesfeld: object, settings: Settings
) -> None:
    with TestClient(create_app(settings.model_copy(update={"demand_quota": 0.5}))) as client:
        units = {u["name"]: u for u in client.get("/coverage/hamlets").json()}
        response = client.get("/coverage/hamlets", params={"f": "csv"})
    beikel = units["Beikel"]  # 27 % signed up
    n = beikel["addresses"]["denominator"]
    assert beikel["demand_quota"] == 0.5
    expected = max(0, math.ceil(Decimal("0.5") * n) - _signed_up("0.27", n))
    assert beikel["demand_gap_addresses"] == expected
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == HAMLET_HEADERS
    row = next(r for r in rows if r["Einheit"] == "Beikel")
    assert row["Anmeldungen (%)"] == "27,00"
    assert row["Mindestquote (%)"] == "50,00"
    assert row["Quote voreingestellt"] == "ja"
    assert int(row["fehlende Anmeldungen"]) == beikel["demand_gap_addresses"]
