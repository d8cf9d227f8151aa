"""Coverage rules and figures: which status counts, how shares are computed and explained."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TypeVar

from service.core.vocabulary import Status

K = TypeVar("K")
G = TypeVar("G")
V = TypeVar("V", int, float)

NONE = "none"
# Best first: an address takes the best status of every area and hamlet that covers it.
STATUS_ORDER: list[str] = [
    Status.CONNECTED,
    Status.UNDER_CONSTRUCTION,
    Status.IN_PREPARATION,
    Status.PLANNED,
    Status.INSUFFICIENT_DEMAND,
    NONE,
]
RANK: dict[str, int] = {status: rank for rank, status in enumerate(STATUS_ORDER, start=1)}
STATUS_OF_RANK: dict[int, str] = {rank: status for status, rank in RANK.items()}

METHOD = (
    "Each address takes the best status of all expansion areas and hamlets that contain it, "
    "boundary included (connected > under_construction > in_preparation > planned > "
    "insufficient_demand; in none: none). Share = addresses whose best status is connected ÷ "
    "all addresses of the unit. On a past as_of date every feature, address and outline is the "
    "version of that date and each status the one valid then (features without a status by then "
    "are left out), so a date's figures stay as they were when later edits are made."
)
PROVIDER_METHOD = (
    "Addresses inside the provider's connected areas ÷ all addresses of the municipality; "
    "by_status gives each address's best status among that provider's areas only."
)


# The Länder by the first two digits of the AGS, so a Land's figures carry its name.
LAENDER = {
    "01": "Schleswig-Holstein",
    "02": "Hamburg",
    "03": "Niedersachsen",
    "04": "Bremen",
    "05": "Nordrhein-Westfalen",
    "06": "Hessen",
    "07": "Rheinland-Pfalz",
    "08": "Baden-Württemberg",
    "09": "Bayern",
    "10": "Saarland",
    "11": "Berlin",
    "12": "Brandenburg",
    "13": "Mecklenburg-Vorpommern",
    "14": "Sachsen",
    "15": "Sachsen-Anhalt",
    "16": "Thüringen",
}
KREIS_DIGITS = 5
LAND_DIGITS = 2


def region_name(key: str) -> str:
    """What a Kreis or Land key is called in answers: the Land's name, or `Kreis 05558`."""
    if len(key) == LAND_DIGITS:
        return LAENDER.get(key, f"Land {key}")
    return f"Kreis {key}"


def add_counts(counts: Iterable[Mapping[K, int]]) -> dict[K, int]:
    """Counts of several municipalities added up: addresses belong to one, so they are additive."""
    total: dict[K, int] = {}
    for each in counts:
        for key, count in each.items():
            total[key] = total.get(key, 0) + count
    return total


def add_grouped(grouped: Iterable[Mapping[G, Mapping[K, V]]]) -> dict[G, dict[K, V]]:
    """Per-unit counts or hectares of several municipalities, added unit by unit."""
    total: dict[G, dict[K, V]] = {}
    for each in grouped:
        for unit, values in each.items():
            into = total.setdefault(unit, {})
            for key, value in values.items():
                into[key] = into[key] + value if key in into else value
    return total


@dataclass(frozen=True)
class Municipality:
    """A municipality an answer adds up, by its key and name."""

    ags: str
    name: str


class Breakdown(StrEnum):
    """The units coverage can be broken down by."""

    DISTRICT = "district"
    HAMLET = "hamlet"
    KIND = "kind"
    PROVIDER = "provider"


def share_pct(numerator: int | float, denominator: int | float) -> float:
    """Percentage with two decimals, rounded half up as people expect; 0 of 0 is 0."""
    if not denominator:
        return 0.0
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class AddressFigure:
    """Connected addresses of a unit, with the whole distribution behind the share."""

    numerator: int
    denominator: int
    share_pct: float
    by_status: dict[str, int]

    @classmethod
    def from_ranks(cls, counts: Mapping[int, int], denominator: int | None = None) -> AddressFigure:
        """Build from address counts per best-status rank; missing ranks count as zero."""
        by_status = {status: int(counts.get(rank, 0)) for status, rank in RANK.items()}
        total = sum(by_status.values())
        if denominator is not None:
            by_status[NONE] += denominator - total
            total = denominator
        connected = by_status[Status.CONNECTED]
        return cls(connected, total, share_pct(connected, total), by_status)


