"""Pure rules of the workspace: form values to feature properties, German labels, effect texts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from service.core.errors import Problem
from service.core.vocabulary import GERMAN_LABELS
from service.layers import Collection, FieldType

LOCAL_TIME = ZoneInfo("Europe/Berlin")
OVERVIEW_LAYERS = ("areas", "hamlets", "schools")
SORTABLE = ("name", "status", "since", "provider", "funding", "kind", "addresses", "connected")
PAGE_SIZE = 50

FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "kind": "Art",
    "status": "Status",
    "funding": "Förderung",
    "provider": "Anbieter",
    "status_since": "Status seit",
    "notes": "Anmerkungen",
    "approximate": "Geometrie geschätzt",
    "external_id": "Externe Kennung",
    "demand_share": "Anschlussquote (0 bis 1)",
    "demand_quota": "Mindestquote Nachfrage (0 bis 1; leer: Voreinstellung)",
    "school_type": "Schulform",
    "pupils": "Schülerzahl",
    "connection": "Anschluss",
    "school_number": "Schulnummer",
    "street": "Straße",
    "postcode": "Postleitzahl",
    "house_number": "Hausnummer",
    "geometry": "Geometrie",
    "ags": "Gemeindeschlüssel",
}
OPERATIONS = {"insert": "angelegt", "update": "geändert", "delete": "gelöscht"}
MESSAGES = {"required, but empty": "Pflichtfeld: bitte ausfüllen."}


class VersionConflictError(Exception):
    """The feature changed since the form was loaded; nothing was written."""

    def __init__(self, stored: int, sent: int) -> None:
        super().__init__(f"stored version {stored}, form version {sent}")
        self.stored = stored
        self.sent = sent


def version_check(sent: int) -> Any:
    """The check `writes.change` runs under the row lock: the form's version must be current."""

    def check(stored: int) -> None:
        if stored != sent:
            raise VersionConflictError(stored, sent)

    return check


def label(name: str) -> str:
    """The German label of a field."""
    return FIELD_LABELS.get(name, name)


def _text_label(value: str) -> str:
    if value in GERMAN_LABELS:
        return GERMAN_LABELS[value]
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return german_date(dt.date.fromisoformat(value))
        except ValueError:
            return value
    return value


