"""Soak the service under load while its database restarts, goes away and a worker is killed.

    python benchmarks/soak.py [--seconds 120] [--readers 16] [--editors 4] [--workers 2]
                              [--faults restart,outage,kill] [--outage-seconds 10]

Starts a throwaway PostgreSQL cluster of its own (never the service's database), loads Coesfeld,
and runs `broadband serve --workers N` against it. Readers loop over coverage, filtered items,
the map, lookup and an export; each editor PATCHes its own area with If-Match and records every
write the service acknowledged. Spread over the run: a PostgreSQL restart, a stop for
`--outage-seconds`, a SIGKILL of one worker. Afterwards every acknowledged write must be in the
database and in the change log. The last line printed is one JSON object:

    requests, acknowledged_writes, acknowledged_missing (must be 0), changelog_missing (0),
    server_errors_outside_faults (0), dropped_outside_kill (0), recovery_s per fault (until
    the service answers from the database again), worker_replaced_s,
    read_p50_ms / read_p95_ms outside the faults, each worker's RSS once warm and at the end
    (worker_rss_mb) and the largest growth of one that ran throughout (rss_growth_pct)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from service.auth import queries as token_store
from service.core.settings import DEFAULT_PACKAGE, Settings
from service.db import schema
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.layers import Role
from service.ops.cluster import TemporaryCluster
from service.ops.processes import rss_mb, serve, worker_pids
from service.packages.seeding import seed

FAULTS = ("restart", "outage", "kill")
WARM_SHARE = 0.125  # of the run; the first fault comes at a quarter or later
GRACE_S = 1.0  # after a fault has passed, answers may still carry it for this long
READS = (
    "/coverage",
    "/coverage/districts",
    "/coverage/hamlets",
    "/collections/areas/items?status=connected&limit=50",
    "/collections/addresses/items?bbox=7.15,51.93,7.18,51.95&limit=100",
    "/collections/schools/items?f=json",
    "/map",
    "/map/tabelle",
    "/lookup?q=Lette",
    "/export.csv.zip",
)


@dataclass
class Outcome:
    """One request: when it ran and how it ended (a status, or the transport error's name)."""

    started: float
    ended: float
    status: int | None
    error: str | None = None
    read: bool = True


@dataclass
class Fault:
    """A fault the harness caused: its window and how long the service took to answer again."""

    name: str
    started: float
    ended: float = 0.0
    recovered: float = 0.0
    replaced: float = 0.0  # a killed worker's successor started (it then imports, then serves)

    def covers(self, outcome: Outcome) -> bool:
        """Whether a request overlapped the fault (or the moments just after it)."""
        return outcome.ended >= self.started and outcome.started <= self.recovered + GRACE_S


@dataclass
class Editor:
    """One editor's area and every write the service acknowledged with 200."""

    number: int
    feature_id: int = 0
    etag: str = ""
    sequence: int = 0
    acknowledged: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Everything the threads record; appended to from several threads (list.append is atomic)."""

    outage_s: float
    outcomes: list[Outcome] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _prepare(cluster: TemporaryCluster, editors: int) -> tuple[str, list[str]]:
    """PostGIS, the schema and Coesfeld on the throwaway cluster; one token per editor."""
    engine = create_engine(cluster.url)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION postgis"))
    schema.upgrade(engine)
    engine.dispose()
    engine = make_engine(Settings(database_url=cluster.url))
    factory = make_sessionmaker(engine)
    seed(factory, DEFAULT_PACKAGE, actor="soak")
    with transaction(factory, "soak") as session:
        secrets = [
            token_store.create(session, f"soak-editor-{n}", Role.EDITOR) for n in range(editors)
        ]
    engine.dispose()
    return cluster.url, secrets


def _ready(base: str) -> bool:
    """Whether the service answers from its database (however slowly, under this load)."""
    try:
        return httpx.get(f"{base}/readyz", timeout=10).status_code == 200
    except httpx.TransportError:
        return False


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll until the condition holds; the moment it did."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not come back within {timeout_s:.0f} s")
        time.sleep(0.05)
    return time.monotonic()


def _record(
    run: Run, read: bool, http: httpx.Client, method: str, url: str, **options: Any
) -> httpx.Response | None:
    """Send one request and note its outcome; None when the connection failed."""
    started = time.monotonic()
    try:
        answer = http.request(method, url, **options)
    except httpx.TransportError as exc:
        run.outcomes.append(Outcome(started, time.monotonic(), None, type(exc).__name__, read))
        return None
    run.outcomes.append(Outcome(started, time.monotonic(), answer.status_code, None, read))
    return answer


def reader(run: Run, base: str, seed_: int) -> None:
    """Read what the public and GIS staff read, over one keep-alive connection."""
    rng = random.Random(seed_)
    with httpx.Client(base_url=base, timeout=30) as http:
        while not run.stop.is_set():
            path = rng.choice(READS)
            if _record(run, True, http, "GET", path) is None:
                time.sleep(0.05)  # a new connection next time; do not spin while refused


def _area(number: int) -> dict[str, Any]:
    x, y = 7.14 + 0.004 * number, 51.93
    ring = [[x, y], [x + 0.003, y], [x + 0.003, y + 0.003], [x, y + 0.003], [x, y]]
    return {
        "type": "Feature",
        "properties": {"name": f"soak-{number}-0", "kind": "commercial", "status": "planned"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def editor(run: Run, base: str, secret: str, state: Editor) -> None:
    """Rename the editor's own area again and again with If-Match; keep what was acknowledged."""
    auth = {"Authorization": f"Bearer {secret}"}
    url = f"/collections/areas/items/{state.feature_id}"
    with httpx.Client(base_url=base, timeout=30, headers=auth) as http:
        while not run.stop.is_set():
            if not state.etag:
                current = _record(run, False, http, "GET", url)
                if current is None or current.status_code != 200:
                    time.sleep(0.1)
                    continue
                state.etag = current.headers["etag"]
            name = f"soak-{state.number}-{state.sequence + 1}"
            patch = json.dumps({"properties": {"name": name}})
            headers = {"If-Match": state.etag, "Content-Type": "application/merge-patch+json"}
            answer = _record(run, False, http, "PATCH", url, content=patch, headers=headers)
            state.sequence += 1  # a name is never reused, answered or not
            if answer is not None and answer.status_code == 200:
                state.acknowledged.append(name)
                state.etag = answer.headers["etag"]
            else:
                state.etag = ""  # unknown outcome or a conflict: read the area again
                time.sleep(0.05)


def _create_areas(base: str, secrets: list[str]) -> list[Editor]:
    editors = []
    for number, secret in enumerate(secrets):
        answer = httpx.post(
            f"{base}/collections/areas/items",
            json=_area(number),
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        answer.raise_for_status()
        editors.append(Editor(number, answer.json()["id"], answer.headers["etag"]))
    return editors


def _fault(run: Run, name: str, cluster: TemporaryCluster, base: str, supervisor: int) -> None:
    """Cause one fault, then time how long until the service answers from the database again."""
    fault = Fault(name, time.monotonic())
    run.faults.append(fault)
    if name == "kill":
        before = worker_pids(supervisor)
        os.kill(before[0], signal.SIGKILL)
        fault.ended = time.monotonic()
        fault.recovered = _wait(lambda: _ready(base), 30, "the service")

        def replaced() -> bool:
            now = worker_pids(supervisor)
            return before[0] not in now and len(now) == len(before)

        fault.replaced = _wait(replaced, 90, "a replacement worker")
        return
    cluster.stop()
    if name == "outage":
        time.sleep(run.outage_s)
    cluster.start()
    fault.ended = time.monotonic()
    fault.recovered = _wait(lambda: _ready(base), 30, "the service")


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _check_writes(url: str, editors: list[Editor]) -> tuple[int, int]:
    """Acknowledged writes missing from the data, and from the change log."""
    engine = create_engine(url)
    missing = logged_missing = 0
    with engine.connect() as connection:
        for state in editors:
            name = connection.execute(
                text("SELECT name FROM areas WHERE id = :id"), {"id": state.feature_id}
            ).scalar_one()
            final = int(name.rsplit("-", 1)[1])
            last = int(state.acknowledged[-1].rsplit("-", 1)[1]) if state.acknowledged else 0
            missing += final < last  # a later unacknowledged write may have landed: not a loss
            logged = set(
                connection.execute(
                    text(
                        "SELECT new ->> 'name' FROM changes WHERE table_name = 'areas' "
                        "AND feature_id = :id AND operation = 'update'"
                    ),
                    {"id": state.feature_id},
                ).scalars()
            )
            logged_missing += sum(name not in logged for name in state.acknowledged)
    engine.dispose()
    return missing, logged_missing


def soak(
    seconds: float, readers: int, editors: int, workers: int, faults: list[str], outage_s: float
) -> dict[str, Any]:
    """The whole run; returns the figures printed as the last line."""
    cluster = TemporaryCluster()
    cluster.start()
    try:
        url, secrets = _prepare(cluster, editors)
        with serve(url, workers, timeout_s=120) as served:
            base, supervisor = served.url, served.process.pid
            states = _create_areas(base, secrets)
            run = Run(outage_s)
            threads = [
                threading.Thread(target=reader, args=(run, base, n), daemon=True)
                for n in range(readers)
            ] + [
                threading.Thread(target=editor, args=(run, base, secret, state), daemon=True)
                for secret, state in zip(secrets, states, strict=True)
            ]
            began = time.monotonic()
            for thread in threads:
                thread.start()
            # Memory is compared once warm: after the first stretch of load, before any fault.
            time.sleep(seconds * WARM_SHARE)
            rss_start = {pid: rss_mb(pid) for pid in worker_pids(supervisor)}
            for number, name in enumerate(faults, start=1):
                at = began + seconds * number / (len(faults) + 1)
                time.sleep(max(0.0, at - time.monotonic()))
                _fault(run, name, cluster, base, supervisor)
            time.sleep(max(0.0, began + seconds - time.monotonic()))
            rss_end = {pid: rss_mb(pid) for pid in worker_pids(supervisor)}
            run.stop.set()
            for thread in threads:
                thread.join(timeout=60)
        missing, logged_missing = _check_writes(url, states)
    finally:
        cluster.remove()
    return _figures(run, states, missing, logged_missing, rss_start, rss_end, seconds)


def _figures(
    run: Run,
    states: list[Editor],
    missing: int,
    logged_missing: int,
    rss_start: dict[int, float | None],
    rss_end: dict[int, float | None],
    seconds: float,
) -> dict[str, Any]:
    def outside(outcome: Outcome, names: tuple[str, ...] = FAULTS) -> bool:
        return not any(f.covers(outcome) for f in run.faults if f.name in names)

    calm = [o for o in run.outcomes if outside(o)]
    latencies = [(o.ended - o.started) * 1000 for o in calm if o.read and o.status == 200]
    return {
        "seconds": seconds,
        "requests": len(run.outcomes),
        "requests_per_s": round(len(run.outcomes) / seconds, 1),
        "acknowledged_writes": sum(len(s.acknowledged) for s in states),
        "acknowledged_missing": missing,
        "changelog_missing": logged_missing,
        "server_errors_outside_faults": sum(
            1 for o in calm if o.status is not None and o.status >= 500
        ),
        "server_errors_in_faults": sum(
            1 for o in run.outcomes if not outside(o) and o.status is not None and o.status >= 500
        ),
        "dropped_outside_kill": sum(
            1 for o in run.outcomes if o.error is not None and outside(o, ("kill",))
        ),
        "dropped_in_kill": sum(
            1 for o in run.outcomes if o.error is not None and not outside(o, ("kill",))
        ),
        "recovery_s": {f.name: round(f.recovered - f.ended, 2) for f in run.faults},
        "worker_replaced_s": next(
            (round(f.replaced - f.ended, 2) for f in run.faults if f.name == "kill"), None
        ),
        "read_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "read_p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "worker_rss_mb": {
            str(pid): [rss_start.get(pid), rss_end.get(pid)] for pid in {*rss_start, *rss_end}
        },
        "rss_growth_pct": _growth(rss_start, rss_end),
    }


def _growth(start: dict[int, float | None], end: dict[int, float | None]) -> float | None:
    """The largest RSS growth of a worker that ran from the warm point to the end (a killed
    worker's replacement starts cold and is not compared)."""
    growths = [
        (after - before) / before * 100
        for pid, before in start.items()
        if before and (after := end.get(pid))
    ]
    return round(max(growths), 1) if growths else None


def main() -> None:
    """Parse the options, run, print a short table and the JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--editors", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--outage-seconds", type=float, default=10)
    options = parser.parse_args()
    faults = [name for name in options.faults.split(",") if name]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"--faults: unknown {sorted(unknown)}; known: {', '.join(FAULTS)}")
    figures = soak(
        options.seconds,
        options.readers,
        options.editors,
        options.workers,
        faults,
        options.outage_seconds,
    )
    for key, value in figures.items():
        print(f"{key:>30}  {value}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
