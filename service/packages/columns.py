"""Column names and values providers use, mapped to the vocabulary; a TOML file can extend it.

Names and values match without regard to case, spaces, hyphens or punctuation, with umlauts
written as `ä`, `ae` or `a` and `ß` as `ss`. A Shapefile cuts column names to 10 characters (10
bytes in UTF-8): every known name so cut is recognised too, unless it is the cut of two names
that stand for different fields of the layer.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.core.errors import InvalidDataError, Problem
from service.core.vocabulary import GERMAN_LABELS
from service.layers import LAYERS, FieldType, Layer
from service.packages.validation import feature_label, is_missing

SHAPEFILE_NAME_LIMIT = 10
"""Characters (and bytes) a dBASE column name keeps; longer names are cut."""

# Column names as providers and planners spell them. Every field name of every layer is known
# too, and any known name cut to 10 characters (so the Shapefile spellings are not listed).
DEFAULT_COLUMNS: dict[str, str] = {
    "Bezeichnung": "name",
    "Gebiet": "name",
    "Gebietsname": "name",
    "Schule": "name",
    "Schulname": "name",
    "Bauerschaft": "name",
    "Ortsteil": "name",
    "Ausbaustatus": "status",
    "Art": "kind",
    "Gebietsart": "kind",
    "Gebietstyp": "kind",
    "Förderung": "funding",
    "Finanzierung": "funding",
    "Ausbauart": "funding",
    "Anbieter": "provider",
    "Netzbetreiber": "provider",
    "Betreiber": "provider",
    "seit": "status_since",
    "Status seit": "status_since",
    "Statusdatum": "status_since",
    "Bemerkung": "notes",
    "Bemerkungen": "notes",
    "Hinweis": "notes",
    "genähert": "approximate",
    "Objekt-ID": "external_id",
    "Gebiets-ID": "external_id",
    "Nachfragequote": "demand_share",
    "Quote": "demand_share",
    "Mindestquote": "demand_quota",
    "Zielquote": "demand_quota",
    "Schulform": "school_type",
    "Schulart": "school_type",
    "Schüler": "pupils",
    "Schülerzahl": "pupils",
    "Schülerinnen": "pupils",
    "Anschluss": "connection",
    "Anbindung": "connection",
    "Schulnummer": "school_number",
    "Straße": "street",
    "Hausnummer": "house_number",
    "HNr": "house_number",
    "PLZ": "postcode",
    "Postleitzahl": "postcode",
}

# Values as planners and providers write them. The vocabulary's own values and its German labels
# (`service.core.vocabulary`) are known as well. A status may carry the funding in brackets:
# "erschlossen (gefördert)" is status `connected` with funding `funded`.
#
# Left out on purpose, because what they mean is unclear (map them in a mapping file if a
# delivery means something definite by them):
# - status: "unterversorgt" (describes today's supply, not a stage of the roll-out), "weißer
#   Fleck" / "grauer Fleck" (eligibility for funding), "Markterkundung" (a survey, before any
#   plan), "Nachfragebündelung" / "Nachfragebündelung läuft" (the demand drive is still open),
#   "teilweise erschlossen" (part of the area only), "beantragt" and "Ausschreibung" (funding
#   applied for or put out to tender: planned or in preparation), "offen", "in Prüfung".
# - kind: "Mischgebiet", "Dorfgebiet" (housing and business alike), "Innenbereich" (built-up
#   land, commercial included), "Einzellage" (a single building, inside or outside a village).
# - funding: "Graue-Flecken-Förderung" and programme names (funded, but which programme is not
#   recorded), "kommunal" (the town may build with or without a grant).
# - connection: "VDSL", "DSL", "Vectoring", "Kupfer", "Kabel", "Koax", "Richtfunk", "Satellit",
#   "5G" (none of fibre, commitment, LTE or none).
DEFAULT_VALUES: dict[str, dict[str, str]] = {
    "status": {
        "erschlossen": "connected",
        "versorgt": "connected",
        "in Betrieb": "connected",
        "fertiggestellt": "connected",
        "ausgebaut": "connected",
        "Ausbau abgeschlossen": "connected",
        "im Bau": "under_construction",
        "in Bau": "under_construction",
        "Bau": "under_construction",
        "im Ausbau": "under_construction",
        "in Ausbau": "under_construction",
        "Ausbau": "under_construction",
        "in Vorbereitung": "in_preparation",
        "Vorbereitung": "in_preparation",
        "in Planung": "planned",
        "geplant": "planned",
        "Planung": "planned",
        "Nachfrage nicht ausreichend": "insufficient_demand",
        "nicht ausreichend": "insufficient_demand",
        "Nachfrage zu gering": "insufficient_demand",
        "Nachfragebündelung gescheitert": "insufficient_demand",
        "Nachfragebündelung nicht erfolgreich": "insufficient_demand",
        "Nachfrageschwelle nicht erreicht": "insufficient_demand",
    },
    "kind": {
        "Siedlung": "settlement",
        "Siedlungsgebiet": "settlement",
        "Wohngebiet": "settlement",
        "Ortslage": "settlement",
        "Gewerbe": "commercial",
        "Gewerbegebiet": "commercial",
        "Industriegebiet": "commercial",
        "Gewerbe- und Industriegebiet": "commercial",
        "Außenbereich": "outskirts",
    },
    "funding": {
        "gefördert": "funded",
        "öffentlich gefördert": "funded",
        "Förderung": "funded",
        "geförderter Ausbau": "funded",
        "eigenwirtschaftlich": "private",
        "eigenwirtschaftlicher Ausbau": "private",
        "privatwirtschaftlich": "private",
        "privat": "private",
    },
    "connection": {
        "Glasfaser": "fibre",
        "Glasfaseranschluss": "fibre",
        "FTTH": "fibre",
        "FTTB": "fibre",
        "Ausbauzusage": "commitment",
        "Zusage": "commitment",
        "LTE": "lte",
        "Mobilfunk": "lte",
        "kein": "none",
        "keiner": "none",
        "keine": "none",
        "ohne": "none",
    },
}

QUALIFIERS: dict[str, str] = {"status": "funding"}
"""A field whose value may carry another field's value in brackets: `erschlossen (gefördert)`."""

