"""Helpers the tests share: a throwaway PostgreSQL cluster, a fingerprint of the stored data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.core.settings import PROJECT_ROOT


def _binaries() -> Path | None:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    for version in sorted((p.name for p in root.iterdir() if p.name.isdigit()), key=int)[::-1]:
        postgis = Path(f"/usr/share/postgresql/{version}/extension/postgis.control")
        if postgis.is_file():
            return root / version / "bin"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TemporaryCluster:
    """initdb + pg_ctl in a temporary directory, as the `postgres` user when we are root."""

    def __init__(self) -> None:
        binaries = _binaries()
        if binaries is None:
            pytest.skip("needs local PostgreSQL server binaries with PostGIS")
        self.bin = binaries
        self.port = _free_port()
        self.base = Path(tempfile.mkdtemp(prefix="broadband-pg-"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self._as_owner(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )

    def _as_owner(self, command: list[str]) -> None:
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_owner(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.base / "log"),
                "-w",
                "start",
            ]
        )

    def stop(self) -> None:
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


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
