"""Coverage figures for the API and the CLI: `db.coverage` queries turned into domain objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy.orm import Session

from service.core.errors import BadRequestError, Problem
from service.core.settings import DEFAULT_DEMAND_QUOTA
from service.core.vocabulary import Connection, Kind
from service.coverage import queries
from service.coverage.reference_queries import nearest_fibre_figures
from service.coverage.rules import (
    LAND_DIGITS,
    PROVIDER_METHOD,
    AddressFigure,
    AreaFigure,
    Breakdown,
    HamletUnit,
    Municipality,
    ReferenceFigure,
    SchoolFigures,
    Summary,
    TimelinePoint,
    Unit,
    add_counts,
    add_grouped,
    demand_gap,
    region_name,
    share_pct,
    step_dates,
)
from service.db import state
from service.db.state import MunicipalityRow


@dataclass(frozen=True)
class Region:
    """What an answer is about: one municipality, or the loaded ones of a Kreis or Land.

    Every count is per address and an address lies in one municipality, so a Kreis or Land figure
    is the sum of its municipalities' figures, each computed as for one municipality.
    """

    key: str | None
    name: str
    towns: tuple[MunicipalityRow, ...]

    @property
    def aggregated(self) -> bool:
        """Whether a Kreis or Land key was asked for (even if only one of its towns is loaded)."""
        return self.key is not None and len(self.key) in state.LEVELS

    @property
    def members(self) -> tuple[Municipality, ...]:
        """The municipalities added up, said in every answer about a Kreis or Land."""
        if not self.aggregated:
            return ()
        return tuple(Municipality(town.ags, town.name) for town in self.towns)

    def of_town(self, town: MunicipalityRow, name: str) -> tuple[str, tuple[Municipality, ...]]:
        """A district's or hamlet's name and municipality: qualified when towns are side by side."""
        if not self.aggregated:
            return name, ()
        return f"{name} ({town.name})", (Municipality(town.ags, town.name),)


def region(session: Session, ags: str | None) -> Region:
    """The municipalities an `ags` names (8, 5 or 2 digits), or the only one loaded."""
    towns = tuple(state.municipalities(session, ags))
    if ags is not None and len(ags) in state.LEVELS:
        return Region(ags, region_name(ags), towns)
    return Region(towns[0].ags, towns[0].name, towns)


def _one(town: MunicipalityRow) -> Region:
    return Region(town.ags, town.name, (town,))


def resolve_date(session: Session, as_of: dt.date | None) -> tuple[dt.date, bool]:
    """The date asked for (default: today), and whether it is today (the maintained state)."""
    today = state.today(session)
    if as_of is not None and as_of > today:
        problem = Problem("query", None, "as_of", f"{as_of} lies in the future (today is {today})")
        raise BadRequestError([problem], "invalid as_of")
    return (as_of or today), (as_of is None or as_of == today)


def past_date(session: Session, as_of: dt.date | None) -> dt.date | None:
    """The date to read through the `_at` functions, or None for today (the maintained tables)."""
    day, is_today = resolve_date(session, as_of)
    return None if is_today else day


def _district_counts(
    session: Session, m: int, as_of: dt.date, is_today: bool
) -> dict[int | None, queries.RankCounts]:
    if is_today:
        return queries.current_counts_by_district(session, m)
    return queries.counts_by_district(session, m, as_of)


def _town_counts(session: Session, m: int, as_of: dt.date, is_today: bool) -> queries.RankCounts:
    """A municipality's addresses by best status rank (all its districts and the outside)."""
    return add_counts(_district_counts(session, m, as_of, is_today).values())


def municipality_unit(session: Session, ags: str | None, as_of: dt.date | None) -> Unit:
    """The headline figure: connected addresses of the municipality, Kreis or Land."""
    return region_unit(session, region(session, ags), as_of)


def headline(session: Session, town: MunicipalityRow, as_of: dt.date | None) -> Unit:
    """The headline figure of a municipality already looked up."""
    return region_unit(session, _one(town), as_of)


def region_unit(session: Session, area: Region, as_of: dt.date | None) -> Unit:
    """The headline figure of a region: its municipalities' counts added up."""
    day, is_today = resolve_date(session, as_of)
    totals = add_counts(_town_counts(session, town.id, day, is_today) for town in area.towns)
    return Unit(area.name, day, AddressFigure.from_ranks(totals), municipalities=area.members)


def town_units(session: Session, area: Region, as_of: dt.date | None) -> list[Unit]:
    """One figure per municipality of the region, in AGS order (the Kreis map shows these)."""
    day, is_today = resolve_date(session, as_of)
    return [
        Unit(
            town.name,
            day,
            AddressFigure.from_ranks(_town_counts(session, town.id, day, is_today)),
            municipalities=(Municipality(town.ags, town.name),),
        )
        for town in area.towns
    ]


def units(
    session: Session,
    breakdown: Breakdown,
    ags: str | None,
    as_of: dt.date | None,
    *,
    demand_quota: float = DEFAULT_DEMAND_QUOTA,
) -> list[Unit]:
    """Figures per district, hamlet, kind or provider, in name order.

    Hamlets come as `HamletUnit`s with their demand; `demand_quota` (the setting) is the quota of
    hamlets without their own. For a Kreis or Land, districts and hamlets are listed municipality
    by municipality (named `district (town)`), kinds and providers added up over them.
    """
    area = region(session, ags)
    day, is_today = resolve_date(session, as_of)
    if breakdown is Breakdown.DISTRICT:
        return [
            unit for town in area.towns for unit in _districts(session, area, town, day, is_today)
        ]
    if breakdown is Breakdown.HAMLET:
        return [
            replace(unit, name=name, municipalities=members)
            for town in area.towns
            for unit in _hamlets(session, town.id, day, demand_quota)
            for name, members in [area.of_town(town, unit.name)]
        ]
    if breakdown is Breakdown.PROVIDER:
        total = sum(
            queries.address_total(session, town.id, None if is_today else day)
            for town in area.towns
        )
        by_provider = add_grouped(
            queries.counts_by_provider(session, town.id, day) for town in area.towns
        )
        return [
            Unit(name, day, AddressFigure.from_ranks(c, total), PROVIDER_METHOD, area.members)
            for name, c in sorted(by_provider.items())
        ]
    grouped = add_grouped(queries.counts_by_kind(session, town.id, day) for town in area.towns)
    return [
        Unit(name, day, AddressFigure.from_ranks(c), municipalities=area.members)
        for name, c in sorted(grouped.items())
    ]


