"""How much does the time machine store? The history tables after a coordinator's edits.

Usage: python -m benchmarks.history_storage [--edits 10000] [--seed 42] [--sizes-only]

Migration 0011 keeps every replaced or deleted version of a feature (`<table>_versions`), every
dated status (`status_history`) and each address's periods of district and best status
(`address_states`); the change log (`changes`) keeps every write. This empties the test database
(BROADBAND_TEST_DATABASE_URL) as the test suite does, seeds the bundled Coesfeld package, applies
--edits random edits of the kinds a coordinator makes (status changes with dates, attribute
edits, redraws by moving one vertex a few metres, a few address moves, deletes and creates), each
in its own transaction as the API makes them, and prints rows and size (with indexes and TOAST)
of every history table against the live feature tables, which are the baseline. It checks that
`addresses_versions` holds a row for every moved or deleted address and for nothing else.

--sizes-only prints the same report for the test database as it stands, without touching it:
after `benchmarks/coverage.py` loaded its million addresses, a load should have written no
versions. A database that holds that benchmark's set is never emptied.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.coverage import rounded
from service.core.settings import DEFAULT_PACKAGE, Settings
from service.core.vocabulary import Connection, Funding, Status
from service.db import schema
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.packages.seeding import seed

ACTOR = "history-benchmark"
BENCHMARK_AGS = "09999999"  # benchmarks/coverage.py's municipality: never emptied here
FEATURES = ("municipality", "districts", "areas", "hamlets", "schools", "addresses")
HISTORY = ("status_history", "address_states", "changes")
PROVIDERS = ["Deutsche Glasfaser", "Telekom", "Westconnect", "Muenet", None]
# Share of each kind of edit, roughly a coordinator's year: mostly statuses and attributes.
KINDS = {
    "status": 0.40,
    "attribute": 0.25,
    "redraw": 0.20,
    "address_move": 0.05,
    "address_attribute": 0.05,
    "create": 0.03,
    "delete": 0.02,
}
STATUS_TABLES = {"areas": 0.7, "hamlets": 0.2, "schools": 0.1}
SHAPE_TABLES = {"areas": 0.85, "hamlets": 0.15}
VERTEX_MOVE_M = (0.5, 10.0)
ADDRESS_MOVE_M = (2.0, 30.0)
SAMPLE = 1_000  # addresses a run may edit, so moves and deletes meet the same few


@dataclass
class Edits:
    """What was done: counts per kind, each edit's seconds, and the addresses moved or deleted."""

    kinds: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    moved: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    address_versions: int = 0  # one per move or delete: each edit is its own transaction


@dataclass
class Town:
    """The municipality's feature ids per table, kept current as features come and go."""

    m: int
    ids: dict[str, list[int]]


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    return str(rng.choice(names, p=np.array(list(weights.values())) / sum(weights.values())))


def _one(rng: np.random.Generator, ids: list[int]) -> int:
    return ids[int(rng.integers(len(ids)))]


def _status(rng: np.random.Generator, table: str) -> str:
    values = list(Connection) if table == "schools" else list(Status)
    return str(values[int(rng.integers(len(values)))])


def status_change(session: Session, rng: np.random.Generator, town: Town) -> None:
    """A new status dated between the current one's date and today."""
    table = _pick(rng, STATUS_TABLES)
    column = "connection" if table == "schools" else "status"
    session.execute(
        text(
            f"UPDATE {table} SET {column} = :status, status_since = status_since "
            "+ floor(:f * (current_date - status_since))::int WHERE id = :id"
        ),
        {"status": _status(rng, table), "f": float(rng.random()), "id": _one(rng, town.ids[table])},
    )


def attribute_edit(session: Session, rng: np.random.Generator, town: Town) -> None:
    """Provider, funding or notes of an area, a hamlet's sign-up share, a school's pupils."""
    table = _pick(rng, {"areas": 0.7, "hamlets": 0.2, "schools": 0.1})
    feature = _one(rng, town.ids[table])
    value: str | float | int | None
    if table == "areas":
        column, value = [
            ("provider", PROVIDERS[int(rng.integers(len(PROVIDERS)))]),
            ("funding", str(list(Funding)[int(rng.integers(len(Funding)))])),
            ("notes", f"Vermerk {int(rng.integers(1_000_000))}"),
        ][int(rng.integers(3))]
    elif table == "hamlets":
        column, value = "demand_share", round(float(rng.random()), 4)
    else:
        column, value = "pupils", int(rng.integers(50, 1_200))
    session.execute(
        text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": value, "id": feature}
    )


