"""A throwaway PostgreSQL + PostGIS cluster (initdb + pg_ctl in a temporary directory).

The test suite and the soak harness start one to stop, restart and remove at will, which they
must never do to the database the service is set up with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from service.core.errors import ProvisioningError
from service.ops.processes import free_port


def server_binaries() -> Path | None:
    """The newest local PostgreSQL server binaries that have PostGIS next to them."""
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    for version in sorted((p.name for p in root.iterdir() if p.name.isdigit()), key=int)[::-1]:
        postgis = Path(f"/usr/share/postgresql/{version}/extension/postgis.control")
        if postgis.is_file():
            return root / version / "bin"
    return None


class TemporaryCluster:
    """initdb + pg_ctl in a temporary directory, as the `postgres` user when we are root."""

    def __init__(self) -> None:
        binaries = server_binaries()
        if binaries is None:
            raise ProvisioningError("needs local PostgreSQL server binaries with PostGIS")
        self.bin = binaries
        self.port = free_port()
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
        """PostgreSQL refuses to run as root: its tools run as `postgres` then."""
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    @property
    def url(self) -> str:
        """The superuser's URL (trust authentication, loopback only)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
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
        """Stop it the way a restart does: connections are ended, commits stay."""
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def remove(self) -> None:
        """Stop it if running and delete its files."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
