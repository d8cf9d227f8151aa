"""Helpers the tests share: a throwaway PostgreSQL cluster, a fingerprint of the stored data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session


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