def _moved_vertex(rng: np.random.Generator, geom: Any) -> Any:
    """The outline with one vertex (and any copy of it, such as a ring's closing point) moved a
    few metres; None when that made it invalid."""
    coords = shapely.get_coordinates(geom)
    chosen = coords[int(rng.integers(len(coords)))].copy()
    angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(*VERTEX_MOVE_M)
    same = np.all(coords == chosen, axis=1)
    coords[same] += np.array([np.cos(angle), np.sin(angle)]) * reach
    moved = shapely.set_coordinates(shapely.from_wkb(shapely.to_wkb(geom)), coords)
    return moved if shapely.is_valid(moved) else None


def redraw(session: Session, rng: np.random.Generator, town: Town) -> None:
    """An area or hamlet redrawn by dragging one vertex a few metres."""
    table = _pick(rng, SHAPE_TABLES)
    feature = _one(rng, town.ids[table])
    hexed = session.execute(
        text(f"SELECT ST_AsEWKB(geom) FROM {table} WHERE id = :id"), {"id": feature}
    ).scalar_one()
    geom = shapely.from_wkb(bytes(hexed))
    for _ in range(10):
        moved = _moved_vertex(rng, geom)
        if moved is not None:
            break
    else:
        return
    wkb = shapely.to_wkb(shapely.set_srid(moved, shapely.get_srid(geom)), include_srid=True)
    session.execute(
        text(f"UPDATE {table} SET geom = ST_GeomFromEWKB(:g) WHERE id = :id"),
        {"g": wkb, "id": feature},
    )


def address_move(session: Session, rng: np.random.Generator, town: Town, edits: Edits) -> None:
    """An address put a few metres further on (a correction of its position)."""
    address = _one(rng, town.ids["addresses"])
    angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(*ADDRESS_MOVE_M)
    session.execute(
        text("UPDATE addresses SET geom = ST_Translate(geom, :dx, :dy) WHERE id = :id"),
        {"dx": reach * np.cos(angle), "dy": reach * np.sin(angle), "id": address},
    )
    edits.moved.add(address)
    edits.address_versions += 1


def address_attribute(session: Session, rng: np.random.Generator, town: Town) -> None:
    """An address marked approximate or not: no move, so no version."""
    session.execute(
        text("UPDATE addresses SET approximate = NOT approximate WHERE id = :id"),
        {"id": _one(rng, town.ids["addresses"])},
    )


def create(session: Session, rng: np.random.Generator, town: Town, edits: Edits) -> None:
    """A new area next to an existing one, or a new address next door to one."""
    n = edits.kinds["create"]
    dx, dy = rng.uniform(-50, 50, 2)
    if rng.random() < 0.5:
        table = "areas"
        sql = (
            "INSERT INTO areas (municipality_id, name, kind, status, funding, provider, "
            "status_since, geom) SELECT municipality_id, name || ' Erweiterung ' || :n, kind, "
            ":status, funding, provider, current_date, ST_Translate(geom, :dx, :dy) "
            "FROM areas WHERE id = :id RETURNING id"
        )
    else:
        table = "addresses"
        sql = (
            "INSERT INTO addresses (municipality_id, street, house_number, postcode, geom) "
            "SELECT municipality_id, street, house_number || ' n' || :n, postcode, "
            "ST_Translate(geom, :dx / 10, :dy / 10) FROM addresses WHERE id = :id RETURNING id"
        )
    params = {"n": n, "status": _status(rng, table), "dx": dx, "dy": dy}
    created = session.execute(text(sql), {**params, "id": _one(rng, town.ids[table])}).scalar_one()
    town.ids[table].append(int(created))


