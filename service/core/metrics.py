"""What the service counts for Prometheus, in one place: every metric's name, type and labels,
the small functions the code counts with, and the files worker processes share to add up.

Labels only ever take values from short fixed lists (route templates, reasons, layers), never
from what a client sends, so the number of series stays bounded.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client decides between values in memory and values in shared files when it is first
# imported (just above), so whether this process adds up with others is fixed now, once.
SHARED_DIR: Final = os.environ.get(MULTIPROCESS_ENV) or None
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED = "unmatched"
# From a cached figure (a few ms) to a large import (tens of seconds).
DURATION_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SIGN_IN_REASONS = ("wrong", "locked", "disabled", "stale_form")
AUTHENTICATION_REASONS = ("missing", "malformed", "unknown_token", "session_ended", "metrics_token")

REQUESTS = Counter(
    "broadband_http_requests",
    "HTTP requests answered, by method, route template and status",
    ("method", "route", "status"),
)
DURATION = Histogram(
    "broadband_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template",
    ("method", "route"),
    buckets=DURATION_BUCKETS,
)
POOL_SIZE = Gauge(
    "broadband_db_pool_size",
    "Database connections the pools keep open (BROADBAND_DB_POOL_SIZE per process)",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "broadband_db_pool_checked_out",
    "Database connections in use by a request or an import right now",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "broadband_db_pool_overflow",
    "Database connections open beyond the pool size, which the pools close when given back",
    multiprocess_mode="livesum",
)
CACHE_LOOKUPS = Counter(
    "broadband_cache_lookups",
    "Lookups in the response cache that is keyed by the data version, by result: hit or miss",
    ("result",),
)
COVERAGE_REBUILDS = Counter(
    "broadband_coverage_rebuilds",
    "Coverage answers rebuilt from the database's coverage state because none was cached for "
    "the current data version (a change was committed, or a new date or municipality was asked)",
    ("view",),
)
IMPORT_COMMITS = Counter(
    "broadband_import_commits",
    "Import previews committed, each in one transaction, by layer",
    ("layer",),
)
SIGN_IN_FAILURES = Counter(
    "broadband_sign_in_failures",
    "Refused workspace sign-ins, by reason: wrong (name or password), locked, disabled, stale_form",
    ("reason",),
)
AUTHENTICATION_FAILURES = Counter(
    "broadband_authentication_failures",
    "Requests refused as unauthenticated (401), by reason: missing, malformed, unknown_token, "
    "session_ended, metrics_token",
    ("reason",),
)
for _result in ("hit", "miss"):
    CACHE_LOOKUPS.labels(_result)
for _reason in SIGN_IN_REASONS:
    SIGN_IN_FAILURES.labels(_reason)
for _reason in AUTHENTICATION_REASONS:
    AUTHENTICATION_FAILURES.labels(_reason)


def request_answered(method: str, route: str, status: int, seconds: float) -> None:
    """One answer; a method outside the standard ones counts as `other`."""
    method = method if method in METHODS else OTHER_METHOD
    REQUESTS.labels(method, route, str(status)).inc()
    DURATION.labels(method, route).observe(seconds)


def cache_looked_up(hit: bool) -> None:
    """A lookup in the response cache."""
    CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()


def coverage_rebuilt(view: str) -> None:
    """A coverage answer (summary, districts, …) computed afresh instead of read from the cache."""
    COVERAGE_REBUILDS.labels(view).inc()


def import_committed(layer: str) -> None:
    """An import's transaction has committed."""
    IMPORT_COMMITS.labels(layer).inc()


def sign_in_failed(reason: str) -> None:
    """A refused sign-in; the reason, never the name that was tried."""
    SIGN_IN_FAILURES.labels(reason).inc()


def authentication_failed(reason: str) -> None:
    """A 401; the reason, never the token or user."""
    AUTHENTICATION_FAILURES.labels(reason).inc()


class PoolUsage:
    """One engine's pool in the gauges, taken from the pool's own counts whenever a connection
    is handed out or given back, and on every scrape, so a missed event never leaves them off.

    Several engines in one process (and several processes) add up: each publishes its share.
    """

    def __init__(self, engine: Engine) -> None:
        pool = engine.pool
        self._pool = pool if isinstance(pool, QueuePool) else None
        self._engine = engine
        self._lock = threading.Lock()
        self._shown = (0, 0, 0)  # size, checked out, overflow, as added to the gauges
        event.listen(engine, "checkout", self._handed_out)
        event.listen(engine, "checkin", self._given_back)
        self.refresh()

    def _handed_out(self, *_: object) -> None:
        self.refresh()

    def _given_back(self, *_: object) -> None:
        self.refresh(returning=True)

    def refresh(self, *, returning: bool = False) -> None:
        """Publish the pool's counts; `returning`: a connection is on its way back (the checkin
        event comes before the pool takes it, and a full pool then closes it)."""
        pool = self._pool
        if pool is None:
            return
        with self._lock:
            size, checked_out, overflow = pool.size(), pool.checkedout(), pool.overflow()
            if returning:
                checked_out -= 1
                if pool.checkedin() >= size:
                    overflow -= 1
            self._show(size, max(checked_out, 0), max(overflow, 0))

    def stop(self) -> None:
        """The engine is disposed: its pool counts no more."""
        for name, listener in (("checkout", self._handed_out), ("checkin", self._given_back)):
            event.remove(self._engine, name, listener)
        with self._lock:
            self._show(0, 0, 0)

    def _show(self, size: int, checked_out: int, overflow: int) -> None:
        shown_size, shown_out, shown_overflow = self._shown
        POOL_SIZE.inc(size - shown_size)
        POOL_CHECKED_OUT.inc(checked_out - shown_out)
        POOL_OVERFLOW.inc(overflow - shown_overflow)
        self._shown = (size, checked_out, overflow)


def exposition() -> bytes:
    """The text Prometheus reads; with shared files, every worker's counts added up."""
    if SHARED_DIR is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=SHARED_DIR)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def prepare_processes() -> None:
    """Before worker processes start: the directory their metric files share, named in the
    environment they inherit, emptied of an earlier run's files (or a new private one).

    A directory the service makes itself goes when the starting process exits.
    """
    named = os.environ.get(MULTIPROCESS_ENV)
    if named:
        directory = Path(named)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return
    made = tempfile.mkdtemp(prefix="broadband-metrics-")  # mode 700: the service's user only
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    os.environ[MULTIPROCESS_ENV] = made


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes() -> None:
    """When a worker starts (perhaps replacing one that died): drop the gauges of processes that
    no longer run, so connections of a crashed worker are not counted as in use for ever."""
    if SHARED_DIR is None:
        return
    for path in Path(SHARED_DIR).glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), SHARED_DIR)  # type: ignore[no-untyped-call]


def process_stopping() -> None:
    """When a worker ends: its gauges go with it (its counters stay in the totals)."""
    if SHARED_DIR is not None:
        multiprocess.mark_process_dead(os.getpid(), SHARED_DIR)  # type: ignore[no-untyped-call]
