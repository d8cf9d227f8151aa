"""Coverage figures as JSON-ready dicts and as CSV a German spreadsheet opens correctly."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from service.core.spreadsheet import neutralised
from service.core.vocabulary import GERMAN_LABELS
from service.coverage.rules import (
    NONE,
    STATUS_ORDER,
    AddressFigure,
    HamletUnit,
    Summary,
    TimelinePoint,
    Unit,
)

BOM = "\ufeff"
STATUS_HEADERS = [
    "ohne Ausbaugebiet" if status == NONE else GERMAN_LABELS[status] for status in STATUS_ORDER
]
UNIT_HEADERS = [
    "Einheit",
    "Stand",
    "Adressen",
    "davon erschlossen",
    "Anteil erschlossen (%)",
    *STATUS_HEADERS,
]
DEMAND_HEADERS = [
    "Anmeldungen (%)",
    "Mindestquote (%)",
    "Quote voreingestellt",
    "fehlende Anmeldungen",
]
HAMLET_HEADERS = [*UNIT_HEADERS, *DEMAND_HEADERS]
MEMBERS_HEADER = "Gemeinden"


def _without_empty_members(data: dict[str, Any]) -> dict[str, Any]:
    """Only a Kreis or Land answer says `municipalities`: one municipality's stays as it was."""
    if not data.get("municipalities"):
        data.pop("municipalities", None)
    return data


def unit_json(unit: Unit) -> dict[str, Any]:
    """The unit object clients rely on: name, as_of, addresses{numerator, …}, method, and for a
    Kreis or Land the municipalities added up ([{ags, name}])."""
    return _without_empty_members(asdict(unit))


def summary_json(summary: Summary) -> dict[str, Any]:
    """The municipality unit plus area, school and reference figures."""
    return {
        **unit_json(summary.unit),
        "areas": [asdict(area) for area in summary.areas],
        "schools": asdict(summary.schools),
        "reference": [asdict(figure) for figure in summary.reference],
    }


def timeline_json(points: list[TimelinePoint]) -> list[dict[str, Any]]:
    """One object per date, with the same `addresses` object as a unit."""
    return [_without_empty_members(asdict(point)) for point in points]


def _decimal(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _figure_cells(figure: AddressFigure) -> list[str]:
    counts = [str(figure.by_status[status]) for status in STATUS_ORDER]
    return [str(figure.denominator), str(figure.numerator), _decimal(figure.share_pct), *counts]


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return BOM + buffer.getvalue()


def _demand_cells(unit: HamletUnit) -> list[str]:
    share = "" if unit.demand_share is None else _decimal(100 * unit.demand_share)
    gap = "" if unit.demand_gap_addresses is None else str(unit.demand_gap_addresses)
    default = "ja" if unit.demand_quota_default else "nein"
    return [share, _decimal(100 * unit.demand_quota), default, gap]


def _members_cell(unit: Unit) -> str:
    return ", ".join(f"{town.name} ({town.ags})" for town in unit.municipalities)


def units_csv(units: list[Unit]) -> str:
    """Semicolons and decimal commas, UTF-8 with BOM: what German Excel and LibreOffice expect.

    Names that a spreadsheet would run as a formula get a leading `'`; figures stay numbers.

    Hamlets get four more columns: sign-ups and quota in per cent, whether the quota is the
    default, and the sign-ups still missing (empty where the share is unknown). Figures of a Kreis
    or Land end with the municipalities they add up ("Name (AGS), …").
    """
    hamlets = bool(units) and all(isinstance(u, HamletUnit) for u in units)
    members = any(unit.municipalities for unit in units)
    rows = []
    for unit in units:
        row = [str(neutralised(unit.name)), unit.as_of.isoformat(), *_figure_cells(unit.addresses)]
        if hamlets and isinstance(unit, HamletUnit):
            row += _demand_cells(unit)
        if members:
            row.append(str(neutralised(_members_cell(unit))))
        rows.append(row)
    header = HAMLET_HEADERS if hamlets else UNIT_HEADERS
    return _csv([*header, MEMBERS_HEADER] if members else header, rows)


def timeline_csv(points: list[TimelinePoint]) -> str:
    """The timeline as CSV, one row per date."""
    header = ["Stand", *UNIT_HEADERS[2:]]
    return _csv(header, [[p.as_of.isoformat(), *_figure_cells(p.addresses)] for p in points])


def units_geojson(units: list[Unit], outlines: dict[str, object]) -> dict[str, Any]:
    """A FeatureCollection with flat properties, ready for a choropleth in QGIS or geopandas."""
    features = []
    for unit in units:
        figure = unit.addresses
        properties: dict[str, Any] = {
            "name": unit.name,
            "as_of": unit.as_of.isoformat(),
            "numerator": figure.numerator,
            "denominator": figure.denominator,
            "share_pct": figure.share_pct,
            **figure.by_status,
        }
        if isinstance(unit, HamletUnit):
            properties |= {
                "demand_share": unit.demand_share,
                "demand_quota": unit.demand_quota,
                "demand_quota_default": unit.demand_quota_default,
                "demand_gap_addresses": unit.demand_gap_addresses,
            }
        if unit.municipalities:
            properties["municipalities"] = _members_cell(unit)
        geometry = outlines.get(unit.name)
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}
