"""How fast are coverage figures at a million addresses? Maintained state against recomputing.

Usage: python -m benchmarks.coverage --addresses 1000000 --areas 20000 [--requests 200]
       [--seed 42] [--repeat 3] [--changes 6] [--past 20] [--fresh] [--drop]

The service keeps per-address coverage up to date with triggers, so a figure is a lookup. This
measures, in one run, what that buys against the alternatives: the full recompute of every
address's best status from the features' current statuses over the stored containment pairs
(which only change with geometry) counted by district; the full rebuild of the whole state from
geometry (`broadband_rebuild_coverage`, once); a straightforward geopandas sjoin + groupby and a
plain PostGIS join; checks they all give the same counts per district; times `GET /coverage` on
the real app (uvicorn on loopback) and how soon one area's status change shows in the figure;
and what the time machine costs: the summary and the districts a year back computed as the routes
do on a cache miss, and `broadband_coverage_at` counted by district, against today's cache miss.

Works on the test database (BROADBAND_TEST_DATABASE_URL), migrating it to head if needed, with
its own synthetic municipality (AGS 09999999, "Benchmarkstadt": 40 km × 40 km in EPSG:25832,
20 districts, random overlapping areas, 300 hamlets, clustered addresses) generated with
numpy from --seed and loaded with COPY in one bulk load (service/db/bulk.py), timed against a
COPY of the same address rows into a bare table (copy_baseline_s). A later run with the same
parameters reuses it unless --fresh is given; --drop deletes it at the end. Prints a table, then
one JSON line with the goals' ratios (rebuild_vs_postgis_join, load_vs_copy_and_join,
as_of_vs_uncached).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, TypeVar

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import psycopg
import shapely
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.core.settings import Settings
from service.core.vocabulary import Connection, Funding, Kind, Status
from service.coverage import figures, queries
from service.coverage.rules import RANK, Breakdown
from service.db import schema
from service.db.engine import make_engine, make_sessionmaker
from service.main import create_app

AGS = "09999999"
NAME = "Benchmarkstadt"
SRID = 25832
CENTRE = np.array([400_000.0, 5_700_000.0])
HALF = 20_000.0  # half the side of the square, metres
GRID = (5, 4)  # districts: columns × rows
TOWNS, TOWN_SPREAD = 60, 1_500.0  # most areas cluster around town centres
RADIUS = (40.0, 250.0)
HAMLETS, HAMLET_RADIUS = 300, (150.0, 400.0)
SCHOOLS = 40
IN_AREAS = 0.7  # share of addresses placed inside an area; the rest are scattered
STATUS_P = {
    Status.CONNECTED: 0.35,
    Status.UNDER_CONSTRUCTION: 0.15,
    Status.IN_PREPARATION: 0.15,
    Status.PLANNED: 0.2,
    Status.INSUFFICIENT_DEMAND: 0.15,
}
PROVIDERS = ["Deutsche Glasfaser", "Telekom", "Westconnect", "Muenet", None]
CHILD_TABLES = ("addresses", "areas", "hamlets", "schools", "districts")
STATE_TABLES = (
    "municipality",
    *CHILD_TABLES,
    "address_features",
    "address_coverage",
    "coverage_counts",
    "status_history",
)
POLL_TIMEOUT_S = 60.0

Conn = psycopg.Connection[tuple[Any, ...]]
Counts = dict[int | None, tuple[int, int]]  # district -> (connected, all addresses)
T = TypeVar("T")


@dataclass
class Layer:
    """Rows of one table to COPY, column by column (the municipality id is added on load)."""

    table: str
    columns: dict[str, list[Any]]


@dataclass
class Synthetic:
    """The generated municipality, and a fingerprint to recognise it in the database."""

    boundary: str
    layers: list[Layer]
    fingerprint: tuple[float, ...] = field(default=())


# --- generation -------------------------------------------------------------------------------


def _ewkb(geometries: Any) -> list[str]:
    """Hex EWKB in the storage SRID, the cheapest exact text form for COPY."""
    hexes = shapely.to_wkb(shapely.set_srid(geometries, SRID), hex=True, include_srid=True)
    return [str(value) for value in hexes]


def _multi(polygons: Any) -> Any:
    """One MultiPolygon per Polygon (the tables store MultiPolygons)."""
    return shapely.multipolygons(np.asarray(polygons)[:, np.newaxis])


def _dates(rng: np.random.Generator, today: dt.date, n: int, days: int = 3000) -> list[Any]:
    """Random dates in the last `days` days, never after today."""
    offsets = rng.integers(0, days, n).astype("timedelta64[D]")
    return list((np.datetime64(today, "D") - offsets).tolist())


def _choice(rng: np.random.Generator, values: Sequence[Any], n: int, p: Any = None) -> list[Any]:
    return list(rng.choice(np.array(values, dtype=object), size=n, p=p).tolist())


def _districts() -> Layer:
    columns, rows = GRID
    xs = np.linspace(-HALF, HALF, columns + 1) + CENTRE[0]
    ys = np.linspace(-HALF, HALF, rows + 1) + CENTRE[1]
    boxes = shapely.box(xs[None, :-1], ys[:-1, None], xs[None, 1:], ys[1:, None]).ravel()
    names = [f"Bezirk {i + 1:02d}" for i in range(len(boxes))]
    return Layer("districts", {"name": names, "geom": _ewkb(_multi(boxes))})


def _area_centres(rng: np.random.Generator, n: int) -> np.ndarray:
    """80 % of the areas around town centres, the rest anywhere; all inside the square."""
    towns = rng.uniform(-HALF + 3_000, HALF - 3_000, size=(TOWNS, 2))
    centres = rng.uniform(-HALF, HALF, size=(n, 2))
    in_town = rng.random(n) < 0.8
    which = rng.integers(0, TOWNS, int(in_town.sum()))
    centres[in_town] = towns[which] + rng.normal(0, TOWN_SPREAD, size=(len(which), 2))
    limit = HALF - RADIUS[1]
    return np.asarray(np.clip(centres, -limit, limit) + CENTRE)


def _areas(rng: np.random.Generator, n: int, today: dt.date) -> tuple[Layer, np.ndarray, Any]:
    """Buffered points with random attributes; returns the layer, centres and radii."""
    centres = _area_centres(rng, n)
    radii = rng.uniform(*RADIUS, n)
    polygons = shapely.buffer(shapely.points(centres), radii, quad_segs=8)
    columns = {
        "name": [f"Ausbaugebiet {i + 1:05d}" for i in range(n)],
        "kind": _choice(rng, list(Kind), n, [0.6, 0.15, 0.25]),
        "status": _choice(rng, list(STATUS_P), n, list(STATUS_P.values())),
        "funding": _choice(rng, list(Funding), n),
        "provider": _choice(rng, PROVIDERS, n),
        "status_since": _dates(rng, today, n),
        "geom": _ewkb(_multi(polygons)),
    }
    return Layer("areas", columns), centres, radii


def _hamlets(rng: np.random.Generator, today: dt.date) -> Layer:
    limit = HALF - HAMLET_RADIUS[1]
    centres = rng.uniform(-limit, limit, size=(HAMLETS, 2)) + CENTRE
    radii = rng.uniform(*HAMLET_RADIUS, HAMLETS)
    polygons = shapely.buffer(shapely.points(centres), radii, quad_segs=8)
    columns = {
        "name": [f"Bauerschaft {i + 1:03d}" for i in range(HAMLETS)],
        "status": _choice(rng, list(STATUS_P), HAMLETS, list(STATUS_P.values())),
        "status_since": _dates(rng, today, HAMLETS),
        "demand_share": np.round(rng.random(HAMLETS), 4).tolist(),
        "geom": _ewkb(_multi(polygons)),
    }
    return Layer("hamlets", columns)


def _schools(rng: np.random.Generator, today: dt.date) -> Layer:
    points = shapely.points(rng.uniform(-HALF, HALF, size=(SCHOOLS, 2)) + CENTRE)
    columns = {
        "name": [f"Schule {i + 1:02d}" for i in range(SCHOOLS)],
        "school_type": _choice(rng, ["Grundschule", "Gesamtschule", "Gymnasium"], SCHOOLS),
        "pupils": rng.integers(80, 1_200, SCHOOLS).tolist(),
        "connection": _choice(rng, list(Connection), SCHOOLS),
        "status_since": _dates(rng, today, SCHOOLS),
        "geom": _ewkb(points),
    }
    return Layer("schools", columns)


def _address_points(
    rng: np.random.Generator, n: int, centres: np.ndarray, radii: Any
) -> np.ndarray:
    """IN_AREAS of the points inside an area (chosen by size), the rest uniform; shuffled."""
    inside = round(n * IN_AREAS)
    which = rng.choice(len(radii), size=inside, p=radii**2 / np.sum(radii**2))
    angle = rng.uniform(0, 2 * np.pi, inside)
    # 0.98: stay inside the 32-gon that approximates the circle
    reach = 0.98 * radii[which] * np.sqrt(rng.random(inside))
    near = centres[which] + np.column_stack([reach * np.cos(angle), reach * np.sin(angle)])
    scattered = rng.uniform(-HALF, HALF, size=(n - inside, 2)) + CENTRE
    return np.asarray(rng.permutation(np.vstack([near, scattered])))


def _addresses(xy: np.ndarray) -> Layer:
    """Unique (postcode, street, house number) per point; the postcode follows the grid cell."""
    columns, rows = GRID
    cell = np.floor((xy - CENTRE + HALF) / (2 * HALF) * np.array([columns, rows])).astype(int)
    district = np.clip(cell[:, 1], 0, rows - 1) * columns + np.clip(cell[:, 0], 0, columns - 1)
    postcodes = np.array([f"99{i:03d}" for i in range(columns * rows)])[district]
    count = len(xy)
    layer = {
        "street": [f"Benchmarkweg {i // 40 + 1}" for i in range(count)],
        "house_number": [str(i % 40 + 1) for i in range(count)],
        "postcode": postcodes.tolist(),
        "geom": _ewkb(shapely.points(xy)),
    }
    return Layer("addresses", layer)


def generate(addresses: int, areas: int, seed: int, today: dt.date) -> Synthetic:
    """The whole municipality from one seed: same arguments, same data."""
    rng = np.random.default_rng(seed)
    area_layer, centres, radii = _areas(rng, areas, today)
    hamlets, schools = _hamlets(rng, today), _schools(rng, today)
    xy = _address_points(rng, addresses, centres, radii)
    boundary = shapely.box(*(CENTRE - HALF), *(CENTRE + HALF))
    connected = sum(status == Status.CONNECTED for status in area_layer.columns["status"])
    fingerprint = (addresses, areas, HAMLETS, connected, float(np.sum(xy[:, 0])))
    layers = [_districts(), area_layer, hamlets, schools, _addresses(xy)]
    return Synthetic(_ewkb(_multi([boundary]))[0], layers, fingerprint)


# --- database: load, reuse, drop --------------------------------------------------------------


def _psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _actor(conn: Conn) -> None:
    conn.execute("SELECT set_config('broadband.actor', 'benchmark', true)")


def _scalar(conn: Conn, sql: str, params: Sequence[Any] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _ensure_schema(engine: Engine) -> str | None:
    """Migrate the test database to head; returns the revision it was at if it was behind."""
    with engine.connect() as connection:
        current = schema.current_revision(connection)
    if current == schema.head_revision():
        return None
    schema.upgrade(engine)
    return current or "empty"


def _copy(conn: Conn, municipality_id: int, layer: Layer) -> None:
    names = ", ".join(("municipality_id", *layer.columns))
    with conn.cursor().copy(f"COPY {layer.table} ({names}) FROM STDIN") as copy:
        for row in zip(repeat(municipality_id), *layer.columns.values(), strict=False):
            copy.write_row(row)


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _load_all(conn: Conn, data: Synthetic) -> tuple[int, float, float]:
    """The whole municipality in one bulk load (service/db/bulk.py): features, then addresses,
    then the state in one join; returns the id and the seconds of the two phases."""
    with conn.transaction():
        _actor(conn)
        # the first load of a town is its baseline: its addresses and districts existed before
        conn.execute("SELECT set_config('broadband.baseline', 'on', true)")
        started = time.perf_counter()
        m = int(
            _scalar(
                conn,
                "INSERT INTO municipality (ags, name, geom) VALUES (%s, %s, %s) RETURNING id",
                (AGS, NAME, data.boundary),
            )
        )
        conn.execute("SELECT broadband_bulk_begin()")
        for layer in data.layers:
            rows = len(next(iter(layer.columns.values())))
            conn.execute("SELECT broadband_bulk_defer(%s, %s)", (layer.table, rows))
            _copy(conn, m, layer)
        copied = time.perf_counter()
        conn.execute("SELECT broadband_bulk_end(%s)", ([m],))
    return m, copied - started, time.perf_counter() - copied


def _analyze(conn: Conn) -> None:
    conn.execute(f"ANALYZE {', '.join(STATE_TABLES)}")


def copy_baseline(conn: Conn, data: Synthetic) -> float:
    """COPY of the same address rows into a bare table: no indexes, no triggers, no state."""
    (addresses,) = (layer for layer in data.layers if layer.table == "addresses")
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE bare_addresses (LIKE addresses INCLUDING DEFAULTS "
            "INCLUDING IDENTITY) ON COMMIT DROP"
        )
        elapsed, _ = _timed(lambda: _copy(conn, 0, Layer("bare_addresses", addresses.columns)))
    return elapsed


def load(conn: Conn, data: Synthetic) -> tuple[int, dict[str, float]]:
    """One bulk load of the municipality, then ANALYZE; and the bare COPY to compare with."""
    m, copy_s, state_s = _load_all(conn, data)
    analyze_s, _ = _timed(lambda: _analyze(conn))
    phases = {"copy_s": copy_s, "state_s": state_s, "analyze_s": analyze_s}
    return m, {
        "load_s": sum(phases.values()),
        **phases,
        "copy_baseline_s": copy_baseline(conn, data),
    }


def stored_fingerprint(conn: Conn, m: int) -> tuple[float, ...]:
    """Counts and a coordinate checksum of what is stored, to compare with `generate`."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM addresses WHERE municipality_id = %(m)s), "
        "(SELECT count(*) FROM areas WHERE municipality_id = %(m)s), "
        "(SELECT count(*) FROM hamlets WHERE municipality_id = %(m)s), "
        "(SELECT count(*) FROM areas WHERE municipality_id = %(m)s AND status = 'connected'), "
        "(SELECT coalesce(sum(ST_X(geom)), 0) FROM addresses WHERE municipality_id = %(m)s)",
        {"m": m},
    ).fetchone()
    assert row is not None
    return tuple(float(value) for value in row)


