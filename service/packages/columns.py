"""Column names and values providers use, mapped to the vocabulary; a TOML file can extend it."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.core.errors import InvalidDataError, Problem
from service.packages.format import LAYERS, FieldType

# Column names as providers, planners and shapefiles (10 characters) spell them.
DEFAULT_COLUMNS: dict[str, str] = {
    "name": "name",
    "bezeichnung": "name",
    "gebiet": "name",
    "gebietsname": "name",
    "schule": "name",
    "schulname": "name",
    "bauerschaft": "name",
    "ortsteil": "name",
    "status": "status",
    "ausbaustatus": "status",
    "kind": "kind",
    "art": "kind",
    "gebietsart": "kind",
    "gebietstyp": "kind",
    "funding": "funding",
    "forderung": "funding",
    "finanzierung": "funding",
    "ausbauart": "funding",
    "provider": "provider",
    "anbieter": "provider",
    "netzbetreiber": "provider",
    "betreiber": "provider",
    "statussince": "status_since",
    "statussin": "status_since",
    "seit": "status_since",
    "statusseit": "status_since",
    "statusdatum": "status_since",
    "notes": "notes",
    "bemerkung": "notes",
    "bemerkungen": "notes",
    "hinweis": "notes",
    "approximate": "approximate",
    "approximat": "approximate",
    "genahert": "approximate",
    "externalid": "external_id",
    "externali": "external_id",
    "objektid": "external_id",
    "gebietsid": "external_id",
    "demandshare": "demand_share",
    "demandsha": "demand_share",
    "nachfragequote": "demand_share",
    "quote": "demand_share",
    "schooltype": "school_type",
    "schooltyp": "school_type",
    "schulform": "school_type",
    "schulart": "school_type",
    "pupils": "pupils",
    "schuler": "pupils",
    "schulerzahl": "pupils",
    "schulerinnen": "pupils",
    "connection": "connection",
    "connectio": "connection",
    "anschluss": "connection",
    "anbindung": "connection",
    "schoolnumber": "school_number",
    "schoolnum": "school_number",
    "schulnummer": "school_number",
    "street": "street",
    "strasse": "street",
    "house_number": "house_number",
    "housenumber": "house_number",
    "housenumb": "house_number",
    "hausnummer": "house_number",
    "hnr": "house_number",
    "postcode": "postcode",
    "plz": "postcode",
    "postleitzahl": "postcode",
}

# Values in German (and the report's wording) for each vocabulary field.
DEFAULT_VALUES: dict[str, dict[str, str]] = {
    "status": {
        "erschlossen": "connected",
        "versorgt": "connected",
        "in betrieb": "connected",
        "fertiggestellt": "connected",
        "im bau": "under_construction",
        "in bau": "under_construction",
        "bau": "under_construction",
        "in vorbereitung": "in_preparation",
        "vorbereitung": "in_preparation",
        "in planung": "planned",
        "geplant": "planned",
        "planung": "planned",
        "nachfrage nicht ausreichend": "insufficient_demand",
        "nachfragebundelung nicht erfolgreich": "insufficient_demand",
        "nicht ausreichend": "insufficient_demand",
    },
    "kind": {
        "siedlungsgebiet": "settlement",
        "wohngebiet": "settlement",
        "ortslage": "settlement",
        "gewerbegebiet": "commercial",
        "industriegebiet": "commercial",
        "aussenbereich": "outskirts",
    },
    "funding": {
        "gefordert": "funded",
        "offentlich gefordert": "funded",
        "forderung": "funded",
        "eigenwirtschaftlich": "private",
        "privat": "private",
        "unbekannt": "unknown",
    },
    "connection": {
        "glasfaser": "fibre",
        "ftth": "fibre",
        "fttb": "fibre",
        "ausbauzusage": "commitment",
        "zusage": "commitment",
        "lte": "lte",
        "mobilfunk": "lte",
        "kein anschluss": "none",
        "kein": "none",
        "keiner": "none",
    },
}

# Housekeeping columns GIS software adds; they carry nothing to import.
DEFAULT_IGNORED = frozenset(
    {
        "fid",
        "objectid",
        "ogcfid",
        "gmlid",
        "shapeleng",
        "shapelength",
        "shapearea",
        "id",
        "updatedat",
    }
)
GERMAN_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")


def normalise(text: str) -> str:
    """Compare names and values without case, accents, spaces, hyphens or underscores."""
    folded = text.replace("ß", "ss").casefold()
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in folded if c.isalnum() or c == " ").strip()


def _column_key(text: str) -> str:
    return normalise(text).replace(" ", "")


class _MappingFile(BaseModel):
    """The TOML a coordinator writes: extra column names, values and columns to ignore."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)


