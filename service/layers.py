"""The one per-layer registry: every list, title, style and right per layer is derived from it.

Adding a layer is a registry entry, a model, a migration and a test: see docs/adding-a-layer.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.core.vocabulary import Connection, Funding, Kind, Status, values

STORAGE_CRS = "EPSG:25832"


class FieldType(StrEnum):
    """How a field is parsed and checked."""

    TEXT = "text"
    DATE = "date"
    INTEGER = "integer"
    SHARE = "share"
    BOOLEAN = "boolean"
    AGS = "ags"
    POSTCODE = "postcode"


@dataclass(frozen=True)
class FieldSpec:
    """One property of a layer: its type, whether it must be given, its allowed values."""

    kind: FieldType = FieldType.TEXT
    required: bool = True
    allowed: type[StrEnum] | None = None
    default: Any = None


class Role(StrEnum):
    """Who may write: editors keep the roll-out data, admins also the reference layers."""

    EDITOR = "editor"
    ADMIN = "admin"


class MapStyle(StrEnum):
    """How the web and print maps draw a layer."""

    OUTLINE = "outline"  # a boundary line with a name tooltip
    STATUS = "status"  # filled by roll-out status (and funding), with a popup
    POINT = "point"  # a circle coloured by connection, with a popup


@dataclass(frozen=True)
class Layer:
    """One layer: package layer, OGC collection, map layer and import target at once."""

    name: str
    geometry: str
    fields: dict[str, FieldSpec]
    title: str
    description: str
    german_title: str
    key: tuple[str, ...] = ("name",)
    label: tuple[str, ...] = ("name",)
    write_role: Role | None = None
    status_field: str | None = None
    importable: bool = False
    map_style: MapStyle | None = None
    map_fields: tuple[str, ...] = ()
    popup: tuple[str, ...] = ()
    highlightable: bool = False
    printable: bool = False

    @property
    def id(self) -> str:
        """The collection id in the OGC API: the layer name."""
        return self.name

    @property
    def temporal(self) -> str | None:
        """The property `datetime` filters on: the date the current status holds from."""
        return "status_since" if "status_since" in self.fields else None

    @property
    def geometry_type(self) -> str:
        """The GeoJSON geometry type stored (a Polygon is accepted for a MultiPolygon)."""
        return self.geometry


Collection = Layer
"""In the OGC API a layer is called a collection."""

_APPROXIMATE = FieldSpec(FieldType.BOOLEAN, required=False, default=False)
_OPTIONAL = FieldSpec(required=False)
_EXTERNAL_ID = FieldSpec(required=False)  # the id a provider or a register gives the feature
_SINCE = FieldSpec(FieldType.DATE)

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "municipality",
            "MultiPolygon",
            {"name": FieldSpec(), "ags": FieldSpec(FieldType.AGS)},
            "Municipality",
            "The municipality (Gemeinde) boundary and its official key (AGS).",
            "Gemeindegrenze",
            key=("ags",),
            map_style=MapStyle.OUTLINE,
            map_fields=("name", "ags"),
            printable=True,
        ),
        Layer(
            "districts",
            "MultiPolygon",
            {"name": FieldSpec(), "approximate": _APPROXIMATE, "external_id": _EXTERNAL_ID},
            "Districts",
            "Ortsteile: the units coverage is reported by.",
            "Ortsteile",
            write_role=Role.ADMIN,
            importable=True,
            map_style=MapStyle.OUTLINE,
            map_fields=("name", "approximate"),
            highlightable=True,
            printable=True,
        ),
        Layer(
            "areas",
            "MultiPolygon",
            {
                "name": FieldSpec(),
                "kind": FieldSpec(allowed=Kind),
                "status": FieldSpec(allowed=Status),
                "funding": FieldSpec(allowed=Funding, required=False, default=Funding.UNKNOWN),
                "provider": _OPTIONAL,
                "status_since": _SINCE,
                "notes": _OPTIONAL,
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
            "Expansion areas",
            "Fibre expansion areas (Ausbaugebiete) with kind, roll-out status and funding.",
            "Ausbaugebiete",
            write_role=Role.EDITOR,
            status_field="status",
            importable=True,
            map_style=MapStyle.STATUS,
            map_fields=(
                "name",
                "kind",
                "status",
                "funding",
                "provider",
                "status_since",
                "notes",
                "approximate",
            ),
            popup=("name", "kind_label", "status_label", "provider", "funding_label", "since"),
            highlightable=True,
            printable=True,
        ),
        Layer(
            "hamlets",
            "MultiPolygon",
            {
                "name": FieldSpec(),
                "status": FieldSpec(allowed=Status),
                "status_since": _SINCE,
                "demand_share": FieldSpec(FieldType.SHARE, required=False),
                # The provider's sign-up quota for this hamlet; empty: BROADBAND_DEMAND_QUOTA.
                "demand_quota": FieldSpec(FieldType.SHARE, required=False),
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
            "Hamlets",
            "Bauerschaften: rural farming hamlets with their own roll-out status.",
            "Bauerschaften",
            write_role=Role.EDITOR,
            status_field="status",
            importable=True,
            map_style=MapStyle.STATUS,
            map_fields=(
                "name",
                "status",
                "status_since",
                "demand_share",
                "demand_quota",
                "approximate",
            ),
            popup=("name", "status_label", "since"),
            highlightable=True,
            printable=True,
        ),
        Layer(
            "schools",
            "Point",
            {
                "name": FieldSpec(),
                "school_type": FieldSpec(),
                "pupils": FieldSpec(FieldType.INTEGER),
                "connection": FieldSpec(allowed=Connection),
                "status_since": _SINCE,
                "school_number": _OPTIONAL,
                "street": _OPTIONAL,
                "postcode": FieldSpec(FieldType.POSTCODE, required=False),
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
            "Schools",
            "Schools and how each is connected.",
            "Schulen",
            write_role=Role.EDITOR,
            status_field="connection",
            importable=True,
            map_style=MapStyle.POINT,
            map_fields=(
                "name",
                "school_type",
                "pupils",
                "connection",
                "status_since",
                "approximate",
            ),
            popup=("name", "school_type", "pupils", "connection_label", "since"),
            highlightable=True,
            printable=True,
        ),
        Layer(
            "addresses",
            "Point",
            {
                "street": FieldSpec(),
                "house_number": FieldSpec(),
                "postcode": FieldSpec(FieldType.POSTCODE),
                "approximate": _APPROXIMATE,
                "external_id": _EXTERNAL_ID,
            },
            "Addresses",
            "Address points: the unit address coverage counts.",
            "Adressen",
            key=("postcode", "street", "house_number"),
            label=("street", "house_number"),
            write_role=Role.ADMIN,
            importable=True,
        ),
    )
}
COLLECTIONS = LAYERS
"""Every layer is served as an OGC API collection."""


def importable() -> tuple[str, ...]:
    """Layers a delivery can be imported into (one municipality's own features)."""
    return tuple(name for name, layer in LAYERS.items() if layer.importable)


def on_map() -> tuple[str, ...]:
    """Layers the web map shows, in drawing order (addresses never leave the server)."""
    return tuple(name for name, layer in LAYERS.items() if layer.map_style is not None)


def highlightable() -> tuple[str, ...]:
    """Layers whose features `?highlight=<layer>/<id>` can outline and open on the map."""
    return tuple(name for name, layer in LAYERS.items() if layer.highlightable)


def printable() -> tuple[str, ...]:
    """Layers the print map draws."""
    return tuple(name for name, layer in LAYERS.items() if layer.printable)


def with_status() -> tuple[str, ...]:
    """Layers whose features have a status with a history (`status_history`)."""
    return tuple(name for name, layer in LAYERS.items() if layer.status_field is not None)


def map_titles() -> dict[str, str]:
    """German titles of the map layers, for the layer control and legend."""
    return {name: LAYERS[name].german_title for name in on_map()}


READ_ONLY = ("updated_at",)
"""Properties served with each feature that the service, not the client, sets."""

AGS_PATTERN = "^[0-9]{8}$"
"""A municipality key (Amtlicher Gemeindeschlüssel): eight digits."""
WHITE_SPACE = "".join(f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace())
"""What `str.strip` removes, spelled out for a regular expression's character class: `\\s` means
slightly different sets in Python, ECMAScript and Rust (the readers of the API description)."""
NOT_BLANK = f"[^{WHITE_SPACE}]"
"""A required text: at least one character that is not white space (blank counts as missing)."""

_TYPES: dict[FieldType, dict[str, Any]] = {
    FieldType.TEXT: {"type": "string"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.INTEGER: {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    FieldType.SHARE: {"type": "number", "minimum": 0, "maximum": 1},
    FieldType.BOOLEAN: {"type": "boolean"},
    FieldType.AGS: {"type": "string", "pattern": AGS_PATTERN},
    FieldType.POSTCODE: {"type": "string", "pattern": "^[0-9]{5}$"},
}


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """JSON Schema of one property, with the vocabulary as an enum."""
    schema = dict(_TYPES[spec.kind])
    if spec.allowed is not None:
        schema["enum"] = values(spec.allowed)
    elif spec.required and spec.kind == FieldType.TEXT:
        schema["pattern"] = NOT_BLANK
    return schema


def property_schemas(collection: Collection) -> dict[str, dict[str, Any]]:
    """JSON Schema of every property a client can filter or sort on."""
    schemas: dict[str, dict[str, Any]] = {"id": {"type": "integer", "title": "feature id"}}
    schemas |= {name: field_schema(spec) for name, spec in collection.fields.items()}
    schemas["updated_at"] = {"type": "string", "format": "date-time", "readOnly": True}
    return schemas


def geometry_format(collection: Collection) -> str:
    """The Part 3 queryable format of the geometry, e.g. `geometry-multipolygon`."""
    return "geometry-" + collection.geometry_type.lower()