def same_data(stored: tuple[float, ...], generated: tuple[float, ...]) -> bool:
    *counts, checksum = stored
    *wanted, expected = generated
    return counts == [float(c) for c in wanted] and abs(checksum - expected) < 0.01


def drop(conn: Conn, m: int) -> float:
    """Delete the municipality (derived state first: the cascades find nothing), then VACUUM."""
    started = time.perf_counter()
    with conn.transaction():
        _actor(conn)
        # removing the municipality outright: its features' past goes with it
        conn.execute("SELECT set_config('broadband.forget', 'on', true)")
        conn.execute("DELETE FROM address_coverage WHERE municipality_id = %s", (m,))
        conn.execute(
            "DELETE FROM address_features p USING addresses a "
            "WHERE p.address_id = a.id AND a.municipality_id = %s",
            (m,),
        )
        for table in CHILD_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE municipality_id = %s", (m,))
        conn.execute("DELETE FROM coverage_counts WHERE municipality_id = %s", (m,))
        conn.execute("DELETE FROM municipality WHERE id = %s", (m,))
    # a million dead rows would otherwise slow down the next load's trigger joins
    conn.execute(f"VACUUM (ANALYZE) {', '.join(STATE_TABLES)}")
    return time.perf_counter() - started


# --- the three ways to the figures ------------------------------------------------------------

