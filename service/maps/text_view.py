"""The text view of the map ("Tabellenansicht"): every figure and feature as HTML tables.

The alternative to the map for screen readers, keyboards and print (BITV 2.0): the same figures as
`/coverage` and its breakdowns, gathered once per date and rendered with Jinja2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request

from service.core.vocabulary import GERMAN_LABELS
from service.coverage import figures
from service.coverage.rules import Breakdown, HamletUnit, Summary, Unit
from service.db import state
from service.layers import LAYERS
from service.maps import text_queries
from service.web.templates import templates

APPROXIMATE_NOTE = "Lage näherungsweise"
OUTSIDE = "(outside every district)"


@dataclass(frozen=True)
class HamletRow:
    """A Bauerschaft: its address figure and demand, with its status on the date."""

    unit: HamletUnit
    status: str
    since: dt.date | None
    approximate: bool


@dataclass(frozen=True)
class TextView:
    """Everything the text view shows for one municipality and date."""

    town: str
    summary: Summary
    districts: list[Unit]
    hamlets: list[HamletRow]
    kinds: list[Unit]
    areas: list[dict[str, Any]]
    schools: list[dict[str, Any]]
    approximate: list[str]
    towns: list[Unit] = field(default_factory=list)  # a Kreis or Land: one row per municipality

    @property
    def as_of(self) -> dt.date:
        """The date every figure refers to."""
        return self.summary.unit.as_of


def _hamlet_rows(units: list[Unit], rows: list[dict[str, Any]]) -> list[HamletRow]:
    by_name = {row["name"]: row for row in rows}
    result = []
    for unit in units:
        if not isinstance(unit, HamletUnit):
            continue
        row = by_name.get(unit.name, {})
        status = row.get("status", "")
        result.append(
            HamletRow(unit, status, row.get("status_since"), bool(row.get("approximate")))
        )
    return result


def text_view(
    session: Session, ags: str | None, as_of: dt.date | None, demand_quota: float
) -> TextView:
    """Gather the figures (the same functions `/coverage` uses) and the features of a date."""
    area = figures.region(session, ags)
    summary = figures.summary(session, ags, as_of)
    day = summary.unit.as_of
    if area.aggregated:
        return _region_view(session, area, summary, ags)
    town = state.municipality(session, ags)
    hamlet_units = figures.units(session, Breakdown.HAMLET, ags, day, demand_quota=demand_quota)
    approximate = text_queries.approximate_layers(session, town.id)
    return TextView(
        town=town.name,
        summary=summary,
        districts=figures.units(session, Breakdown.DISTRICT, ags, day),
        hamlets=_hamlet_rows(hamlet_units, text_queries.hamlets(session, town.id, day)),
        kinds=figures.units(session, Breakdown.KIND, ags, day),
        areas=text_queries.areas(session, town.id, day),
        schools=text_queries.schools(session, town.id, day),
        approximate=[name for name in LAYERS if name in approximate],
    )


def _region_view(
    session: Session, area: figures.Region, summary: Summary, ags: str | None
) -> TextView:
    """A Kreis or Land: its figure, one row per municipality and the kinds added up."""
    day = summary.unit.as_of
    return TextView(
        town=area.name,
        summary=summary,
        districts=[],
        hamlets=[],
        kinds=figures.units(session, Breakdown.KIND, ags, day),
        areas=[],
        schools=[],
        approximate=[],
        towns=figures.town_units(session, area, day),
    )


def number(value: int | float) -> str:
    """1.234 or 1.234,5: German thousands and decimal separators."""
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    whole = f"{value:,.2f}"
    return whole.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(value: float | None) -> str:
    """A percentage with two decimals and a (narrow no-break) space: 71,53 %."""
    return "" if value is None else f"{number(float(value))}\u202f%"


def share(value: float | None) -> str:
    """A share 0–1 as a whole-number percentage: 0.4 → 40 %."""
    return "" if value is None else f"{round(100 * value):d}\u202f%"


def german_date(day: dt.date | None) -> str:
    """dd.mm.yyyy, as dates are written in German documents."""
    return "" if day is None else day.strftime("%d.%m.%Y")


def label(value: str | None) -> str:
    """The German label of a vocabulary value; a unit name stays as it is."""
    if value == OUTSIDE:
        return "(außerhalb aller Ortsteile)"
    return "" if value is None else GERMAN_LABELS.get(value, value)


def approximation_sentence(layers: list[str]) -> str:
    """One sentence naming the layers the package marks as approximate, or nothing."""
    titles = [LAYERS[name].german_title for name in layers]
    if not titles:
        return ""
    listed = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " und " + titles[-1]
    return (
        f"Näherungen: Die Lage der {listed} ist laut Datenpaket näherungsweise erfasst; "
        "die Zahlen gelten für diese Näherungen und können im Einzelfall abweichen."
    )


def render(request: Request, view: TextView, query: str) -> str:
    """The page; `query` (e.g. `?as_of=2022-01-01`) is carried into the link back to the map."""
    return templates.get_template("tabelle.html").render(
        request=request,
        page="tabelle",
        view=view,
        query=query,
        note=APPROXIMATE_NOTE,
        approximation=approximation_sentence(view.approximate),
        number=number,
        percent=percent,
        share=share,
        german_date=german_date,
        label=label,
    )
