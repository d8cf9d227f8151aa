"""The feature collections the API serves, described once: fields, types, who may write them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.core.vocabulary import values
from service.packages.format import LAYERS, FieldSpec, FieldType, LayerSpec


class Role(StrEnum):
    """What a token may do: editors keep the roll-out data, admins also the reference layers."""

    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Collection:
    """One collection: its package layer, descriptive text and the role that may write it."""

    id: str
    title: str
    description: str
    layer: LayerSpec
    write_role: Role | None
    status_field: str | None = None

    @property
    def temporal(self) -> str | None:
        """The property `datetime` filters on: the date the current status holds from."""
        return "status_since" if "status_since" in self.layer.fields else None

    @property
    def fields(self) -> dict[str, FieldSpec]:
        """The writable properties, in package order."""
        return self.layer.fields

    @property
    def geometry_type(self) -> str:
        """The GeoJSON geometry type stored (a Polygon is accepted for a MultiPolygon)."""
        return self.layer.geometry


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "municipality",
            "Municipality",
            "The municipality (Gemeinde) boundary and its official key (AGS).",
            LAYERS["municipality"],
            write_role=None,
        ),
        Collection(
            "districts",
            "Districts",
            "Ortsteile: the units coverage is reported by.",
            LAYERS["districts"],
            write_role=Role.ADMIN,
        ),
        Collection(
            "areas",
            "Expansion areas",
            "Fibre expansion areas (Ausbaugebiete) with kind, roll-out status and funding.",
            LAYERS["areas"],
            write_role=Role.EDITOR,
            status_field="status",
        ),
        Collection(
            "hamlets",
            "Hamlets",
            "Bauerschaften: rural farming hamlets with their own roll-out status.",
            LAYERS["hamlets"],
            write_role=Role.EDITOR,
            status_field="status",
        ),
        Collection(
            "schools",
            "Schools",
            "Schools and how each is connected.",
            LAYERS["schools"],
            write_role=Role.EDITOR,
            status_field="connection",
        ),
        Collection(
            "addresses",
            "Addresses",
            "Address points: the unit address coverage counts.",
            LAYERS["addresses"],
            write_role=Role.ADMIN,
        ),
    )
}

READ_ONLY = ("updated_at",)
"""Properties served with each feature that the service, not the client, sets."""

_TYPES: dict[FieldType, dict[str, Any]] = {
    FieldType.TEXT: {"type": "string"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.INTEGER: {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    FieldType.SHARE: {"type": "number", "minimum": 0, "maximum": 1},
    FieldType.BOOLEAN: {"type": "boolean"},
    FieldType.AGS: {"type": "string", "pattern": "^[0-9]{8}$"},
    FieldType.POSTCODE: {"type": "string", "pattern": "^[0-9]{5}$"},
}


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """JSON Schema of one property, with the vocabulary as an enum."""
    schema = dict(_TYPES[spec.kind])
    if spec.allowed is not None:
        schema["enum"] = values(spec.allowed)
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