@dataclass(frozen=True)
class Unit:
    """One unit (municipality, district, hamlet, kind or provider) and its address figure."""

    name: str
    as_of: dt.date
    addresses: AddressFigure
    method: str = METHOD
    # Set when the answer adds up a Kreis or Land: the municipalities this unit's figure covers.
    municipalities: tuple[Municipality, ...] = ()


@dataclass(frozen=True)
class HamletUnit(Unit):
    """A hamlet's address figure with its demand: sign-ups against the provider's quota."""

    demand_share: float | None = None
    demand_quota: float = 0.0
    demand_quota_default: bool = True
    demand_gap_addresses: int | None = None


def demand_gap(share: Decimal | None, quota: Decimal, addresses: int) -> int | None:
    """How many more of the hamlet's addresses must sign up to reach the quota (never below 0).

    Needed = quota × addresses rounded up (a quota is reached only in whole sign-ups); signed up =
    share × addresses rounded half up (the share was rounded from a whole count). Unknown share:
    None. Decimal arithmetic, so 0.28 × 25 is 7, not 7.000000000000001 rounded up to 8.
    """
    if share is None:
        return None
    needed = (quota * addresses).to_integral_value(rounding=ROUND_CEILING)
    signed_up = (share * addresses).to_integral_value(rounding=ROUND_HALF_UP)
    return max(0, int(needed - signed_up))


@dataclass(frozen=True)
class AreaFigure:
    """Hectares of one kind of expansion area per status, and the connected share."""

    kind: str
    hectares_by_status: dict[str, float]
    total_hectares: float
    connected_share_pct: float

    @classmethod
    def from_hectares(cls, kind: str, hectares: Mapping[str, float]) -> AreaFigure:
        """Round to 0.01 ha for display; the share is computed from unrounded hectares."""
        by_status = {str(s): round(float(hectares.get(s, 0.0)), 2) for s in Status}
        total = float(sum(hectares.values()))
        connected = float(hectares.get(Status.CONNECTED, 0.0))
        return cls(kind, by_status, round(total, 2), share_pct(connected, total))


@dataclass(frozen=True)
class SchoolFigures:
    """Schools and pupils per connection status, and the share of pupils on fibre."""

    schools_by_connection: dict[str, int]
    pupils_by_connection: dict[str, int]
    schools: int
    pupils: int
    pupils_on_fibre_pct: float


@dataclass(frozen=True)
class ReferenceFigure:
    """An official figure from the Breitbandatlas, for comparison with our own."""

    level: str
    ags: str
    stand: dt.date
    segment: str
    indicator: str
    value_pct: float
    source: str


@dataclass(frozen=True)
class Summary:
    """The municipality's headline figures at one date."""

    unit: Unit
    areas: list[AreaFigure]
    schools: SchoolFigures
    reference: list[ReferenceFigure] = field(default_factory=list)


@dataclass(frozen=True)
class TimelinePoint:
    """The municipality's address figure on one date of a timeline."""

    as_of: dt.date
    addresses: AddressFigure
    municipalities: tuple[Municipality, ...] = ()


def step_dates(start: dt.date, end: dt.date, step: str) -> list[dt.date]:
    """Dates from start to end (inclusive) by month, quarter or year, anchored on start's day."""
    months = {"month": 1, "quarter": 3, "year": 12}[step]
    dates: list[dt.date] = []
    index = 0
    while True:
        month0 = start.month - 1 + index * months
        year, month = start.year + month0 // 12, month0 % 12 + 1
        day = min(start.day, _days_in_month(year, month))
        current = dt.date(year, month, day)
        if current > end:
            return dates
        dates.append(current)
        index += 1


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day