def value_label(value: Any) -> str:
    """A stored or logged value as a person reads it: vocabulary in German, dates dd.mm.yyyy."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, dt.date):
        return german_date(value)
    return _text_label(value) if isinstance(value, str) else str(value)


def german_date(day: dt.date | None) -> str:
    """dd.mm.yyyy, the way dates are written in German documents."""
    return "" if day is None else day.strftime("%d.%m.%Y")


def map_of_day(moment: dt.datetime) -> dict[str, str]:
    """The public map as it stood at the end of the day of a change, with what changed that
    day outlined (`moment` as the database gives it, so its date is the database's day)."""
    day = moment.date()
    before = day - dt.timedelta(days=1)
    return {
        "href": f"/map?as_of={day.isoformat()}&compare={before.isoformat()}",
        "label": f"Karte vom {german_date(day)}, Änderungen dieses Tages umrandet",
    }


def german_time(moment: dt.datetime) -> str:
    """Local date and time of a change, e.g. 03.12.2026, 14:05 Uhr."""
    return moment.astimezone(LOCAL_TIME).strftime("%d.%m.%Y, %H:%M Uhr")


def german_number(value: float, decimals: int = 0, signed: bool = False) -> str:
    """German digit grouping and decimal comma: 1.234,56."""
    text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


@dataclass(frozen=True)
class FormField:
    """One input of the edit form."""

    name: str
    label: str
    kind: str  # "select", "date", "number", "checkbox", "text", "textarea"
    value: str
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    step: str = ""
    error: str | None = None


def _input_kind(spec_kind: FieldType, name: str, has_choices: bool) -> tuple[str, str]:
    if has_choices:
        return "select", ""
    if spec_kind is FieldType.DATE:
        return "date", ""
    if spec_kind is FieldType.INTEGER:
        return "number", "1"
    if spec_kind is FieldType.SHARE:
        return "number", "0.01"
    if spec_kind is FieldType.BOOLEAN:
        return "checkbox", ""
    return ("textarea" if name == "notes" else "text"), ""


def form_text(value: Any) -> str:
    """A stored value as an input's value (ISO dates for `<input type=date>`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def form_fields(
    collection: Collection, values: Mapping[str, Any], errors: Mapping[str, str]
) -> list[FormField]:
    """Every writable field of a layer, with its vocabulary as German choices."""
    fields = []
    for name, spec in collection.fields.items():
        choices: tuple[tuple[str, str], ...] = ()
        if spec.allowed is not None:
            choices = tuple((m.value, GERMAN_LABELS.get(m.value, m.value)) for m in spec.allowed)
        kind, step = _input_kind(spec.kind, name, bool(choices))
        fields.append(
            FormField(
                name,
                label(name),
                kind,
                form_text(values.get(name)),
                spec.required,
                choices,
                step,
                errors.get(name),
            )
        )
    return fields


def properties_from_form(collection: Collection, form: Mapping[str, str]) -> dict[str, Any]:
    """Form values as a merge patch's properties: empty removes (→ default or 'required')."""
    properties: dict[str, Any] = {}
    for name, spec in collection.fields.items():
        if spec.kind is FieldType.BOOLEAN:
            properties[name] = "true" if form.get(name) else "false"
            continue
        raw = form.get(name, "").strip()
        properties[name] = raw or None
    return properties


def patch_document(properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch of the properties only; the geometry stays as stored."""
    return {"properties": properties}


def field_errors(problems: list[Problem]) -> tuple[dict[str, str], list[str]]:
    """Problems by field (German where we know the message), and those that name no field."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for problem in problems:
        message = MESSAGES.get(problem.message, problem.message)
        if problem.field is None:
            general.append(message)
        else:
            by_field[problem.field] = (
                f"{by_field[problem.field]} {message}" if problem.field in by_field else message
            )
    return by_field, general


@dataclass(frozen=True)
class Figures:
    """What the preview measures: the headline figure and the feature's own addresses."""

    connected: int
    addresses: int
    share_pct: float
    feature_addresses: int
    feature_connected: int


def effect_text(name: str, new_status: str | None, before: Figures, after: Figures) -> str:
    """E.g. 'Kernstadt Süd → erschlossen: +405 Adressen, 71,53 % → 74,91 %'."""
    head = name if new_status is None else f"{name} → {value_label(new_status)}"
    delta = german_number(after.connected - before.connected, signed=True)
    return (
        f"{head}: {delta} Adressen, {german_number(before.share_pct, 2)} % → "
        f"{german_number(after.share_pct, 2)} %"
    )


def feature_text(after: Figures) -> str:
    """The feature's own addresses after the change."""
    return (
        f"Im Gebiet liegen {german_number(after.feature_addresses)} Adressen, davon "
        f"{german_number(after.feature_connected)} erschlossen."
    )


def restored_document(collection: Collection, logged: Mapping[str, Any]) -> dict[str, Any]:
    """A logged row (the trigger's `to_jsonb`) as a GeoJSON Feature in the storage CRS.

    Its status date is left out: a restored status holds from the day it is restored (the one
    date rule), so restoring never back-dates a status and never rewrites the status history.
    """
    properties = {name: logged.get(name) for name in collection.fields if name != "status_since"}
    geometry = logged.get("geom")
    if isinstance(geometry, dict):
        geometry = {key: value for key, value in geometry.items() if key != "crs"}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


ORIGINAL = "orig-"
"""Prefix of the hidden inputs that carry the values the form was opened with."""


def read_texts(collection: Collection, values: Mapping[str, Any]) -> dict[str, str]:
    """Every field as the form showed it, to tell later which fields the user changed."""
    return {name: form_text(values.get(name)) for name in collection.fields}


def posted_text(collection: Collection, form: Mapping[str, str], name: str) -> str:
    """A posted field as text comparable with `read_texts` (a checkbox: "true" or "")."""
    if collection.fields[name].kind is FieldType.BOOLEAN:
        return "true" if form.get(name) else ""
    return form.get(name, "").strip()


def touched(collection: Collection, form: Mapping[str, str]) -> set[str]:
    """The fields this user changed since opening the form (all, without the originals)."""
    if not any(key.startswith(ORIGINAL) for key in form):
        return set(collection.fields)
    return {
        name
        for name in collection.fields
        if posted_text(collection, form, name) != form.get(ORIGINAL + name, "").strip()
    }


@dataclass(frozen=True)
class Difference:
    """One field of the conflict page: what was read, what is stored now, what I entered."""

    name: str
    label: str
    read: str
    theirs: str
    mine: str
    outcome: str  # "same", "theirs" (kept), "mine" (applied), "both" (mine wins if confirmed)


def merge(
    collection: Collection, stored: Mapping[str, Any], form: Mapping[str, str]
) -> tuple[list[Difference], dict[str, str]]:
    """Three-way merge: my changed fields go on top of the stored version, theirs stay.

    Returns the rows of the conflict page and the form values that apply exactly that.
    """
    mine_touched = touched(collection, form)
    stored_texts = read_texts(collection, stored)
    rows, merged = [], {}
    for name in collection.fields:
        read = form.get(ORIGINAL + name, "").strip()
        theirs = stored_texts[name]
        mine = posted_text(collection, form, name)
        theirs_changed = theirs != read
        if name in mine_touched and mine != theirs:
            outcome = "both" if theirs_changed else "mine"
        else:
            outcome = "theirs" if theirs_changed else "same"
        merged[name] = mine if name in mine_touched else theirs
        rows.append(
            Difference(
                name,
                label(name),
                value_label(read or None),
                value_label(stored.get(name)),
                value_label(mine or None),
                outcome,
            )
        )
    return rows, merged


def changed_fields(properties: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """A log entry's changes as (German field label, old, new)."""
    return [
        (label(name), value_label(change.get("old")), value_label(change.get("new")))
        for name, change in properties.items()
    ]
