"""Schemathesis fuzzes every operation of the OpenAPI definition with every check it has: no
input causes a 5xx, every answer's status, media type, headers and body are the documented ones,
requests the description calls invalid are refused and valid ones accepted, a missing required
header is refused, and an undocumented method gets 405 with an `Allow` naming the right ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# The exceptions to the checks, each named with its reason, and the budget of the slow ones.
CONFIG = HERE / "schemathesis.toml"
# Drops generated dates after today, the one rule no JSON Schema can state (it moves daily).
HOOKS = HERE / "schemathesis_hooks.py"
# Per operation, on top of the coverage phase's own deterministic cases (boundaries, every
# parameter missing or wrong): a whole run stays near a minute on two cores.
EXAMPLES_PER_OPERATION = 5


def test_the_api_description_tells_the_truth(
    service_url: str, tokens: dict[str, str], restore: None, tmp_path: Path
) -> None:
    """The schemathesis CLI against the live service; writes carry an admin token."""
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.fail("schemathesis is a dev dependency: pip install -e '.[dev]'")
    result = subprocess.run(
        [
            command,
            "--config-file",
            str(CONFIG),
            "run",
            f"{service_url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            # One worker: Python 3.11 can fail to build an AST in two threads at once
            # (CPython gh-106905), which Hypothesis does while describing its strategies.
            "--workers",
            "1",
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
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        check=False,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary + result.stderr[-2000:]
    assert "Tested: " in summary and "passed" in summary