def delete(session: Session, rng: np.random.Generator, town: Town, edits: Edits) -> None:
    """An area, hamlet, school or address that should not have been there."""
    table = _pick(rng, {"areas": 0.5, "hamlets": 0.1, "schools": 0.1, "addresses": 0.3})
    if len(town.ids[table]) < 2:
        return
    feature = town.ids[table].pop(int(rng.integers(len(town.ids[table]))))
    session.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": feature})
    if table == "addresses":
        edits.deleted.add(feature)
        edits.address_versions += 1


def apply_edits(factory: sessionmaker[Session], town: Town, count: int, seed_: int) -> Edits:
    """`count` random edits, each in its own transaction with an actor, as the API writes."""
    rng = np.random.default_rng(seed_)
    edits = Edits()
    plain: dict[str, Callable[[Session, np.random.Generator, Town], None]] = {
        "status": status_change,
        "attribute": attribute_edit,
        "redraw": redraw,
        "address_attribute": address_attribute,
    }
    for i in range(count):
        kind = _pick(rng, KINDS)
        started = time.perf_counter()
        with transaction(factory, ACTOR) as session:
            if kind in plain:
                plain[kind](session, rng, town)
            elif kind == "address_move":
                address_move(session, rng, town, edits)
            elif kind == "create":
                create(session, rng, town, edits)
            else:
                delete(session, rng, town, edits)
        edits.seconds.append(time.perf_counter() - started)
        edits.kinds[kind] += 1
        if (i + 1) % 1000 == 0:
            last = [s * 1000 for s in edits.seconds[-1000:]]
            print(
                f"  {i + 1:,} edits, the last 1,000 p50 {statistics.median(last):.0f} ms",
                flush=True,
            )
    return edits


# --- sizes ------------------------------------------------------------------------------------


