"""Coverage figures for the API and the CLI: `db.coverage` queries turned into domain objects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from service.core.errors import BadRequestError, Problem
from service.core.settings import DEFAULT_DEMAND_QUOTA
from service.core.vocabulary import Connection, Kind
from service.coverage import queries
from service.coverage.reference_queries import nearest_fibre_figures
from service.coverage.rules import (
    PROVIDER_METHOD,
    AddressFigure,
    AreaFigure,
    Breakdown,
    HamletUnit,
    SchoolFigures,
    Summary,
    TimelinePoint,
    Unit,
    demand_gap,
    share_pct,
    step_dates,
)
from service.db import state


def resolve_date(session: Session, as_of: dt.date | None) -> tuple[dt.date, bool]:
    """The date asked for (default: today), and whether it is today (the maintained state)."""
    today = state.today(session)
    if as_of is not None and as_of > today:
        problem = Problem("query", None, "as_of", f"{as_of} lies in the future (today is {today})")
        raise BadRequestError([problem], "invalid as_of")
    return (as_of or today), (as_of is None or as_of == today)


def _district_counts(
    session: Session, m: int, as_of: dt.date, is_today: bool
) -> dict[int | None, queries.RankCounts]:
    if is_today:
        return queries.current_counts_by_district(session, m)
    return queries.counts_by_district(session, m, as_of)


def municipality_unit(session: Session, ags: str | None, as_of: dt.date | None) -> Unit:
    """The headline figure: connected addresses of the whole municipality."""
    return headline(session, state.municipality(session, ags), as_of)


def headline(session: Session, town: state.MunicipalityRow, as_of: dt.date | None) -> Unit:
    """The headline figure of a municipality already looked up."""
    day, is_today = resolve_date(session, as_of)
    totals: dict[int, int] = {}
    for counts in _district_counts(session, town.id, day, is_today).values():
        for rank, count in counts.items():
            totals[rank] = totals.get(rank, 0) + count
    return Unit(town.name, day, AddressFigure.from_ranks(totals))


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
    hamlets without their own.
    """
    town = state.municipality(session, ags)
    day, is_today = resolve_date(session, as_of)
    if breakdown is Breakdown.DISTRICT:
        counts = _district_counts(session, town.id, day, is_today)
        names = queries.district_names(session, town.id)
        result = [
            Unit(name, day, AddressFigure.from_ranks(counts.get(i, {})))
            for i, name in names.items()
        ]
        outside = counts.get(None)
        if outside:
            result.append(Unit("(outside every district)", day, AddressFigure.from_ranks(outside)))
        return result
    if breakdown is Breakdown.PROVIDER:
        total = queries.address_total(session, town.id)
        by_provider = queries.counts_by_provider(session, town.id, day)
        return [
            Unit(name, day, AddressFigure.from_ranks(c, total), PROVIDER_METHOD)
            for name, c in sorted(by_provider.items())
        ]
    if breakdown is Breakdown.HAMLET:
        return list(_hamlets(session, town.id, day, demand_quota))
    grouped = queries.counts_by_kind(session, town.id, day)
    return [Unit(name, day, AddressFigure.from_ranks(c)) for name, c in sorted(grouped.items())]


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


def _areas(session: Session, m: int, day: dt.date) -> list[AreaFigure]:
    hectares = queries.hectares_by_kind(session, m, day)
    return [AreaFigure.from_hectares(kind, hectares.get(kind, {})) for kind in Kind]


def _schools(session: Session, m: int, day: dt.date) -> SchoolFigures:
    rows = queries.schools_by_connection(session, m, day)
    schools = {c.value: rows.get(c, (0, 0))[0] for c in Connection}
    pupils = {c.value: rows.get(c, (0, 0))[1] for c in Connection}
    total_pupils = sum(pupils.values())
    return SchoolFigures(
        schools_by_connection=schools,
        pupils_by_connection=pupils,
        schools=sum(schools.values()),
        pupils=total_pupils,
        pupils_on_fibre_pct=share_pct(pupils[Connection.FIBRE], total_pupils),
    )


def summary(session: Session, ags: str | None, as_of: dt.date | None) -> Summary:
    """Address, area, school and reference figures of the municipality on one date."""
    town = state.municipality(session, ags)
    unit = headline(session, town, as_of)
    return Summary(
        unit=unit,
        areas=_areas(session, town.id, unit.as_of),
        schools=_schools(session, town.id, unit.as_of),
        reference=nearest_fibre_figures(session, town.ags, unit.as_of),
    )


def timeline(
    session: Session, ags: str | None, start: dt.date, end: dt.date | None, step: str
) -> list[TimelinePoint]:
    """The municipality's address figure on every step from start to end (default today)."""
    town = state.municipality(session, ags)
    last, _ = resolve_date(session, end)
    if start > last:
        problem = Problem("query", None, "from", f"{start} is after the end date {last}")
        raise BadRequestError([problem], "invalid timeline")
    dates = step_dates(start, last, step)
    if len(dates) > 1000:
        problem = Problem("query", None, "step", f"{len(dates)} points; at most 1000 allowed")
        raise BadRequestError([problem], "invalid timeline")
    total = queries.address_total(session, town.id)
    counts = queries.timeline_counts(session, town.id, dates)
    return [TimelinePoint(day, AddressFigure.from_ranks(counts[day], total)) for day in dates]


def unit_outlines(session: Session, breakdown: Breakdown, ags: str | None) -> dict[str, object]:
    """Outlines of the district or hamlet units, for maps and GIS clients."""
    if breakdown not in (Breakdown.DISTRICT, Breakdown.HAMLET):
        problem = Problem("query", None, "f", "geojson is available for districts and hamlets")
        raise BadRequestError([problem], "invalid format")
    town = state.municipality(session, ags)
    table = "districts" if breakdown is Breakdown.DISTRICT else "hamlets"
    return dict(queries.unit_geometries(session, town.id, table))
