"""`broadband serve --workers N` seen from outside, through /proc: its workers and their use.

The soak harness and the tests read these to find a worker to kill, to tell which worker
answered, and to compare memory once warm with memory at the end (Linux only).
"""

from __future__ import annotations

from pathlib import Path


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
