"""Numbers and months as German readers write them on the maps: 12.000, 71,48 %, März 2022."""

from __future__ import annotations

import datetime as dt


def german_number(value: int) -> str:
    """12000 → '12.000'."""
    return f"{value:,}".replace(",", ".")


def share_text(share_pct: float) -> str:
    """71.48 → '71,48 %', as the headline writes it."""
    return f"{share_pct:.2f}".replace(".", ",") + " %"


MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def german_month(day: dt.date) -> str:
    """2022-03-31 → 'März 2022', as the time slider names its steps."""
    return f"{MONTHS[day.month - 1]} {day.year}"
