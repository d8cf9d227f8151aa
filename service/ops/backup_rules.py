"""What a backup file holds and when it may be restored: pure rules, no database, no processes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.core.errors import DomainError

FORMAT: Literal["broadband-backup"] = "broadband-backup"
FORMAT_VERSION = 1
"""Raised when the file's layout changes; a restore refuses versions it does not know."""
MANIFEST_NAME = "manifest.json"
DUMP_NAME = "database.dump"
MAX_MANIFEST_BYTES = 1_000_000


class BackupError(DomainError):
    """A backup could not be written or restored; a refused restore changed nothing."""


class MunicipalityEntry(BaseModel):
    """A municipality the backup holds, so an operator sees whose data a file is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ags: str
    name: str


class Manifest(BaseModel):
    """The facts a restore checks before and after it writes, stored next to the dump."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["broadband-backup"] = FORMAT
    format_version: int = FORMAT_VERSION
    created_at: dt.datetime
    service_version: str
    server_version: str = Field(description="PostgreSQL version of the database backed up")
    alembic_revision: str
    data_version: int
    municipalities: list[MunicipalityEntry]
    row_counts: dict[str, Annotated[int, Field(ge=0)]]
    dump_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    dump_bytes: int = Field(ge=0)

    @property
    def rows(self) -> int:
        """All rows of all tables, for the one-line summary."""
        return sum(self.row_counts.values())


def manifest_json(manifest: Manifest) -> bytes:
    """The manifest as written into the file: indented, so `tar -xOf F manifest.json` reads well."""
    return (manifest.model_dump_json(indent=2) + "\n").encode("utf-8")


def _field(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def read_manifest(raw: bytes) -> Manifest:
    """Parse a manifest, naming the first fields that are wrong."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{MANIFEST_NAME} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST_NAME} does not describe a {FORMAT} file")
    version = data.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise BackupError(
            f"the file has backup format {version}; this release reads format {FORMAT_VERSION} "
            "only: restore it with a newer release"
        )
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field(error['loc'])}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise BackupError(f"{MANIFEST_NAME} is not valid: {problems}") from exc


def check_restorable(manifest: Manifest, known_revisions: Collection[str], head: str) -> None:
    """Refuse a backup of a schema this code has no migration for (a newer release made it)."""
    if manifest.alembic_revision not in known_revisions:
        raise BackupError(
            f"the backup is at schema revision {manifest.alembic_revision!r}, which this release "
            f"does not know (its newest is {head!r}): restore it with the release that wrote it "
            "or a newer one"
        )


def _toc_entry(line: str) -> tuple[str, str] | None:
    """(kind, 'schema name') of a `pg_restore -l` line such as `12; 1259 99 TABLE public t own`."""
    if line.startswith(";") or "; " not in line:
        return None
    words = line.split("; ", 1)[1].split()
    for kind in ("TABLE DATA", "TABLE", "COMMENT"):
        size = len(kind.split())
        if words[2 : 2 + size] == kind.split():
            return kind, " ".join(words[2 + size : 4 + size])
    return None


def restore_list(toc: str) -> str:
    """The dump's table of contents minus what belongs to an extension's owner.

    Skipped: comments on extensions (only their owner may set them; the extension brings its
    own) and the data of tables the dump does not define, which are extension configuration
    tables such as PostGIS's `spatial_ref_sys`: the extension fills them itself and only its
    owner may write to them. The extension itself stays: `CREATE EXTENSION IF NOT EXISTS` is a
    no-op where it exists and creates it where the role may.
    """
    entries = [(line, _toc_entry(line)) for line in toc.splitlines()]
    defined = {entry[1] for _, entry in entries if entry and entry[0] == "TABLE"}
    kept = []
    for line, entry in entries:
        if entry and entry[0] == "COMMENT" and entry[1].startswith("- EXTENSION"):
            continue
        if entry and entry[0] == "TABLE DATA" and entry[1] not in defined:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"
