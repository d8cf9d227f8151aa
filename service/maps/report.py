"""The council report's content, gathered once for the HTML page and the PDF: tables as text.

Both outputs render the same `Report`, so the page and the PDF cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service import __version__
from service.core.vocabulary import GERMAN_LABELS, Connection, Status
from service.coverage import figures
from service.coverage.reference import SOURCE as REFERENCE_SOURCE
from service.coverage.rules import (
    NONE,
    AreaFigure,
    Breakdown,
    HamletUnit,
    ReferenceFigure,
    Summary,
    TimelinePoint,
    Unit,
)
from service.db import state
from service.layers import LAYERS
from service.maps.numbers import german_number
from service.maps.printmap import SOURCES, headline_text
from service.maps.queries import map_layers
from service.maps.report_queries import approximate_counts

AUTHOR = f"Broadband coverage service {__version__}"
TIMELINE_START = dt.date(2018, 1, 1)  # the default start of /coverage/timeline
TIMELINE_STEP = "quarter"  # monthly takes seconds to count; a council reads quarters
STATUS_COLUMNS = [
    (Status.UNDER_CONSTRUCTION, "im Bau"),
    (Status.IN_PREPARATION, "in Vorbereitung"),
    (Status.PLANNED, "geplant"),
    (Status.INSUFFICIENT_DEMAND, "Nachfrage nicht ausreichend"),
    (NONE, "ohne Ausbaugebiet"),
]
LEVELS = {"gemeinde": "Gemeinde", "kreis": "Kreis", "land": "Land", "bund": "Bund"}
APPROXIMATION = (
    "Lage näherungsweise: {layers} sind Näherungen ({count} von {total} Objekten), keine "
    "vermessenen Grenzen oder Adresspunkte. Die Zahlen zählen Adressen in diesen Flächen und "
    "sind deshalb ebenfalls Näherungen."
)
METHOD = (
    "Jede Adresse erhält den besten Status aller Ausbaugebiete und Bauerschaften, in denen sie "
    "liegt (erschlossen vor im Bau, in Vorbereitung, geplant, Nachfrage nicht ausreichend). "
    "Anteil = Adressen mit Status „erschlossen“ ÷ alle Adressen der Einheit. Stand der Status: "
    "die am Stichtag gültige Fassung."
)
REFERENCE_NOTE = (
    "Der Breitbandatlas zählt private Haushalte mit verfügbarem FTTH/B-Anschluss "
    "(≥ 1000 Mbit/s) zu seinem Stichtag; die eigene Zahl zählt Adressen in erschlossenen "
    "Gebieten. Beide messen Ähnliches, nicht dasselbe."
)


@dataclass(frozen=True)
class Table:
    """One table of the report: caption, header, rows as text, alignment per column (l/r)."""

    caption: str
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    align: str
    note: str = ""


@dataclass(frozen=True)
class Report:
    """Everything the report shows, for one municipality on one date."""

    title: str
    town: str
    ags: str
    as_of: dt.date
    created: dt.datetime
    headline: Unit
    layers: dict[str, dict[str, Any]]
    tables: list[Table]
    timeline: list[TimelinePoint]
    reference: list[ReferenceFigure]
    sources: list[str]
    notes: list[str]

    @property
    def headline_text(self) -> str:
        """'Stand … · 71,48 % der Adressen erschlossen (8.577 von 12.000)'."""
        return headline_text(self.headline)


def german_pct(value: float, digits: int = 2) -> str:
    """71.48 → '71,48 %' (with a no-break space, so the sign stays with its number)."""
    return f"{value:.{digits}f}\u00a0%".replace(".", ",")


def german_date(value: dt.date | str | None) -> str:
    """2021-07-01 → '01.07.2021'; empty if unknown."""
    if not value:
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d.%m.%Y")


def _label(value: str | None) -> str:
    return GERMAN_LABELS.get(value or "", value or "")


def _figure_cells(unit: Unit) -> tuple[str, ...]:
    figure = unit.addresses
    return (
        german_number(figure.denominator),
        german_number(figure.numerator),
        german_pct(figure.share_pct),
    )


def district_table(units: list[Unit]) -> Table:
    """Addresses per district, with the distribution of the ones not yet connected."""
    rows = [
        (
            unit.name.replace("(outside every district)", "(außerhalb der Ortsteile)"),
            *_figure_cells(unit),
            *(german_number(unit.addresses.by_status[s]) for s, _ in STATUS_COLUMNS),
        )
        for unit in units
    ]
    header = ("Ortsteil", "Adressen", "erschlossen", "Anteil", *(h for _, h in STATUS_COLUMNS))
    return Table("Adressen je Ortsteil", header, rows, "l" + "r" * (len(header) - 1))


def kind_table(units: list[Unit], areas: list[AreaFigure]) -> Table:
    """Addresses and hectares per kind of expansion area."""
    hectares = {area.kind: area for area in areas}
    rows = []
    for unit in units:
        area = hectares.get(unit.name)
        connected = area.hectares_by_status.get(Status.CONNECTED, 0.0) if area else 0.0
        rows.append(
            (
                _label(unit.name),
                *_figure_cells(unit),
                _hectares(area.total_hectares if area else 0.0),
                _hectares(connected),
                german_pct(area.connected_share_pct if area else 0.0),
            )
        )
    header = (
        "Art",
        "Adressen",
        "erschlossen",
        "Anteil",
        "Fläche (ha)",
        "erschlossen (ha)",
        "Flächenanteil",
    )
    return Table("Adressen und Flächen je Art des Ausbaugebiets", header, rows, "lrrrrrr")


def _hectares(value: float) -> str:
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def hamlet_table(units: list[Unit], layer: dict[str, Any]) -> Table:
    """Bauerschaften: status, addresses, and the sign-ups against the provider's quota."""
    props = {f["properties"]["name"]: f["properties"] for f in layer["features"]}
    demand = any(isinstance(unit, HamletUnit) for unit in units)
    rows = []
    for unit in units:
        own = props.get(unit.name, {})
        since = german_date(own.get("status_since"))
        status = _label(own.get("status")) + (f" seit {since}" if since else "")
        figure = unit.addresses
        row: tuple[str, ...] = (
            unit.name,
            status,
            german_number(figure.denominator),
            german_pct(figure.share_pct),
        )
        if isinstance(unit, HamletUnit):
            share = "–" if unit.demand_share is None else german_pct(100 * unit.demand_share, 0)
            gap = unit.demand_gap_addresses
            row += (share, german_pct(100 * unit.demand_quota, 0), "–" if gap is None else str(gap))
        rows.append(row)
    header: tuple[str, ...] = ("Bauerschaft", "Status", "Adressen", "Anteil erschlossen")
    note = ""
    if demand:
        header += ("Anmeldungen", "Quote", "fehlende Anmeldungen")
        note = (
            "Anmeldungen: Anteil der Adressen mit Vertrag; Quote: was der Anbieter für den Ausbau "
            "verlangt; fehlende Anmeldungen: Adressen, die sich noch anmelden müssten."
        )
    return Table("Bauerschaften", header, rows, "ll" + "r" * (len(header) - 2), note)


