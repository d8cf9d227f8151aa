"""The controlled vocabulary: English API values and German map labels, defined once."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What sort of land an expansion area covers."""

    SETTLEMENT = "settlement"
    COMMERCIAL = "commercial"
    OUTSKIRTS = "outskirts"


class Status(StrEnum):
    """Roll-out status of an expansion area or a hamlet, best first."""

    CONNECTED = "connected"
    UNDER_CONSTRUCTION = "under_construction"
    IN_PREPARATION = "in_preparation"
    PLANNED = "planned"
    INSUFFICIENT_DEMAND = "insufficient_demand"


class Funding(StrEnum):
    """Who paid for the build: the provider itself or a public programme."""

    PRIVATE = "private"
    FUNDED = "funded"
    UNKNOWN = "unknown"


class Connection(StrEnum):
    """How a school is connected."""

    FIBRE = "fibre"
    COMMITMENT = "commitment"
    LTE = "lte"
    NONE = "none"


GERMAN_LABELS: dict[str, str] = {
    Kind.SETTLEMENT: "Siedlungsgebiet",
    Kind.COMMERCIAL: "Gewerbegebiet",
    Kind.OUTSKIRTS: "Außenbereich",
    Status.CONNECTED: "erschlossen",
    Status.UNDER_CONSTRUCTION: "im Bau",
    Status.IN_PREPARATION: "in Vorbereitung",
    Status.PLANNED: "geplant",
    Status.INSUFFICIENT_DEMAND: "Nachfrage nicht ausreichend",
    Funding.PRIVATE: "eigenwirtschaftlich",
    Funding.FUNDED: "gefördert",
    Funding.UNKNOWN: "unbekannt",
    Connection.FIBRE: "Glasfaser",
    Connection.COMMITMENT: "Ausbauzusage",
    Connection.LTE: "LTE",
    Connection.NONE: "kein Anschluss",
}


def values(enum: type[StrEnum]) -> list[str]:
    """List the allowed values of a vocabulary, in declaration order, for error messages."""
    return [member.value for member in enum]