AGGREGATE = (
    "SELECT district_id, best_rank, addresses FROM coverage_counts "
    "WHERE municipality_id = %s AND addresses <> 0"
)
CONNECTED_JOIN = """
SELECT d.id, count(DISTINCT a.id)
FROM addresses a
JOIN (
    SELECT geom FROM areas WHERE municipality_id = %(m)s AND status = 'connected'
    UNION ALL
    SELECT geom FROM hamlets WHERE municipality_id = %(m)s AND status = 'connected'
) s ON ST_Covers(s.geom, a.geom)
JOIN districts d ON d.municipality_id = a.municipality_id AND ST_Covers(d.geom, a.geom)
WHERE a.municipality_id = %(m)s
GROUP BY d.id
"""
TOTAL_JOIN = """
SELECT d.id, count(*)
FROM addresses a
JOIN districts d ON d.municipality_id = a.municipality_id AND ST_Covers(d.geom, a.geom)
WHERE a.municipality_id = %(m)s
GROUP BY d.id
"""


def service_counts(conn: Conn, m: int) -> Counts:
    """The by-district figure from the maintained state, as the service reads it."""
    counts: dict[int | None, list[int]] = {}
    for district, rank, addresses in conn.execute(AGGREGATE, (m,)):
        entry = counts.setdefault(district, [0, 0])
        entry[0] += addresses if rank == RANK[Status.CONNECTED] else 0
        entry[1] += addresses
    return {district: (c, t) for district, (c, t) in counts.items()}


