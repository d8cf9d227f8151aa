"""The status colours of every map (web map, vector tiles), declared once so they cannot drift.

The 2021 map's meaning is kept: red connected, yellow too little demand, green funded; the
other statuses get distinct colour-blind-safe colours, and an address in no expansion area or
hamlet is white with a dark outline.
"""

from __future__ import annotations

from service.core.vocabulary import Status

STATUS_COLOURS: dict[str, str] = {
    Status.CONNECTED: "#d7191c",
    Status.UNDER_CONSTRUCTION: "#2c7bb6",
    Status.IN_PREPARATION: "#8e63b5",
    Status.PLANNED: "#8c8c8c",
    Status.INSUFFICIENT_DEMAND: "#ffd92f",
}
FUNDED_COLOUR = "#1a9641"
"""Connected and publicly funded (the commercial areas built since 2021)."""
NO_AREA = "none"
"""An address's best status when no expansion area or hamlet covers it."""
NO_AREA_COLOUR = "#ffffff"
OUTLINE_COLOUR = "#333333"
"""The outline of address points (and of the yellow fill, which is too light on its own)."""


def address_colour(status: str) -> str:
    """The fill of an address point with this best status."""
    return STATUS_COLOURS.get(status, NO_AREA_COLOUR)
