"""How long loading a data package takes, against a plain ORM loader as the baseline, in one run.

Usage: python benchmarks/seed.py [PACKAGE] [--repeat N]

Runs against the test database (BROADBAND_TEST_DATABASE_URL, else DATABASE_URL) inside one
transaction that is rolled back, so it leaves nothing behind. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from geoalchemy2.shape import from_shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.settings import Settings
from service.db import history
from service.db.engine import make_engine, set_actor
from service.db.models import FEATURE_TABLES, SRID, Municipality
from service.packages.queries import load_package
from service.packages.seeding import prepare
from service.packages.validation import Package

CHILD_TABLES = [table for table in FEATURE_TABLES if table != "municipality"]


def _clear(session: Session) -> None:
    history.forget(session)
    for table in CHILD_TABLES:
        session.execute(text(f"DELETE FROM {table}"))
    session.execute(text("DELETE FROM municipality"))


def _orm_load(session: Session, package: Package) -> None:
    """The baseline: what a straightforward loader does (delete everything, add ORM objects)."""
    _clear(session)
    municipality = Municipality(
        **package.municipality.properties, geom=from_shape(package.municipality.geometry, SRID)
    )
    session.add(municipality)
    session.flush()
    for layer, features in package.layers.items():
        model = FEATURE_TABLES[layer]
        session.add_all(
            model(
                municipality_id=municipality.id,
                **feature.properties,
                geom=from_shape(feature.geometry, SRID),
            )
            for feature in features
        )
    session.flush()


def _timed(session: Session, work: Callable[[], object], repeat: int) -> float:
    """Median seconds of `work`, each run rolled back to the same starting point."""
    times = []
    for _ in range(repeat):
        savepoint = session.begin_nested()
        started = time.perf_counter()
        work()
        session.flush()
        times.append(time.perf_counter() - started)
        savepoint.rollback()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", type=Path, default=Settings().default_package)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    url = settings.test_database_url or settings.require_database_url()
    package = prepare(args.package)
    features = sum(len(layer) for layer in package.layers.values()) + 1

    engine = make_engine(Settings(database_url=url))
    with engine.connect() as connection, Session(bind=connection) as session:
        set_actor(session, "benchmark")
        _clear(session)
        fresh = _timed(session, lambda: load_package(session, package), args.repeat)
        load_package(session, package)
        unchanged = _timed(session, lambda: load_package(session, package), args.repeat)
        baseline = _timed(session, lambda: _orm_load(session, package), args.repeat)
        session.rollback()

    print(f"package: {args.package.name} ({features:,} features), median of {args.repeat} runs")
    print(f"  first load (staging + set-based sync): {fresh:8.3f} s")
    print(f"  reload of unchanged package:           {unchanged:8.3f} s")
    print(f"  baseline: ORM delete + add_all:        {baseline:8.3f} s")
    print(f"  speed-up over baseline, first load:    {baseline / fresh:8.2f} x")
    print(f"  speed-up over baseline, no-op reload:  {baseline / unchanged:8.2f} x")
    result = {
        "features": features,
        "load_s": round(fresh, 4),
        "reload_unchanged_s": round(unchanged, 4),
        "orm_baseline_s": round(baseline, 4),
        "load_speedup": round(baseline / fresh, 2),
        "reload_speedup": round(baseline / unchanged, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