# Housekeeping columns GIS software adds; they carry nothing to import.
DEFAULT_IGNORED = (
    "fid",
    "OBJECTID",
    "ogc_fid",
    "gml_id",
    "Shape_Length",
    "Shape_Area",
    "id",
    "updated_at",
)
GERMAN_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
BRACKETED = re.compile(r"^\s*(.+?)\s*[(\[]\s*(.+?)\s*[)\]]\s*$")
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def _folded(text: str, umlauts_as_e: bool) -> str:
    """Lower case letters and digits only; ß as ss, umlauts as ae/oe/ue or as plain vowels."""
    folded = unicodedata.normalize("NFC", text).casefold()  # casefold writes ß as ss
    if umlauts_as_e:
        folded = folded.translate(_TRANSLITERATION)
    folded = unicodedata.normalize("NFKD", folded)  # é → e + accent, which is not alphanumeric
    return "".join(c for c in folded if c.isalnum())


def key(text: str) -> str:
    """How a name or value from a file is compared: `Förderung`, `FOERDERUNG` are one key."""
    return _folded(text, umlauts_as_e=True)


def spellings(text: str) -> set[str]:
    """The keys a known name or value answers to: `Förderung` also as `Forderung`."""
    return {_folded(text, umlauts_as_e=True), _folded(text, umlauts_as_e=False)}


def shapefile_cuts(name: str) -> set[str]:
    """What a Shapefile may keep of a longer name: 10 characters, or 10 bytes of UTF-8.

    The name may have been written with umlauts or as ae/oe/ue/ss before it was cut.
    """
    cuts = set()
    for spelling in (name, name.translate(_TRANSLITERATION).replace("ß", "ss")):
        if len(spelling.encode("utf-8")) <= SHAPEFILE_NAME_LIMIT:
            continue
        cuts.add(spelling[:SHAPEFILE_NAME_LIMIT])
        encoded = spelling.encode("utf-8")[:SHAPEFILE_NAME_LIMIT]
        cuts.add(encoded.decode("utf-8", errors="ignore"))
    return cuts


def _vocabularies() -> dict[str, type[StrEnum]]:
    """Each field with a vocabulary, and its vocabulary (the same for every layer)."""
    return {
        name: spec.allowed
        for layer in LAYERS.values()
        for name, spec in layer.fields.items()
        if spec.allowed is not None
    }


