"""Items and vector tiles against tipg: the same questions to both services, one worker each.

Usage: python -m benchmarks.items [--duration 20] [--rounds 3] [--connections 8]
       [--only NAME ...] [--addresses 1000000] [--areas 20000] [--seed 42]

Runs on the test database (BROADBAND_TEST_DATABASE_URL) with the synthetic municipality of
benchmarks/coverage.py (AGS 09999999), generated and loaded first if it is not stored yet.
tipg (pinned in benchmarks/requirements-tipg.txt) is installed into a virtual environment of
its own under benchmarks/.tipg-venv and served by uvicorn with one worker; the service by
`broadband serve --workers 1`. Debian's `wrk` (installed with apt-get when missing) loads each
pair of URLs in turn, `wrk -t1 -c8 --latency`, rounds interleaved, the order inside a pair
alternating per round; medians of the rounds are compared. Before measuring, the features each
service returns are counted: a difference is reported (tipg widens a bbox given in longitude
and latitude to the box around its projected corners, the service intersects the box itself).
Tile queries run once the service answers `/collections/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}`.
Prints a table, then one JSON line with the ratios (service req/s ÷ tipg req/s).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
import pyproj

from benchmarks import coverage as dataset
from service.core.settings import Settings
from service.db.engine import make_engine
from service.layers import COLLECTIONS
from service.ops.processes import free_port, serve

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-tipg.txt"
TIPG_VENV = HERE / ".tipg-venv"
SCHEMA = "public"
BBOX_SHARE = 0.01  # of the municipality's area
READY_TIMEOUT_S = 120.0
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Query:
    """One question, in the service's dialect and in tipg's."""

    name: str
    ours: str
    tipg: str
    tile: bool = False


@dataclass
class Measured:
    """What wrk saw for one URL over the rounds."""

    rates: list[float] = field(default_factory=list)
    p99s_ms: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def p99_ms(self) -> float:
        return statistics.median(self.p99s_ms)


# --- tools: wrk and tipg ----------------------------------------------------------------------


def _progress(message: str) -> None:
    print(message, flush=True)


def ensure_wrk() -> str:
    """Debian's wrk, installed with apt-get as the Makefile installs its other tools."""
    found = shutil.which("wrk")
    if found:
        return found
    _progress("installing wrk (apt-get)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    apt = [*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    for step in (["update", "-qq"], ["install", "-y", "-qq", "wrk"]):
        if subprocess.run([*apt, *step], check=False).returncode != 0:
            sys.exit("wrk is missing and apt-get could not install it: `apt-get install wrk`")
    return shutil.which("wrk") or sys.exit("wrk is still not on PATH after apt-get install")


def ensure_tipg() -> Path:
    """tipg in its own virtual environment, reinstalled when the pinned requirements change."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    stamp = TIPG_VENV / f".installed-{digest}"
    python = TIPG_VENV / "bin" / "python"
    if stamp.exists():
        return TIPG_VENV / "bin"
    _progress(f"installing tipg into {TIPG_VENV.relative_to(HERE.parent)} ...")
    venv.create(TIPG_VENV, with_pip=True, clear=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.touch()
    return TIPG_VENV / "bin"


@contextlib.contextmanager
def tipg_served(bin_dir: Path, database_url: str) -> Iterator[str]:
    """tipg under uvicorn, one worker, on the same database and schema; yields its base URL."""
    port = free_port()
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": database_url,
        "TIPG_DB_SCHEMAS": json.dumps([SCHEMA]),
        "TIPG_NAME": "tipg",
    }
    folder = Path(tempfile.mkdtemp(prefix="tipg-"))  # no .env there for tipg to read
    log = folder / "tipg.log"
    command = [
        str(bin_dir / "uvicorn"),
        "tipg.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=environment,
            cwd=folder,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(url + f"/collections/{SCHEMA}.areas", process, log)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"tipg exited with {process.returncode}: {log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    sys.exit(f"tipg did not answer {url} within {READY_TIMEOUT_S:.0f} s")


# --- the questions ----------------------------------------------------------------------------


def _tile(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The WebMercatorQuad tile (x, y) holding a point."""
    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _bbox_crs84() -> str:
    """A square of 1 % of the municipality around its centre, in longitude/latitude."""
    half = dataset.HALF * math.sqrt(BBOX_SHARE)
    (x1, y1), (x2, y2) = dataset.CENTRE - half, dataset.CENTRE + half
    to_lonlat = pyproj.Transformer.from_crs(dataset.SRID, 4326, always_xy=True)
    lons, lats = to_lonlat.transform([x1, x1, x2, x2], [y1, y2, y1, y2])
    # The projected corners' own box would reach past the square; its inside does not.
    west, east = max(lons[0], lons[1]), min(lons[2], lons[3])
    south, north = max(lats[0], lats[2]), min(lats[1], lats[3])
    return ",".join(f"{value:.6f}" for value in (west, south, east, north))


def _properties(collection: str) -> str:
    """What the service returns of a feature, so tipg is asked for the same columns."""
    return ",".join([*COLLECTIONS[collection].fields, "updated_at"])


def queries(feature_id: int) -> list[Query]:
    """The six item questions and four tiles, each in both dialects."""

    def pair(name: str, collection: str, params: dict[str, Any], suffix: str = "") -> Query:
        ours = f"/collections/{collection}/items{suffix}"
        theirs = f"/collections/{SCHEMA}.{collection}/items{suffix}"
        tipg_params = {**params, "properties": _properties(collection)}
        return Query(
            name,
            ours + ("?" + urlencode(params) if params else ""),
            theirs + "?" + urlencode(tipg_params),
        )

    items = [
        pair("areas limit=100", "areas", {"limit": 100}),
        pair("areas offset=10000", "areas", {"limit": 100, "offset": 10_000}),
        pair("areas bbox 1 %", "areas", {"limit": 100, "bbox": _bbox_crs84()}),
        pair("addresses limit=1000", "addresses", {"limit": 1000}),
        pair("areas status=connected", "areas", {"limit": 100, "status": "connected"}),
        pair("areas one by id", "areas", {}, f"/{feature_id}"),
    ]
    lon, lat = pyproj.Transformer.from_crs(dataset.SRID, 4326, always_xy=True).transform(
        *(dataset.CENTRE + 500.0)
    )
    tiles = []
    for zoom in (14, 12):
        x, y = _tile(lon, lat, zoom)
        for collection in ("areas", "addresses"):
            path = f"tiles/WebMercatorQuad/{zoom}/{x}/{y}"
            tiles.append(
                Query(
                    f"{collection} tile z{zoom}",
                    f"/collections/{collection}/{path}",
                    f"/collections/{SCHEMA}.{collection}/{path}",
                    tile=True,
                )
            )
    return items + tiles


def middle_area(conn: dataset.Conn, m: int) -> int:
    """An area in the middle of the benchmark municipality's ids."""
    found = dataset._scalar(
        conn,
        "SELECT id FROM areas WHERE municipality_id = %s ORDER BY id "
        "OFFSET (SELECT count(*) / 2 FROM areas WHERE municipality_id = %s) LIMIT 1",
        (m, m),
    )
    return int(found)


# --- checking and loading ---------------------------------------------------------------------


def _counts(client: httpx.Client, url: str, tile: bool) -> str:
    """How much one answer holds: features matched/returned, one feature's id, a tile's bytes."""
    response = client.get(url)
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    if tile:
        return f"{len(response.content):,} B"
    body = response.json()
    if body.get("type") == "Feature":
        return f"feature {body.get('id')}"
    return f"{body.get('numberMatched')}/{len(body['features'])}"


def compare(ours: str, tipg: str, plan: list[Query]) -> dict[str, tuple[str, str]]:
    """What each service answers to each question, before any load."""
    with httpx.Client(timeout=120) as client:
        return {
            q.name: (_counts(client, ours + q.ours, q.tile), _counts(client, tipg + q.tipg, q.tile))
            for q in plan
        }


def _milliseconds(text: str) -> float:
    found = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if found is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(found[1]) * UNITS_MS[found[2]]


def run_wrk(wrk: str, url: str, duration_s: int, connections: int) -> tuple[float, float, int]:
    """Requests per second, p99 latency in ms and non-2xx answers of one wrk run."""
    command = [wrk, "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    failed = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", output)
    errors = re.search(r"Socket errors:.*?timeout ([0-9]+)", output)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    failures = int(failed[1]) if failed else 0
    return float(rate[1]), _milliseconds(p99[1]), failures + (int(errors[1]) if errors else 0)


def measure(
    wrk: str, bases: dict[str, str], plan: list[Query], args: argparse.Namespace
) -> dict[tuple[str, str], Measured]:
    """Every URL of both services, round after round, the order inside a pair alternating."""
    results = {(q.name, side): Measured() for q in plan for side in bases}
    with httpx.Client(timeout=120) as client:  # warm both: pools, plans, caches
        for q in plan:
            for _ in range(3):
                client.get(bases["ours"] + q.ours)
                client.get(bases["tipg"] + q.tipg)
    for round_ in range(args.rounds):
        sides = ["ours", "tipg"] if round_ % 2 == 0 else ["tipg", "ours"]
        for q in plan:
            for side in sides:
                path = q.ours if side == "ours" else q.tipg
                rate, p99, failures = run_wrk(
                    wrk, bases[side] + path, args.duration, args.connections
                )
                measured = results[(q.name, side)]
                measured.rates.append(rate)
                measured.p99s_ms.append(p99)
                measured.failures += failures
                _progress(
                    f"round {round_ + 1}  {q.name:26} {side:5} {rate:8.0f} req/s  p99 {p99:7.1f} ms"
                )
    return results


def prepare(conn: dataset.Conn, args: argparse.Namespace) -> int:
    """The benchmark municipality, generated and loaded if this exact data set is not stored."""
    m, loading = dataset.prepare(conn, args)
    if loading is not None:
        conn.execute("VACUUM (ANALYZE) areas, addresses")  # both services read the same tables
    return m


# --- report -----------------------------------------------------------------------------------


def slug(name: str) -> str:
    """A JSON key from a query's name."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def table(
    plan: list[Query],
    results: dict[tuple[str, str], Measured],
    counts: dict[str, tuple[str, str]],
) -> list[str]:
    """One line per question: req/s of each, the ratio, p99 of each, what each returned."""
    lines = [
        f"{'query':26} {'ours req/s':>10} {'tipg req/s':>10} {'ratio':>6} "
        f"{'ours p99':>9} {'tipg p99':>9}  returned (ours | tipg)",
    ]
    for q in plan:
        ours, tipg = results[(q.name, "ours")], results[(q.name, "tipg")]
        ratio = ours.rate / tipg.rate if tipg.rate else float("nan")
        failed = ours.failures or tipg.failures
        note = f"  non-2xx/timeouts: ours {ours.failures}, tipg {tipg.failures}" if failed else ""
        returned = f"{counts[q.name][0]} | {counts[q.name][1]}"
        lines.append(
            f"{q.name:26} {ours.rate:10.0f} {tipg.rate:10.0f} {ratio:5.2f}x "
            f"{ours.p99_ms:7.1f}ms {tipg.p99_ms:7.1f}ms  {returned}{note}"
        )
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--only", nargs="*", help="query names (slugs) to run, default all")
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fresh", action="store_true", help="regenerate even if stored")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    url = Settings().test_database_url
    if not url:
        sys.exit("BROADBAND_TEST_DATABASE_URL is not set: this benchmark loads a million rows")
    wrk = ensure_wrk()
    tipg_bin = ensure_tipg()
    engine = make_engine(Settings(database_url=url))
    migrated = dataset._ensure_schema(engine)
    engine.dispose()
    if migrated:
        _progress(f"migrated the test database from revision {migrated} to head")
    plain_url = dataset._psycopg_url(url)
    with psycopg.connect(plain_url, autocommit=True) as conn:
        plan = queries(middle_area(conn, prepare(conn, args)))
    if args.only:
        plan = [q for q in plan if slug(q.name) in args.only]
    with serve(url, workers=1) as ours, tipg_served(tipg_bin, plain_url) as tipg:
        probe = httpx.get(ours.url + plan[-1].ours, timeout=60) if plan[-1].tile else None
        if probe is not None and probe.status_code == 404:
            _progress("the service serves no vector tiles yet: tile rows left out")
            plan = [q for q in plan if not q.tile]
        counts = compare(ours.url, tipg, plan)
        for name, (mine, theirs) in counts.items():
            if mine != theirs:
                _progress(f"{name}: the service returned {mine}, tipg {theirs}")
        results = measure(wrk, {"ours": ours.url, "tipg": tipg}, plan, args)
    print("\n".join(table(plan, results, counts)))
    summary: dict[str, Any] = {"addresses": args.addresses, "areas": args.areas}
    for q in plan:
        ours_m, tipg_m = results[(q.name, "ours")], results[(q.name, "tipg")]
        key = slug(q.name)
        summary[f"{key}_ratio"] = round(ours_m.rate / tipg_m.rate, 2)
        summary[f"{key}_p99_ms"] = [round(ours_m.p99_ms, 1), round(tipg_m.p99_ms, 1)]
    summary["failures"] = {
        slug(q.name): [results[(q.name, "ours")].failures, results[(q.name, "tipg")].failures]
        for q in plan
        if results[(q.name, "ours")].failures or results[(q.name, "tipg")].failures
    }
    summary["min_item_ratio"] = min(
        (summary[f"{slug(q.name)}_ratio"] for q in plan if not q.tile), default=None
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