RECOMPUTE = """
WITH statuses AS (
    SELECT 'areas' AS feature_table, id, status FROM areas WHERE municipality_id = %(m)s
    UNION ALL
    SELECT 'hamlets', id, status FROM hamlets WHERE municipality_id = %(m)s
), best AS (
    SELECT p.address_id, min(broadband_status_rank(f.status)) AS best
    FROM address_features p
    JOIN statuses f ON f.feature_table = p.feature_table AND f.id = p.feature_id
    GROUP BY p.address_id
)
SELECT c.district_id, count(*) FILTER (WHERE b.best = 1), count(*)
FROM address_coverage c LEFT JOIN best b ON b.address_id = c.address_id
WHERE c.municipality_id = %(m)s
GROUP BY c.district_id
"""


def recompute(conn: Conn, m: int) -> Counts:
    """Every address's best status recomputed from the features' current statuses over the
    stored containment pairs (which change only with geometry), then counted by district."""
    return {district: (c, t) for district, c, t in conn.execute(RECOMPUTE, {"m": m})}


def rebuild(conn: Conn, m: int) -> Counts:
    """Rebuild the whole state from geometry (containment, best status, counts), then aggregate."""
    with conn.transaction():
        conn.execute("SELECT broadband_rebuild_coverage(%s)", (m,))
    return service_counts(conn, m)