def _size(session: Session, table: str) -> tuple[int, int] | None:
    """Rows and bytes (table, indexes, TOAST) of a table; None if it does not exist."""
    if session.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar_one() is None:
        return None
    rows = session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    size = session.execute(text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar_one()
    return int(rows), int(size)


def sizes(engine: Engine) -> dict[str, Any]:
    """Rows and bytes of every live feature table, its versions table and the other histories."""
    found: dict[str, Any] = {}
    with make_sessionmaker(engine)() as session:
        for table in (*FEATURES, *(f"{t}_versions" for t in FEATURES), *HISTORY):
            measured = _size(session, table)
            if measured is not None:
                found[f"{table}_rows"], found[f"{table}_bytes"] = measured
    live = sum(found[f"{t}_bytes"] for t in FEATURES)
    versions = sum(found.get(f"{t}_versions_bytes", 0) for t in FEATURES)
    history = versions + sum(found.get(f"{t}_bytes", 0) for t in HISTORY if t != "changes")
    found.update(
        live_bytes=live,
        versions_bytes=versions,
        history_bytes=history,
        versions_vs_live=versions / live,
        history_vs_live=history / live,
        changes_vs_live=found["changes_bytes"] / live,
    )
    return found


def check_address_versions(engine: Engine, edits: Edits) -> str:
    """addresses_versions holds a row per address move or delete, and only for those addresses."""
    with make_sessionmaker(engine)() as session:
        ids = {int(i) for i in session.execute(text("SELECT id FROM addresses_versions")).scalars()}
        rows = session.execute(text("SELECT count(*) FROM addresses_versions")).scalar_one()
    others = ids - edits.moved - edits.deleted
    if others or rows != edits.address_versions:
        sys.exit(
            f"addresses_versions: {rows} rows, expected {edits.address_versions}; "
            f"{len(others)} addresses neither moved nor deleted: {sorted(others)[:10]}"
        )
    return (
        f"addresses_versions: {rows:,} rows, one per move or delete, all of the "
        f"{len(edits.moved):,} moved and {len(edits.deleted):,} deleted addresses"
    )


def _mb(value: int) -> str:
    return f"{value / 1_048_576:9.2f} MB"


def report(found: dict[str, Any]) -> list[str]:
    lines = [
        f"  {'table':22s} {'rows':>10s} {'size':>12s}   {'versions':>10s} {'size':>12s}  ratio"
    ]
    for table in FEATURES:
        rows, size = found[f"{table}_rows"], found[f"{table}_bytes"]
        v_rows = found.get(f"{table}_versions_rows", 0)
        v_size = found.get(f"{table}_versions_bytes", 0)
        lines.append(
            f"  {table:22s} {rows:10,d} {_mb(size)}   {v_rows:10,d} {_mb(v_size)}  "
            f"{v_size / size:5.2f}"
        )
    for table in HISTORY:
        if f"{table}_rows" in found:
            lines.append(
                f"  {table:22s} {found[f'{table}_rows']:10,d} {_mb(found[f'{table}_bytes'])}   "
                f"{'':10s} {'':12s}  {found[f'{table}_bytes'] / found['live_bytes']:5.2f}"
            )
    lines += [
        f"  live feature tables (the baseline)           {_mb(found['live_bytes'])}",
        f"  versions / live                              {found['versions_vs_live']:12.3f} x",
        f"  versions + statuses + address states / live  {found['history_vs_live']:12.3f} x",
        f"  change log / live                            {found['changes_vs_live']:12.3f} x",
    ]
    return lines


def _database(url: str) -> str:
    return str(make_url(url).database)


def benchmark_set_loaded(engine: Engine) -> bool:
    with make_sessionmaker(engine)() as session:
        if session.execute(text("SELECT to_regclass('municipality')")).scalar_one() is None:
            return False
        return bool(
            session.execute(
                text("SELECT EXISTS (SELECT FROM municipality WHERE ags = :a)"),
                {"a": BENCHMARK_AGS},
            ).scalar_one()
        )


def seeded_town(engine: Engine, factory: sessionmaker[Session]) -> Town:
    """The test database emptied and migrated (as the test suite does), Coesfeld seeded."""
    schema.downgrade(engine, "base")
    schema.upgrade(engine)
    seed(factory, DEFAULT_PACKAGE, actor=ACTOR)
    with factory() as session:
        m = int(session.execute(text("SELECT id FROM municipality")).scalar_one())
        ids = {
            table: [
                int(i)
                for i in session.execute(
                    text(f"SELECT id FROM {table} WHERE municipality_id = :m ORDER BY id"),
                    {"m": m},
                ).scalars()
            ]
            for table in ("areas", "hamlets", "schools", "addresses")
        }
    rng = np.random.default_rng(0)
    ids["addresses"] = sorted(rng.choice(ids["addresses"], SAMPLE, replace=False).tolist())
    return Town(m, ids)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--sizes-only", action="store_true", help="report the database as it stands"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    url = Settings().test_database_url
    if not url:
        sys.exit("BROADBAND_TEST_DATABASE_URL is not set: this benchmark empties its database")
    engine = make_engine(Settings(database_url=url))
    results: dict[str, Any] = {"database": _database(url)}
    lines: list[str] = []
    if args.sizes_only:
        lines.append(f"history sizes of {results['database']} as it stands:")
    else:
        if benchmark_set_loaded(engine):
            sys.exit(f"{results['database']} holds benchmarks/coverage.py's set: --sizes-only")
        factory = make_sessionmaker(engine)
        town = seeded_town(engine, factory)
        started = time.perf_counter()
        edits = apply_edits(factory, town, args.edits, args.seed)
        elapsed = time.perf_counter() - started
        ms = [s * 1000 for s in edits.seconds]
        results.update(
            edits=args.edits,
            seed=args.seed,
            edits_s=elapsed,
            edit_p50_ms=statistics.median(ms),
            edit_p95_ms=float(np.percentile(ms, 95)),
            **{f"{kind}_edits": n for kind, n in sorted(edits.kinds.items())},
        )
        lines += [
            f"Coesfeld seeded, then {args.edits:,} edits (seed {args.seed}) in {elapsed:.1f} s, "
            f"p50 / p95 {results['edit_p50_ms']:.1f} / {results['edit_p95_ms']:.1f} ms each:",
            "  " + ", ".join(f"{kind} {n:,}" for kind, n in edits.kinds.most_common()),
            "  " + check_address_versions(engine, edits),
        ]
    results.update(sizes(engine))
    engine.dispose()
    print("\n".join(lines + report(results)))
    print(json.dumps(rounded(results)))


if __name__ == "__main__":
    main()
