"""Reference figures in the database: replacing them on seed, finding the nearest on a date."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from service.coverage.reference import FIBRE_INDICATORS, FIBRE_SEGMENTS, SOURCE
from service.coverage.rules import ReferenceFigure
from service.packages.diff import LayerDiff

COLUMNS = (
    "source_file",
    "stand",
    "stand_date",
    "segment",
    "level",
    "ags",
    "indicator",
    "value_pct",
)


def replace_reference(session: Session, rows: list[dict[str, Any]]) -> LayerDiff:
    """Replace the stored figures of every area key (AGS) in the file, unless nothing changed."""
    names = ", ".join(COLUMNS)
    values = ", ".join(f":{column}" for column in COLUMNS)
    session.execute(text("DROP TABLE IF EXISTS staging_reference"))
    session.execute(
        text(
            f"CREATE TEMP TABLE staging_reference ON COMMIT DROP AS "
            f"SELECT {names} FROM reference_figures WITH NO DATA"
        )
    )
    if rows:
        session.execute(text(f"INSERT INTO staging_reference ({names}) VALUES ({values})"), rows)
    stored = (
        f"SELECT {names} FROM reference_figures WHERE ags IN (SELECT ags FROM staging_reference)"
    )
    differs = session.execute(
        text(
            f"SELECT EXISTS ({stored} EXCEPT ALL SELECT {names} FROM staging_reference) "
            f"OR EXISTS (SELECT {names} FROM staging_reference EXCEPT ALL {stored})"
        )
    ).scalar_one()
    if not differs:
        return LayerDiff(0, 0, 0, len(rows))
    deleted = session.execute(
        text("DELETE FROM reference_figures WHERE ags IN (SELECT ags FROM staging_reference)")
    )
    session.execute(
        text(f"INSERT INTO reference_figures ({names}) SELECT {names} FROM staging_reference")
    )
    session.execute(text("SELECT broadband_touch()"))
    return LayerDiff(len(rows), 0, cast(CursorResult[Any], deleted).rowcount, 0)


KEY_DIGITS = {"gemeinde": 8, "kreis": 5, "land": 2}


def nearest_fibre_figures(
    session: Session, ags: str, as_of: dt.date, levels: tuple[str, ...] = ("gemeinde", "kreis")
) -> list[ReferenceFigure]:
    """The official fibre figure nearest to the date for each level of the key: by default the
    municipality's and its Kreis's; for a Kreis or Land key, that Kreis's or Land's."""
    found = []
    for level, key in ((level, ags[: KEY_DIGITS[level]]) for level in levels):
        row = session.execute(
            text(
                "SELECT source_file, stand_date, segment, indicator, value_pct "
                "FROM reference_figures WHERE ags = :key AND level = :level "
                "AND segment = ANY(:segments) "
                "AND indicator = ANY(:indicators) "
                "ORDER BY abs(stand_date - CAST(:as_of AS date)), "
                "array_position(CAST(:indicators AS text[]), indicator), stand_date DESC LIMIT 1"
            ),
            {
                "key": key,
                "level": level,
                "segments": list(FIBRE_SEGMENTS),
                "indicators": list(FIBRE_INDICATORS),
                "as_of": as_of,
            },
        ).one_or_none()
        if row is not None:
            source = SOURCE + (f"; {row.source_file}" if row.source_file else "")
            found.append(
                ReferenceFigure(
                    level=level,
                    ags=key,
                    stand=row.stand_date,
                    segment=row.segment,
                    indicator=row.indicator,
                    value_pct=float(row.value_pct),
                    source=source,
                )
            )
    return found
