"""`broadband serve --workers N` started and seen from outside, through /proc.

The soak harness and the tests start the service as an operator does, find a worker to kill,
tell which worker answered, and compare memory once warm with memory at the end (Linux only).
"""

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

import httpx

BROADBAND = Path(sys.executable).parent / "broadband"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def worker_pids(supervisor: int) -> list[int]:
    """The supervisor's worker processes (multiprocessing children, not its resource tracker)."""
    children = _read(f"/proc/{supervisor}/task/{supervisor}/children").split()
    return [pid for pid in map(int, children) if "spawn_main" in _read(f"/proc/{pid}/cmdline")]


def _status_mb(pid: int, field: str) -> float | None:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def rss_mb(pid: int) -> float | None:
    """Resident memory now, in MiB; None once the process is gone."""
    return _status_mb(pid, "VmRSS")


def peak_rss_mb(pid: int) -> float | None:
    """The most resident memory the process ever had (VmHWM), in MiB."""
    return _status_mb(pid, "VmHWM")


def cpu_ticks(pid: int) -> int:
    """User + system CPU time spent, in clock ticks (0 once the process is gone)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def free_port() -> int:
    """A TCP port on the loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServeStartError(RuntimeError):
    """`broadband serve` exited or did not become ready; the message ends with its log."""


@dataclass
class Served:
    """A `broadband serve` process tree: the supervisor and its workers, and where it logs."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        """The worker processes' ids; a single-process service is its own worker."""
        return worker_pids(self.process.pid) or [self.process.pid]

    def cpu_ticks(self) -> dict[int, int]:
        """User + system CPU time of each worker, in clock ticks."""
        return {pid: cpu_ticks(pid) for pid in self.workers()}

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self, timeout_s: float = 60) -> None:
        """SIGTERM, as an orchestrator stops it; the whole group killed if it does not stop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.unlink(missing_ok=True)


def serve(
    database_url: str, workers: int = 1, env: dict[str, str] | None = None, timeout_s: float = 90
) -> Served:
    """Start `broadband serve --workers N` as an operator does; return once every worker is up
    and it answers from the database (ServeStartError otherwise)."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BROADBAND_BASEMAP_URL": "none",
        "BROADBAND_LOG_LEVEL": "WARNING",
        **(env or {}),
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
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ServeStartError(f"serve exited with {process.returncode}: {_tail(log)}")
        with contextlib.suppress(httpx.TransportError):
            ready = httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200
            if ready and len(served.workers()) == workers:  # all up, none still starting
                return served
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise ServeStartError(f"serve did not become ready: {_tail(log)}")
        time.sleep(0.2)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]