def postgis_join(conn: Conn, m: int) -> Counts:
    """A plain spatial join, without the maintained state."""
    connected: dict[int, int] = dict(conn.execute(CONNECTED_JOIN, {"m": m}).fetchall())
    totals: dict[int, int] = dict(conn.execute(TOTAL_JOIN, {"m": m}).fetchall())
    return {district: (connected.get(district, 0), total) for district, total in totals.items()}


@dataclass
class Frames:
    """Addresses, areas + hamlets, and districts of the municipality in memory."""

    addresses: gpd.GeoDataFrame
    polygons: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame


def read_frames(engine: Engine, m: int) -> Frames:
    def read(sql: str, index: str | None = None) -> gpd.GeoDataFrame:
        return gpd.read_postgis(text(sql), engine, "geom", index_col=index, params={"m": m})

    return Frames(
        read("SELECT id, geom FROM addresses WHERE municipality_id = :m", "id"),
        read(
            "SELECT status, geom FROM areas WHERE municipality_id = :m "
            "UNION ALL SELECT status, geom FROM hamlets WHERE municipality_id = :m"
        ),
        read("SELECT id AS district_id, geom FROM districts WHERE municipality_id = :m"),
    )


def geopandas_counts(frames: Frames) -> Counts:
    """Best status over all covering polygons per address, then counted by district."""
    polygons = frames.polygons.assign(rank=frames.polygons["status"].map(RANK))
    hits = gpd.sjoin(frames.addresses, polygons[["rank", "geom"]], predicate="intersects")
    best = hits.groupby(level=0)["rank"].min().reindex(frames.addresses.index, fill_value=6)
    located = gpd.sjoin(frames.addresses, frames.districts, predicate="intersects")
    district = located.groupby(level=0)["district_id"].min()  # lowest id, as the service does
    table = pd.DataFrame({"district": district.reindex(best.index), "connected": best.eq(1)})
    grouped = table.groupby("district", dropna=False)["connected"].agg(["sum", "size"])
    return {
        None if pd.isna(key) else int(key): (int(row["sum"]), int(row["size"]))
        for key, row in grouped.iterrows()
    }