class Mapping:
    """The default mapping, extended by an optional TOML file."""

    def __init__(
        self,
        columns: dict[str, str] | None = None,
        values: dict[str, dict[str, str]] | None = None,
        ignore: list[str] | None = None,
    ) -> None:
        self.columns = {_column_key(k): v for k, v in DEFAULT_COLUMNS.items()}
        self.columns |= {_column_key(k): v for k, v in (columns or {}).items()}
        self.values = {
            field: {normalise(k): v for k, v in table.items()}
            for field, table in DEFAULT_VALUES.items()
        }
        for field, table in (values or {}).items():
            self.values.setdefault(field, {}).update({normalise(k): v for k, v in table.items()})
        self.ignored = set(DEFAULT_IGNORED) | {_column_key(name) for name in ignore or []}

    @classmethod
    def from_toml(cls, path: Path) -> Mapping:
        """Read a mapping file; a mistake in it names the file and the key."""
        try:
            document = _MappingFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidDataError(
                [Problem("mapping", path.name, None, f"not valid TOML: {exc}")], "invalid mapping"
            ) from exc
        except ValidationError as exc:
            problems = [
                Problem("mapping", path.name, ".".join(map(str, e["loc"])), e["msg"])
                for e in exc.errors()
            ]
            raise InvalidDataError(problems, "invalid mapping") from exc
        return cls(document.columns, document.values, document.ignore)

    def field_for(self, column: str) -> str | None:
        """The package field a column stands for, if the mapping knows it."""
        return self.columns.get(_column_key(column))

    def is_ignored(self, column: str) -> bool:
        """Whether a column is housekeeping to leave out."""
        return _column_key(column) in self.ignored


def _value(field: str, kind: FieldType, table: dict[str, str], value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if table:
        return table.get(normalise(value), value)  # unmapped values stay, and validation names them
    if kind is FieldType.DATE and (match := GERMAN_DATE.match(value)):
        day, month, year = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    if kind in (FieldType.SHARE, FieldType.INTEGER) and re.fullmatch(r"\s*\d+,\d+\s*", value):
        return value.replace(",", ".")  # decimal comma
    return value


def apply(frame: pd.DataFrame, layer: str, mapping: Mapping) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename the columns to package fields and translate values; report columns it cannot place."""
    spec = LAYERS[layer]
    geometry = getattr(frame, "geometry", None)
    geometry_name = geometry.name if geometry is not None else None
    renames: dict[str, str] = {}
    dropped: list[str] = []
    problems: list[Problem] = []
    for column in frame.columns:
        if column == geometry_name:
            continue
        field = column if column in spec.fields else mapping.field_for(column)
        if field in spec.fields and field not in renames.values():
            renames[column] = field
        elif mapping.is_ignored(column):
            dropped.append(column)
        else:
            dropped.append(column)  # reported here, so validation does not name it again
            where = f" (it would be {field!r}, given twice)" if field in renames.values() else ""
            problems.append(
                Problem(
                    layer,
                    None,
                    column,
                    f"unknown column{where}; map it to one of {', '.join(spec.fields)} "
                    "or ignore it in a mapping file (--mapping)",
                )
            )
    mapped = frame.drop(columns=dropped).rename(columns=renames)
    for field, field_spec in spec.fields.items():
        if field in mapped.columns:
            table = mapping.values.get(field, {}) if field_spec.allowed is not None else {}
            mapped[field] = [_value(field, field_spec.kind, table, v) for v in mapped[field]]
    return mapped, problems
