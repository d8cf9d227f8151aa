"""Schemathesis fuzzes every operation of the OpenAPI definition; no input may cause a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_PER_OPERATION = 25


def test_no_input_causes_a_server_error(
    service_url: str, tokens: dict[str, str], restore: None, tmp_path: Path
) -> None:
    """The schemathesis CLI against the live service; writes carry an admin token."""
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.fail("schemathesis is a dev dependency: pip install -e '.[dev]'")
    result = subprocess.run(
        [
            command,
            "run",
            f"{service_url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--workers",
            "2",
            "--suppress-health-check",
            "all",
            "--header",
            f"Authorization: Bearer {tokens['admin']}",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        check=False,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert "Tested: " in summary and "passed" in summary