class _MappingFile(BaseModel):
    """The TOML a coordinator writes: extra column names, values and columns to ignore."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)


class Mapping:
    """The default mapping, extended by an optional TOML file (whose entries win)."""

    def __init__(
        self,
        columns: dict[str, str] | None = None,
        values: dict[str, dict[str, str]] | None = None,
        ignore: list[str] | None = None,
    ) -> None:
        known = {name: name for layer in LAYERS.values() for name in layer.fields}
        known |= DEFAULT_COLUMNS
        names: dict[str, tuple[str, str]] = {}  # by key: (name as written, field)
        for name, field in [*known.items(), *(columns or {}).items()]:
            names[key(name)] = (name, field)
        self.columns = {
            spelled: field for name, field in names.values() for spelled in spellings(name)
        }
        self.cuts: dict[str, dict[str, set[str]]] = {}  # by key: field → names cut to it
        for name, field in names.values():
            for cut in shapefile_cuts(name):
                for spelled in spellings(cut):
                    self.cuts.setdefault(spelled, {}).setdefault(field, set()).add(name)
        self.values: dict[str, dict[str, str]] = {}
        for field, enum in _vocabularies().items():
            table = self.values.setdefault(field, {})
            for member in enum:
                for text in (member.value, GERMAN_LABELS[member]):
                    table |= dict.fromkeys(spellings(text), member.value)
        for field, given in [*DEFAULT_VALUES.items(), *(values or {}).items()]:
            table = self.values.setdefault(field, {})
            for text, value in given.items():
                table |= dict.fromkeys(spellings(text), value)
        ignored = [*DEFAULT_IGNORED, *(ignore or [])]
        self.ignored = {s for name in ignored for s in spellings(name)}
        self.ignored |= {
            s for name in ignored for cut in shapefile_cuts(name) for s in spellings(cut)
        }

    @classmethod
    def from_toml(cls, path: Path) -> Mapping:
        """Read a mapping file; a mistake in it names the file and the key."""
        try:
            document = _MappingFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidDataError(
                [Problem("mapping", path.name, None, f"not valid TOML: {exc}")], "invalid mapping"
            ) from exc
        except RecursionError as exc:  # a mapping file is three levels deep, never thousands
            message = "nested too deeply: a mapping file has [columns], [values.<field>], ignore"
            raise InvalidDataError(
                [Problem("mapping", path.name, None, message)], "invalid mapping"
            ) from exc
        except ValidationError as exc:
            problems = [
                Problem("mapping", path.name, ".".join(map(str, e["loc"])), e["msg"])
                for e in exc.errors()
            ]
            raise InvalidDataError(problems, "invalid mapping") from exc
        return cls(document.columns, document.values, document.ignore)

    def field_for(self, column: str, fields: Collection[str]) -> str | None:
        """The field a column stands for: a known name, or one of `fields` cut to 10 characters."""
        found = self.columns.get(key(column))
        if found is not None:
            return found
        candidates = self.cut_candidates(column, fields)
        return next(iter(candidates)) if len(candidates) == 1 else None

    def cut_candidates(self, column: str, fields: Collection[str]) -> dict[str, set[str]]:
        """The fields among `fields` whose known names a Shapefile cuts to this column name."""
        found = self.cuts.get(key(column), {})
        return {field: names for field, names in found.items() if field in fields}

    def is_ignored(self, column: str) -> bool:
        """Whether a column is housekeeping to leave out."""
        return key(column) in self.ignored

    def translate(self, field: str, value: Any) -> tuple[Any, dict[str, str]]:
        """A value in the vocabulary, and what a bracketed qualifier adds (`im Bau (gefördert)`).

        A value the table does not know is returned as it is, so validation names it.
        """
        table = self.values.get(field, {})
        if not isinstance(value, str) or not table:
            return value, {}
        found = table.get(key(value))
        if found is not None:
            return found, {}
        other = QUALIFIERS.get(field)
        parts = BRACKETED.match(value)
        if other is not None and parts is not None:
            outer = table.get(key(parts[1]))
            inner = self.values.get(other, {}).get(key(parts[2]))
            if outer is not None and inner is not None:
                return outer, {other: inner}
        return value, {}


def _typed(kind: FieldType, value: Any) -> Any:
    """German dates and decimal commas as the parsers read them."""
    if not isinstance(value, str):
        return value
    if kind is FieldType.DATE and (match := GERMAN_DATE.match(value)):
        day, month, year = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    if kind in (FieldType.SHARE, FieldType.INTEGER) and re.fullmatch(r"\s*\d+,\d+\s*", value):
        return value.replace(",", ".")  # decimal comma
    return value


@dataclass(frozen=True)
class Mapped:
    """A delivery with its columns renamed to fields and its values translated."""

    frame: pd.DataFrame
    problems: list[Problem]
    implied: dict[str, list[Any]]
    """Fields the file lacks that its values imply, row by row (None: nothing implied)."""


def _renames(
    frame: pd.DataFrame, spec: Layer, mapping: Mapping
) -> tuple[dict[str, str], list[str], list[Problem]]:
    """Which column becomes which field, which are left out, and the columns it cannot place."""
    geometry = getattr(frame, "geometry", None)
    geometry_name = geometry.name if geometry is not None else None
    renames: dict[str, str] = {}
    dropped: list[str] = []
    problems: list[Problem] = []
    for column in frame.columns:
        if column == geometry_name:
            continue
        field = column if column in spec.fields else mapping.field_for(column, spec.fields)
        if field in spec.fields and field not in renames.values():
            renames[column] = field
            continue
        dropped.append(column)  # reported here, so validation does not name it again
        if mapping.is_ignored(column):
            continue
        problems.append(Problem(spec.name, None, column, _unplaced(column, field, spec, mapping)))
    return renames, dropped, problems


def _unplaced(column: str, field: str | None, spec: Layer, mapping: Mapping) -> str:
    candidates = mapping.cut_candidates(column, spec.fields)
    if field is None and len(candidates) > 1:
        meant = " or ".join(
            f"{', '.join(sorted(repr(n) for n in names))} ({name})"
            for name, names in sorted(candidates.items())
        )
        return (
            f"ambiguous: the 10-character cut of {meant}; say which in a mapping file "
            f'(--mapping), e.g. [columns] "{column}" = "{min(candidates)}"'
        )
    if field in spec.fields:
        where = f" (it would be {field!r}, given twice)"
    elif field is not None:
        where = f" (it stands for {field!r}, which {spec.name} do not have)"
    else:
        where = ""
    return (
        f"unknown column{where}; map it to one of {', '.join(spec.fields)} "
        "or ignore it in a mapping file (--mapping)"
    )


def _reconcile(
    frame: pd.DataFrame, spec: Layer, implied: dict[str, list[Any]], sources: dict[str, list[Any]]
) -> list[Problem]:
    """Where the file has the implied field too: fill its empty cells, report disagreements."""
    problems = []
    for field in [f for f in implied if f in frame.columns]:
        cells = list(frame[field])
        for number, (wanted, cell) in enumerate(zip(implied.pop(field), cells, strict=True)):
            if wanted is None:
                continue
            if is_missing(cell):
                cells[number] = wanted
            elif cell != wanted:
                row = frame.iloc[number].to_dict()
                label = feature_label(spec, number + 1, row)
                status = sources[field][number]
                message = f"{cell!r}, but the status {status!r} says {wanted!r}"
                problems.append(Problem(spec.name, label, field, message))
        frame[field] = cells
    return problems


def apply(frame: pd.DataFrame, layer: str, mapping: Mapping) -> Mapped:
    """Rename the columns to package fields and translate values; report columns it cannot place."""
    spec = LAYERS[layer]
    renames, dropped, problems = _renames(frame, spec, mapping)
    mapped = frame.drop(columns=dropped).rename(columns=renames)
    implied: dict[str, list[Any]] = {}
    sources: dict[str, list[Any]] = {}
    for field, field_spec in spec.fields.items():
        if field not in mapped.columns:
            continue
        if field_spec.allowed is None:
            mapped[field] = [_typed(field_spec.kind, v) for v in mapped[field]]
            continue
        raw = list(mapped[field])
        translated = [mapping.translate(field, v) for v in raw]
        mapped[field] = [value for value, _ in translated]
        for number, (_, extra) in enumerate(translated):
            for other, value in extra.items():
                if other in spec.fields:
                    implied.setdefault(other, [None] * len(raw))[number] = value
                    sources.setdefault(other, [None] * len(raw))[number] = raw[number]
    problems += _reconcile(mapped, spec, implied, sources)
    return Mapped(mapped, problems, implied)


def imply(frame: pd.DataFrame, implied: dict[str, list[Any]]) -> pd.DataFrame:
    """Set the fields the file's values imply (over the stored values filled in for them)."""
    if not implied:
        return frame
    result = frame.copy()
    for field, values in implied.items():
        current = list(result[field]) if field in result.columns else [None] * len(values)
        result[field] = [v if v is not None else c for v, c in zip(values, current, strict=True)]
    return result