def median_of(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """Median wall time of `runs` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        elapsed, result = _timed(work)
        times.append(elapsed)
    assert result is not None
    return statistics.median(times), result


def verify(results: dict[str, Counts]) -> str:
    """One line saying the methods agree, or exit with the districts where they differ."""
    (first, expected), *others = results.items()
    wrong = [
        f"  {name} district {d}: {counts.get(d)} vs {first} {expected.get(d)}"
        for name, counts in others
        for d in sorted(set(counts) | set(expected), key=str)
        if counts.get(d) != expected.get(d)
    ]
    if wrong:
        sys.exit("the methods DISAGREE (connected, total):\n" + "\n".join(wrong))
    connected = sum(c for c, _ in expected.values())
    total = sum(t for _, t in expected.values())
    return (
        f"{', '.join(results)} agree in all {len(expected)} districts: "
        f"{connected:,} of {total:,} addresses connected"
    )


# --- the served figure ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(url: str) -> Iterator[str]:
    """The real app under uvicorn in a background thread; yields its base URL."""
    port = _free_port()
    app = create_app(Settings(database_url=url))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def numerator(client: httpx.Client, path: str) -> int:
    response = client.get(path)
    response.raise_for_status()
    return int(response.json()["addresses"]["numerator"])


def latencies_ms(client: httpx.Client, paths: Sequence[str]) -> list[float]:
    times = []
    for path in paths:
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def pick_area(conn: Conn, m: int) -> tuple[int, str, dt.date, int]:
    """The connected area with the most addresses that no other connected feature covers."""
    row = conn.execute(
        "SELECT s.id, s.status, s.status_since, count(*) FROM areas s "
        "JOIN address_features p ON p.feature_table = 'areas' AND p.feature_id = s.id "
        "WHERE s.municipality_id = %s AND s.status = 'connected' AND NOT EXISTS ("
        "  SELECT 1 FROM address_features q WHERE q.address_id = p.address_id AND q.rank = 1"
        "  AND (q.feature_table, q.feature_id) <> ('areas', s.id)) "
        "GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT 1",
        (m,),
    ).fetchone()
    if row is None:
        sys.exit("no connected area covers an address on its own: use more addresses")
    return int(row[0]), str(row[1]), row[2], int(row[3])


def _flip(conn: Conn, area: int, status: str, since: dt.date | None = None) -> tuple[float, float]:
    """One committed status change (today unless `since`): when the UPDATE started, committed."""
    with conn.transaction():
        _actor(conn)
        started = time.perf_counter()
        conn.execute(
            "UPDATE areas SET status = %s, status_since = coalesce(%s, current_date) WHERE id = %s",
            (status, since, area),
        )
    return started, time.perf_counter()


def _served(client: httpx.Client, path: str, want: int, old: int, started: float) -> float:
    """Poll (no sleeping) until the figure shows `want`; seconds since `started`."""
    while True:
        value = numerator(client, path)
        if value == want:
            return time.perf_counter() - started
        if value != old:
            sys.exit(f"served numerator {value}, expected {want} (before: {old})")
        if time.perf_counter() - started > POLL_TIMEOUT_S:
            sys.exit(f"the change did not show within {POLL_TIMEOUT_S:.0f} s")


def change_to_figure(
    conn: Conn, client: httpx.Client, path: str, area: int, sole: int, changes: int
) -> tuple[list[float], list[float]]:
    """Flip the connected area off and on; seconds to the served figure, and for the UPDATE."""
    connected = numerator(client, path)
    expected = {Status.INSUFFICIENT_DEMAND: connected - sole, Status.CONNECTED: connected}
    served, updates = [], []
    for i in range(changes):
        status = Status.INSUFFICIENT_DEMAND if i % 2 == 0 else Status.CONNECTED
        other = Status.CONNECTED if i % 2 == 0 else Status.INSUFFICIENT_DEMAND
        started, committed = _flip(conn, area, status)
        served.append(_served(client, path, expected[status], expected[other], started))
        updates.append(committed - started)
    return served, updates


# --- run --------------------------------------------------------------------------------------


def _progress(message: str) -> None:
    print(message, flush=True)


def _percentile(values: Sequence[float], pct: float) -> float:
    return float(np.percentile(np.asarray(values), pct))


def prepare(conn: Conn, args: argparse.Namespace) -> tuple[int, dict[str, float] | None]:
    """Reuse the stored municipality if it is this exact data set, else (re)load it."""
    today: dt.date = _scalar(conn, "SELECT current_date")
    generated_s, data = _timed(lambda: generate(args.addresses, args.areas, args.seed, today))
    _progress(
        f"generated {args.addresses:,} addresses, {args.areas:,} areas in {generated_s:.1f} s"
    )
    m = _scalar(conn, "SELECT id FROM municipality WHERE ags = %s", (AGS,))
    if (
        m is not None
        and not args.fresh
        and same_data(stored_fingerprint(conn, m), data.fingerprint)
    ):
        _progress(f"reusing municipality {AGS} (id {m}) from an earlier run")
        return int(m), None
    if m is not None:
        _progress(f"dropped the earlier municipality {AGS} in {drop(conn, m):.1f} s")
    _progress(f"loading municipality {AGS} with COPY ...")
    m, timings = load(conn, data)
    _progress(f"loaded in {timings['load_s']:.1f} s")
    return m, {"generate_s": generated_s, **timings}


def measure_methods(conn: Conn, engine: Engine, m: int, repeat: int) -> dict[str, float]:
    """Maintained state, full rebuild, PostGIS join and geopandas: timed and cross-checked."""
    maintained = service_counts(conn, m)
    aggregate_s, _ = median_of(max(repeat, 25), lambda: service_counts(conn, m))
    recompute_s, recomputed = median_of(repeat, lambda: recompute(conn, m))
    _progress(f"recompute {recompute_s:.2f} s")
    rebuild_s, rebuilt = median_of(1, lambda: rebuild(conn, m))
    conn.execute("VACUUM (ANALYZE) address_features, address_coverage, coverage_counts")
    _progress(f"rebuild {rebuild_s:.2f} s")
    join_s, joined = median_of(repeat, lambda: postgis_join(conn, m))
    _progress(f"PostGIS join {join_s:.2f} s")
    frames = read_frames(engine, m)
    geopandas_s, by_geopandas = median_of(repeat, lambda: geopandas_counts(frames))
    _progress(f"geopandas {geopandas_s:.2f} s")
    _progress(
        verify(
            {
                "maintained state": maintained,
                "recompute": recomputed,
                "rebuild": rebuilt,
                "geopandas": by_geopandas,
                "PostGIS join": joined,
            }
        )
    )
    return {
        "recompute_s": recompute_s,
        "rebuild_s": rebuild_s,
        "aggregate_s": aggregate_s,
        "geopandas_s": geopandas_s,
        "postgis_join_s": join_s,
    }


def measure_api(conn: Conn, url: str, m: int, requests: int, changes: int) -> dict[str, float]:
    """Latency of the served summary (cached and not) and the time from a change to its figure."""
    path = f"/coverage?ags={AGS}"
    area, status, since, sole = pick_area(conn, m)
    before = service_counts(conn, m)
    with serving(url) as base, httpx.Client(base_url=base, timeout=60) as client:
        numerator(client, path)  # warm-up: fills the cache for this data version
        cached = latencies_ms(client, [path] * requests)
        uncached = uncached_summary_ms(url, 20)
        served, updates = change_to_figure(conn, client, path, area, sole, changes)
        _flip(conn, area, status, since)
    if service_counts(conn, m) != before:
        sys.exit(f"the counts differ after the status of area {area} was restored")
    return {
        "coverage_p50_ms": statistics.median(cached),
        "coverage_p95_ms": _percentile(cached, 95),
        "coverage_uncached_ms": statistics.median(uncached),
        "single_change_ms": statistics.median(served) * 1000,
        "update_ms": statistics.median(updates) * 1000,
        "changed_addresses": sole,
    }


def uncached_ms(url: str, runs: int, work: Callable[[Session], object]) -> list[float]:
    """What a cache miss costs: the figures computed in-process, as the route does on a miss."""
    engine = make_engine(Settings(database_url=url))
    times = []
    with make_sessionmaker(engine)() as session:
        for _ in range(runs):
            started = time.perf_counter()
            work(session)
            times.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return times


def uncached_summary_ms(url: str, runs: int) -> list[float]:
    """Today's summary on a cache miss: a lookup in the maintained state."""
    return uncached_ms(url, runs, lambda session: figures.summary(session, AGS, None))


COVERAGE_AT = (
    "SELECT district_id, best_rank, count(*) FROM broadband_coverage_at(%s, %s) "
    "WHERE NOT moved GROUP BY 1, 2"
)


def counts_at(conn: Conn, m: int, day: dt.date) -> dict[int | None, dict[int, int]]:
    """Counts per district and best rank on a past day from the versions (the SQL functions)."""
    counts: dict[int | None, dict[int, int]] = {}
    for district, rank, addresses in conn.execute(COVERAGE_AT, (m, day)):
        counts.setdefault(district, {})[int(rank)] = int(addresses)
    return counts


def measure_past(conn: Conn, url: str, m: int, runs: int) -> dict[str, Any]:
    """A year back, uncached: the summary and the districts as the routes compute them on a
    cache miss, and `broadband_coverage_at` counted by district; do the two count alike?"""
    day: dt.date = _scalar(conn, "SELECT current_date - 365")
    summary = uncached_ms(url, runs, lambda session: figures.summary(session, AGS, day))
    districts = uncached_ms(
        url, runs, lambda session: figures.units(session, Breakdown.DISTRICT, AGS, day)
    )
    function_s, by_function = median_of(max(runs // 4, 3), lambda: counts_at(conn, m, day))
    engine = make_engine(Settings(database_url=url))
    with make_sessionmaker(engine)() as session:
        served = queries.counts_by_district(session, m, day)
    engine.dispose()
    return {
        "as_of": day.isoformat(),
        "as_of_p50_ms": statistics.median(summary),
        "as_of_p95_ms": _percentile(summary, 95),
        "as_of_districts_p50_ms": statistics.median(districts),
        "as_of_districts_p95_ms": _percentile(districts, 95),
        "coverage_at_ms": function_s * 1000,
        "as_of_agrees": served == by_function,
    }


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Each method against the maintained state, and the goals' ratios (see the README)."""
    found = {
        f"{method}_vs_{base}": results[f"{method}_s"] / results[f"{base}_s"]
        for base in ("recompute", "aggregate")
        for method in ("geopandas", "postgis_join")
    }
    found["rebuild_vs_postgis_join"] = results["rebuild_s"] / results["postgis_join_s"]
    found["as_of_vs_uncached"] = results["as_of_p50_ms"] / results["coverage_uncached_ms"]
    found["as_of_vs_recompute"] = results["as_of_p50_ms"] / (results["recompute_s"] * 1000)
    if results["load_s"] is not None:
        budget = results["copy_baseline_s"] + results["postgis_join_s"]
        found["load_vs_copy_and_join"] = results["load_s"] / budget
    return found


def _table(args: argparse.Namespace, results: dict[str, Any]) -> list[str]:
    load = (
        f"{results['load_s']:8.1f} s  (COPY {results['copy_s']:.1f} s, state "
        f"{results['state_s']:.1f} s, ANALYZE {results['analyze_s']:.1f} s)\n"
        f"  COPY of the addresses into a bare table {results['copy_baseline_s']:8.1f} s\n"
        f"  load / (bare COPY + PostGIS join)     "
        f"{results['load_vs_copy_and_join']:10.2f} x  (goal <= 2)"
        if results["load_s"] is not None
        else "  reused from an earlier run (--fresh to reload)"
    )
    r = results
    dropped = (
        [f"  --drop: deleted again (with VACUUM)     {r['drop_s']:10.1f} s"]
        if "drop_s" in r
        else []
    )
    return [
        f"{NAME} (AGS {AGS}): {args.addresses:,} addresses, {args.areas:,} areas, "
        f"{HAMLETS} hamlets, {GRID[0] * GRID[1]} districts; seed {args.seed}",
        f"  bulk load (COPY, then one join for the state): {load}",
        f"median of {args.repeat} runs (aggregate: of {max(args.repeat, 25)}):",
        f"  recompute statuses from pairs + count  {r['recompute_s']:10.3f} s",
        f"  rebuild everything from geometry (1x)  {r['rebuild_s']:10.3f} s",
        f"  aggregate maintained state only        {r['aggregate_s'] * 1000:10.3f} ms",
        f"  geopandas sjoin + groupby (in memory)  {r['geopandas_s']:10.3f} s",
        f"  plain PostGIS join                     {r['postgis_join_s']:10.3f} s",
        f"  geopandas / recompute                  {r['geopandas_vs_recompute']:10.2f} x",
        f"  PostGIS join / recompute               {r['postgis_join_vs_recompute']:10.2f} x",
        f"  rebuild / PostGIS join                 {r['rebuild_vs_postgis_join']:10.2f} x"
        "  (goal <= 1.5)",
        f"  geopandas / aggregate                  {r['geopandas_vs_aggregate']:10.0f} x",
        f"  PostGIS join / aggregate               {r['postgis_join_vs_aggregate']:10.0f} x",
        f"GET /coverage?ags={AGS}, {args.requests} requests after a warm-up:",
        f"  p50 / p95 (cached)                     {r['coverage_p50_ms']:10.2f} / "
        f"{r['coverage_p95_ms']:.2f} ms",
        f"  summary on a cache miss (20 runs)      {r['coverage_uncached_ms']:10.2f} ms",
        f"one area's status change ({r['changed_addresses']:,} addresses), "
        f"median of {args.changes}:",
        f"  UPDATE + COMMIT (with trigger work)    {r['update_ms']:10.2f} ms",
        f"  UPDATE until the figure is served      {r['single_change_ms']:10.2f} ms",
        f"as_of {r['as_of']} (a year back), uncached, {args.past} runs:",
        f"  summary p50 / p95                      {r['as_of_p50_ms']:10.1f} / "
        f"{r['as_of_p95_ms']:.1f} ms  (goal p50 <= 200 ms)",
        f"  districts p50 / p95                    {r['as_of_districts_p50_ms']:10.1f} / "
        f"{r['as_of_districts_p95_ms']:.1f} ms",
        f"  broadband_coverage_at by district      {r['coverage_at_ms']:10.1f} ms  "
        f"({'agrees' if r['as_of_agrees'] else 'DISAGREES'} with the served counts)",
        f"  summary / today's cache miss           {r['as_of_vs_uncached']:10.1f} x",
        f"  summary / recompute from pairs         {r['as_of_vs_recompute']:10.3f} x",
        *dropped,
        f"whole run                              {r['total_s']:10.1f} s",
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="GET /coverage requests")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--changes", type=int, default=6, help="status changes (median)")
    parser.add_argument("--past", type=int, default=20, help="uncached figures a year back")
    parser.add_argument("--fresh", action="store_true", help="regenerate even if stored")
    parser.add_argument("--drop", action="store_true", help="delete the municipality at the end")
    return parser.parse_args()


def rounded(results: dict[str, Any]) -> dict[str, Any]:
    """Four significant digits, for the JSON line."""
    return {
        key: float(f"{value:.4g}") if isinstance(value, float) else value
        for key, value in results.items()
    }


def main() -> None:
    args = parse_args()
    url = Settings().test_database_url
    if not url:
        sys.exit("BROADBAND_TEST_DATABASE_URL is not set: this benchmark writes a million rows")
    started = time.perf_counter()
    engine = make_engine(Settings(database_url=url))
    migrated = _ensure_schema(engine)
    if migrated:
        _progress(f"migrated the test database from revision {migrated} to head")
    with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
        m, loading = prepare(conn, args)
        results: dict[str, Any] = {
            "addresses": args.addresses,
            "areas": args.areas,
            "seed": args.seed,
            **(loading or {"load_s": None}),
            **measure_methods(conn, engine, m, args.repeat),
            **measure_api(conn, url, m, args.requests, args.changes),
            **measure_past(conn, url, m, args.past),
        }
        if args.drop:
            results["drop_s"] = drop(conn, m)
    engine.dispose()
    results.update(ratios(results), total_s=time.perf_counter() - started)
    print("\n".join(_table(args, results)))
    print(json.dumps(rounded(results)))


if __name__ == "__main__":
    main()