def _districts(
    session: Session, area: Region, town: MunicipalityRow, day: dt.date, is_today: bool
) -> list[Unit]:
    """One municipality's districts in name order, then its addresses outside every district."""
    counts = _district_counts(session, town.id, day, is_today)
    named = [
        (name, counts.get(i, {}))
        for i, name in queries.district_names(session, town.id, None if is_today else day).items()
    ]
    if counts.get(None):
        named.append(("(outside every district)", counts[None]))
    result = []
    for name, ranks in named:
        unit_name, members = area.of_town(town, name)
        result.append(Unit(unit_name, day, AddressFigure.from_ranks(ranks), municipalities=members))
    return result


def _hamlets(session: Session, m: int, day: dt.date, default_quota: float) -> list[HamletUnit]:
    """Hamlet figures with sign-up share, quota (own or the default) and the gap to it."""
    demand = queries.hamlet_demand(session, m)
    result = []
    for name, counts in sorted(queries.counts_by_hamlet(session, m, day).items()):
        figure = AddressFigure.from_ranks(counts)
        share, own_quota = demand.get(name, (None, None))
        quota = own_quota if own_quota is not None else Decimal(str(default_quota))
        result.append(
            HamletUnit(
                name,
                day,
                figure,
                demand_share=None if share is None else float(share),
                demand_quota=float(quota),
                demand_quota_default=own_quota is None,
                demand_gap_addresses=demand_gap(share, quota, figure.denominator),
            )
        )
    return result


def _areas(session: Session, towns: Sequence[MunicipalityRow], day: dt.date) -> list[AreaFigure]:
    hectares = add_grouped(queries.hectares_by_kind(session, town.id, day) for town in towns)
    return [AreaFigure.from_hectares(kind, hectares.get(kind, {})) for kind in Kind]


def _schools(session: Session, towns: Sequence[MunicipalityRow], day: dt.date) -> SchoolFigures:
    schools: dict[str, int] = {c.value: 0 for c in Connection}
    pupils: dict[str, int] = {c.value: 0 for c in Connection}
    for town in towns:
        for connection, (count, enrolled) in queries.schools_by_connection(
            session, town.id, day
        ).items():
            schools[connection] += count
            pupils[connection] += enrolled
    total_pupils = sum(pupils.values())
    return SchoolFigures(
        schools_by_connection=schools,
        pupils_by_connection=pupils,
        schools=sum(schools.values()),
        pupils=total_pupils,
        pupils_on_fibre_pct=share_pct(pupils[Connection.FIBRE], total_pupils),
    )


def _reference(session: Session, area: Region, day: dt.date) -> list[ReferenceFigure]:
    """The official figures of the municipality and its Kreis, or of the Kreis or Land asked."""
    if not area.aggregated or area.key is None:
        return nearest_fibre_figures(session, area.towns[0].ags, day)
    level = "land" if len(area.key) == LAND_DIGITS else "kreis"
    return nearest_fibre_figures(session, area.key, day, levels=(level,))


def summary(session: Session, ags: str | None, as_of: dt.date | None) -> Summary:
    """Address, area, school and reference figures of the municipality (Kreis, Land) on a date."""
    area = region(session, ags)
    unit = region_unit(session, area, as_of)
    return Summary(
        unit=unit,
        areas=_areas(session, area.towns, unit.as_of),
        schools=_schools(session, area.towns, unit.as_of),
        reference=_reference(session, area, unit.as_of),
    )


def timeline(
    session: Session, ags: str | None, start: dt.date, end: dt.date | None, step: str
) -> list[TimelinePoint]:
    """The address figure on every step from start to end (default today), added up over a
    Kreis's or Land's municipalities."""
    area = region(session, ags)
    last, _ = resolve_date(session, end)
    if start > last:
        problem = Problem("query", None, "from", f"{start} is after the end date {last}")
        raise BadRequestError([problem], "invalid timeline")
    dates = step_dates(start, last, step)
    if len(dates) > 1000:
        problem = Problem("query", None, "step", f"{len(dates)} points; at most 1000 allowed")
        raise BadRequestError([problem], "invalid timeline")
    counts = add_grouped(queries.timeline_counts(session, town.id, dates) for town in area.towns)
    return [
        TimelinePoint(day, AddressFigure.from_ranks(counts.get(day, {})), area.members)
        for day in dates
    ]


def unit_outlines(session: Session, breakdown: Breakdown, ags: str | None) -> dict[str, object]:
    """Outlines of the district or hamlet units, for maps and GIS clients, by unit name."""
    if breakdown not in (Breakdown.DISTRICT, Breakdown.HAMLET):
        problem = Problem("query", None, "f", "geojson is available for districts and hamlets")
        raise BadRequestError([problem], "invalid format")
    area = region(session, ags)
    table = "districts" if breakdown is Breakdown.DISTRICT else "hamlets"
    return {
        area.of_town(town, name)[0]: geometry
        for town in area.towns
        for name, geometry in queries.unit_geometries(session, town.id, table).items()
    }
