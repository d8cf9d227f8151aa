"""The soak harness, short: 20 s of readers and editors on two workers through a database
restart; no acknowledged write may be lost and nothing may fail outside the restart."""

from __future__ import annotations

import json
import subprocess
import sys

from service.core.settings import PROJECT_ROOT

SOAK = PROJECT_ROOT / "benchmarks" / "soak.py"
RECOVERY_S = 5


def test_a_database_restart_under_load_loses_no_acknowledged_write() -> None:
    command = [
        sys.executable,
        str(SOAK),
        "--seconds",
        "20",
        "--readers",
        "6",
        "--editors",
        "2",
        "--faults",
        "restart",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["acknowledged_writes"] > 0
    assert figures["acknowledged_missing"] == 0
    assert figures["changelog_missing"] == 0
    assert figures["server_errors_outside_faults"] == 0
    assert figures["dropped_outside_kill"] == 0
    assert 0 <= figures["recovery_s"]["restart"] < RECOVERY_S
    assert figures["read_p50_ms"] is not None
