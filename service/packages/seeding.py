"""`broadband seed`: read, check, then write a data package in one transaction (all or nothing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.core.errors import InvalidDataError, Problem
from service.db import refusals
from service.db.engine import transaction
from service.packages import queries
from service.packages.diff import LayerDiff
from service.packages.format import read_package
from service.packages.validation import Package, validate_package

Step = Callable[[str], None]


def prepare(source: Path, step: Step = lambda _: None) -> Package:
    """Read and check a package without touching the database."""
    step(f"reading {source.name}")
    raw = read_package(source)
    step("checking layers, fields and geometries")
    return validate_package(raw)


def seed(
    factory: sessionmaker[Session],
    source: Path,
    actor: str,
    only_if_empty: bool = False,
    step: Step = lambda _: None,
) -> dict[str, LayerDiff] | None:
    """Load a package, replacing its municipality's data; None when skipped (database not empty)."""
    if only_if_empty:
        with factory() as session:
            if not queries.is_empty(session):
                return None
    package = prepare(source, step)
    step("writing to the database")
    try:
        with transaction(factory, actor) as session:
            return queries.load_package(session, package)
    except (IntegrityError, DataError) as exc:  # a constraint or a value the database refuses
        message = refusals.refusal(exc, f"seeding {source.name}")
        problem = Problem("package", None, refusals.constraint_of(exc), message)
        raise InvalidDataError([problem], f"invalid package {source.name}") from exc