def school_table(layer: dict[str, Any]) -> Table:
    """Every school with its connection; the note sums up pupils on fibre."""
    schools = sorted((f["properties"] for f in layer["features"]), key=lambda p: p["name"])
    rows = [
        (
            p["name"],
            p.get("school_type") or "",
            german_number(int(p.get("pupils") or 0)),
            _label(p.get("connection")),
            german_date(p.get("status_since")),
        )
        for p in schools
    ]
    pupils = sum(int(p.get("pupils") or 0) for p in schools)
    fibre = sum(int(p.get("pupils") or 0) for p in schools if p["connection"] == Connection.FIBRE)
    share = german_pct(100 * fibre / pupils if pupils else 0.0, 1)
    note = (
        f"{len(schools)} Schulen mit {german_number(pupils)} Schüler*innen; davon "
        f"{german_number(fibre)} ({share}) an Schulen mit Glasfaser."
    )
    header = ("Schule", "Schulform", "Schüler*innen", "Anschluss", "seit")
    return Table("Schulen", header, rows, "llrll", note)


def reference_table(summary: Summary, town: str) -> Table:
    """Our headline beside the official Breitbandatlas figures nearest to the date."""
    unit = summary.unit
    rows: list[tuple[str, ...]] = [
        (
            "eigene Zahl",
            f"Gemeinde {town}",
            german_date(unit.as_of),
            "Adressen in erschlossenen Gebieten",
            german_pct(unit.addresses.share_pct),
        )
    ]
    for figure in summary.reference:
        level = LEVELS.get(figure.level, figure.level)
        where = f"{level} {town}" if figure.level == "gemeinde" else f"{level} ({figure.ags})"
        rows.append(
            (
                "Breitbandatlas",
                where,
                german_date(figure.stand),
                f"{figure.indicator} ({figure.segment})",
                german_pct(figure.value_pct),
            )
        )
    header = ("Quelle", "Gebiet", "Stand", "Kennzahl", "Wert")
    return Table("Vergleich mit dem Breitbandatlas", header, rows, "llllr", REFERENCE_NOTE)


def approximation_note(counts: dict[str, tuple[int, int]]) -> str | None:
    """One sentence naming the layers whose features are approximations, if any are."""
    approximate = {name: c for name, c in counts.items() if c[0]}
    if not approximate:
        return None
    titles = [LAYERS[name].german_title for name in approximate]
    layers = ", ".join(titles[:-1]) + " und " + titles[-1] if len(titles) > 1 else titles[0]
    count = sum(c[0] for c in approximate.values())
    total = sum(c[1] for c in approximate.values())
    return APPROXIMATION.format(
        layers=layers, count=german_number(count), total=german_number(total)
    )


def build_report(
    session: Session, ags: str | None, as_of: dt.date | None, demand_quota: float
) -> Report:
    """Gather figures, layers and notes of one municipality on one date."""
    town = state.municipality(session, ags)
    summary = figures.summary(session, town.ags, as_of)
    day = summary.unit.as_of
    past = figures.past_date(session, as_of)  # a past date: the features as they stood then
    layers = map_layers(session, town.id, day, 25832, past)

    def units(breakdown: Breakdown) -> list[Unit]:
        return figures.units(session, breakdown, town.ags, day, demand_quota=demand_quota)

    tables = [
        reference_table(summary, town.name),
        district_table(units(Breakdown.DISTRICT)),
        kind_table(units(Breakdown.KIND), summary.areas),
        hamlet_table(units(Breakdown.HAMLET), layers["hamlets"]),
        school_table(layers["schools"]),
    ]
    start = min(TIMELINE_START, day)
    notes = [METHOD]
    if (note := approximation_note(approximate_counts(session, town.id, past))) is not None:
        notes.insert(0, note)
    return Report(
        title=f"Glasfaserausbau in {town.name} – Sachstandsbericht",
        town=town.name,
        ags=town.ags,
        as_of=day,
        created=dt.datetime.now(dt.UTC).replace(microsecond=0),
        headline=summary.unit,
        layers=layers,
        tables=tables,
        timeline=figures.timeline(session, town.ags, start, day, TIMELINE_STEP),
        reference=summary.reference,
        sources=[*SOURCES.split(" · ")[:-1], REFERENCE_SOURCE],
        notes=notes,
    )
