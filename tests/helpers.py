"""Helpers the tests share: a throwaway cluster, a served process, a fingerprint of the data."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.settings import PROJECT_ROOT, Settings
from service.ops import cluster, processes


class TemporaryCluster(cluster.TemporaryCluster):
    """A cluster of the test's own; skipped where no PostgreSQL server binaries are installed."""

    def __init__(self) -> None:
        if cluster.server_binaries() is None:
            pytest.skip("needs local PostgreSQL server binaries with PostGIS")
        super().__init__()


def snapshot(session: Session) -> tuple[object, ...]:
    """A fingerprint of every feature table and the change log, to prove nothing was written."""
    parts = []
    for table in ("municipality", "districts", "areas", "hamlets", "schools", "addresses"):
        parts.append(
            session.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) "
                    f"FROM {table} t"
                )
            ).one()
        )
    parts.append(session.execute(text("SELECT count(*), max(id) FROM changes")).one())
    return tuple(parts)


CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = (
    "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
    ".then((result) => result.violations.map((v) => ({"
    "id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target)"
    "})))"
)


def axe_source() -> str:
    """axe-core's browser bundle as `npm ci` installs it (a devDependency in package.json)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (as `make test` does) to install axe-core")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """WCAG 2.1 A/AA violations axe-core finds on the page as it is now.

    The page's context must be opened with `bypass_csp=True`: a CSP without 'unsafe-inline'
    rightly blocks the injected script; the CSP the service sends is checked by other tests.
    """
    page.add_script_tag(content=axe_source())
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, WCAG_21_AA)
    return found


def axe_report(violations: list[dict[str, Any]]) -> str:
    """One line per violation: rule, impact, what it asks, the first places it was found."""
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} – {v['targets']}" for v in violations
    )


BROADBAND = Path(sys.executable).parent / "broadband"


@dataclass
class Served:
    """A `broadband serve` process tree started by a test: the supervisor and its workers."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        """The worker processes' ids; a single-process service is its own worker."""
        return processes.worker_pids(self.process.pid) or [self.process.pid]

    def cpu_ticks(self) -> dict[int, int]:
        """User + system CPU time of each worker, in clock ticks."""
        return {pid: processes.cpu_ticks(pid) for pid in self.workers()}


def serve_process(settings: Settings, workers: int = 1, **env: str) -> Served:
    """`broadband serve` as an operator starts it, on the test database; returns once ready."""
    assert settings.database_url is not None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "BROADBAND_BASEMAP_URL": "none",
        "BROADBAND_LOG_LEVEL": "WARNING",
        **env,
    }
    handle, name = tempfile.mkstemp(prefix="broadband-serve-", suffix=".log")
    os.close(handle)
    log = Path(name)
    command = [str(BROADBAND), "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as output:  # a file, not a pipe: a full pipe would stall the service
        process = subprocess.Popen(  # a group of its own: a failed start takes its workers along
            command, env=environment, stdout=output, stderr=output, start_new_session=True
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}: {log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            ready = httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200
            if ready and len(served.workers()) == workers:  # all up, none still starting
                return served
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"serve did not become ready: {log.read_text()[-3000:]}")
        time.sleep(0.2)


def stop_process(served: Served) -> None:
    """SIGTERM, as an orchestrator stops it; killed if it does not stop in time."""
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(served.process.pid, signal.SIGKILL)
            served.process.wait()
    served.log.unlink(missing_ok=True)
