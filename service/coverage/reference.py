"""Official reference figures (Breitbandatlas long format): reading and checking the CSV."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from service.core.errors import InvalidDataError, Problem

FILE_NAME = "reference_figures.csv"
LEVELS = ("gemeinde", "kreis", "land", "bund")
REQUIRED = ("stand", "segment", "level", "ags", "indicator", "value_pct")
SOURCE = "Breitbandatlas | Gigabit-Grundbuch (https://gigabitgrundbuch.bund.de), modified"
# Compared with our 'connected' share: fibre to the home/building for private households, under
# the names the Breitbandatlas packages used over the years (best match first).
FIBRE_SEGMENTS = ("privat", "mixed")
FIBRE_INDICATORS = (
    "FTTH/B ≥ 1000 Mbit/s",
    "verf_ftth_1000",
    "priv_ftthb_1000",
    "FTTH_50",
    "verf_ftth_50",
)


def stand_date(stand: str) -> dt.date:
    """'2021-06' means the end of June 2021; a bare year means the end of that year."""
    parts = stand.strip().split("-")
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) == 4:
        return dt.date(int(parts[0]), 12, 31)
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        year, month = int(parts[0]), int(parts[1])
        if 1 <= month <= 12:
            following = dt.date(year + month // 12, month % 12 + 1, 1)
            return following - dt.timedelta(days=1)
    raise ValueError(f"expected YYYY or YYYY-MM, got {stand!r}")


def _row(number: int, raw: dict[str, str]) -> tuple[dict[str, Any] | None, list[Problem]]:
    feature = f"row {number}"
    problems = [
        Problem(FILE_NAME, feature, name, "required, but empty")
        for name in REQUIRED
        if not (raw.get(name) or "").strip()
    ]
    if problems:
        return None, problems
    row: dict[str, Any] = {name: raw[name].strip() for name in REQUIRED}
    row["source_file"] = (raw.get("source_file") or "").strip() or None
    if row["level"] not in LEVELS:
        message = f"unknown value {row['level']!r}; allowed: {', '.join(LEVELS)}"
        problems.append(Problem(FILE_NAME, feature, "level", message))
    try:
        row["stand_date"] = stand_date(row["stand"])
    except ValueError as exc:
        problems.append(Problem(FILE_NAME, feature, "stand", str(exc)))
    try:
        row["value_pct"] = float(row["value_pct"])
    except ValueError:
        message = f"expected a number, got {row['value_pct']!r}"
        problems.append(Problem(FILE_NAME, feature, "value_pct", message))
    return (None if problems else row), problems


def read_reference(path: Path) -> list[dict[str, Any]]:
    """Read and check every row; one error lists every problem."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
        if missing:
            message = f"missing column(s): {', '.join(missing)}"
            raise InvalidDataError([Problem(FILE_NAME, None, None, message)], "invalid package")
        rows: list[dict[str, Any]] = []
        problems: list[Problem] = []
        for number, raw in enumerate(reader, start=2):
            row, found = _row(number, raw)
            problems += found
            if row is not None:
                rows.append(row)
    if problems:
        raise InvalidDataError(problems[:500], "invalid package")
    return rows
