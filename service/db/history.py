"""The time machine's switches: which writes start a feature's past, and which erase it.

Migration 0011 keeps every replaced or deleted version of a feature in `<table>_versions`. Two
transaction-local settings change what a write means there:

- `broadband.baseline`: rows inserted while it is on (addresses, districts, the municipality)
  count as valid since always. A municipality's first load of a layer is its baseline: an address
  list describes the town's past as well as its present, while an address added later is new.
- `broadband.forget`: deletes keep no version; removing a whole municipality removes its past.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

LAYERS = ("districts", "areas", "hamlets", "schools", "addresses")


def mark_baseline(session: Session, layer: str, municipality_id: int | None) -> bool:
    """Before writing a layer: the baseline switch on if the municipality has none of it yet."""
    if layer not in LAYERS and layer != "municipality":
        raise ValueError(layer)
    if municipality_id is None:
        first = True
    else:
        column = "id" if layer == "municipality" else "municipality_id"
        first = not session.execute(
            text(f"SELECT EXISTS (SELECT FROM {layer} WHERE {column} = :m)"),
            {"m": municipality_id},
        ).scalar_one()
    session.execute(
        text("SELECT set_config('broadband.baseline', :on, true)"), {"on": "on" if first else ""}
    )
    return bool(first)


def forget(session: Session) -> None:
    """Deletes in this transaction keep no past (for removing a municipality outright)."""
    session.execute(text("SELECT set_config('broadband.forget', 'on', true)"))
