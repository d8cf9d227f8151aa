"""Numbers as German readers write them on the maps and in the report: 12.000 and 71,48 %."""

from __future__ import annotations


def german_number(value: int) -> str:
    """12000 → '12.000'."""
    return f"{value:,}".replace(",", ".")


def share_text(share_pct: float) -> str:
    """71.48 → '71,48 %', as the headline writes it."""
    return f"{share_pct:.2f}".replace(".", ",") + " %"
