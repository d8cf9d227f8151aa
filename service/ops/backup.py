"""`broadband backup` and `broadband restore`: pg_dump's custom format and a manifest in one tar.

The backup counts every table in the same snapshot pg_dump then reads (`--snapshot`), so the
manifest describes exactly the dump. The restore runs in one transaction through psql: emptying
the database (`--replace`), the dump, and the check of the manifest's counts; if any of it fails,
the database is left as it was. Migrations to the newest revision run after it commits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service import __version__
from service.core.settings import Settings
from service.db import schema, state
from service.db.engine import make_engine
from service.ops import backup_queries as queries
from service.ops.backup_rules import (
    DUMP_NAME,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    BackupError,
    Manifest,
    check_restorable,
    manifest_json,
    read_manifest,
    restore_list,
)

CHUNK = 1 << 20
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
"""Where Debian and Ubuntu keep each major version's programs (`<major>/bin`)."""


@dataclass(frozen=True)
class Target:
    """How the PostgreSQL programs reach the database: libpq words, the password in the env."""

    conninfo: str
    env: dict[str, str]
    name: str


@dataclass(frozen=True)
class RestoreReport:
    """What a restore brought back, for the command's summary."""

    manifest: Manifest
    revision: str | None
    replaced: list[str]


def libpq_target(settings: Settings) -> Target:
    """The SQLAlchemy URL in libpq form; the password goes to PGPASSWORD, never the command line."""
    url = make_url(settings.require_database_url())
    options = {key: value for key, value in url.query.items() if isinstance(value, str)}
    conninfo = make_conninfo(
        "",
        host=url.host,
        port=url.port,
        dbname=url.database,
        user=url.username,
        connect_timeout=settings.db_connect_timeout_s,
        **options,
    )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    where = f"{url.host or 'local socket'}" + (f":{url.port}" if url.port else "")
    return Target(conninfo, env, f"database {url.database!r} on {where}")


def _major_of(program: Path) -> int | None:
    """The PostgreSQL major version a client program belongs to (`pg_dump --version`)."""
    try:
        out = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(found.group(1)) if found else None


def client_program(name: str, server_major: int) -> Path:
    """pg_dump, pg_restore or psql of the server's major version (or newer), Debian's first."""
    candidates = [DEBIAN_BINARIES / str(server_major) / "bin" / name]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    seen = []
    for program in candidates:
        if not program.is_file():
            continue
        major = _major_of(program)
        if major is not None and major >= server_major:
            return program
        seen.append(f"{program} (PostgreSQL {major or 'unknown'})")
    raise BackupError(
        f"{name} of PostgreSQL {server_major} or newer is needed for this server, found "
        f"{', '.join(seen) or 'none'}: install the PostgreSQL {server_major} client programs "
        f"(Debian/Ubuntu: postgresql-client-{server_major})"
    )


def _error_text(output: str) -> str:
    """The server's or the program's own words, without prefixes such as `psql:<stdin>:12:`."""
    marker = re.compile(r"^.*?\b(ERROR|FATAL|HINT|error):\s*")
    said = [marker.sub("", line).strip() for line in output.splitlines() if marker.match(line)]
    if not said:
        said = [line.strip() for line in output.splitlines() if line.strip()][-2:]
    return " ".join(said[:3])[:2000] or "no output"


def _explain(output: str, target: Target) -> str:
    """What went wrong in a restore, with the fix for the usual case: PostGIS not there yet."""
    missing = re.search(r'permission denied to create extension "([^"]+)"', output)
    if missing:
        name = missing.group(1)
        return (
            f"{target.name} has no {name} extension and this role may not create it: have a "
            f"superuser run `CREATE EXTENSION {name};` in that database, then restore again"
        )
    return _error_text(output)


def _run(command: Sequence[str], target: Target, what: str) -> str:
    """Run a PostgreSQL program; a failure becomes an error naming what was being done."""
    result = subprocess.run(
        list(command), capture_output=True, text=True, env=target.env, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {_error_text(result.stderr or result.stdout)}")
    return result.stdout


def _digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, so a damaged dump is refused before anything is written."""
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _member(name: str, size: int, mtime: dt.datetime) -> tarfile.TarInfo:
    """A tar entry readable by its owner only: the dump holds password and token hashes."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(mtime.timestamp())
    return info


def _write_archive(out: Path, manifest: Manifest, dump: Path) -> None:
    """Write the tar next to OUT and rename it into place: OUT is whole or untouched."""
    handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
                text = manifest_json(manifest)
                archive.addfile(
                    _member(MANIFEST_NAME, len(text), manifest.created_at), io.BytesIO(text)
                )
                with dump.open("rb") as stream:
                    info = _member(DUMP_NAME, manifest.dump_bytes, manifest.created_at)
                    archive.addfile(info, stream)
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _check_out(out: Path) -> None:
    """Refuse an OUT we could not write before anything is dumped."""
    if out.is_dir():
        raise BackupError(
            f"{out} is a folder: name the file to write, e.g. {out / 'broadband.tar'}"
        )
    if not out.parent.is_dir():
        raise BackupError(f"folder {out.parent} does not exist")


def backup(out: Path, settings: Settings) -> Manifest:
    """Dump the database to OUT with a manifest of what it holds; return the manifest."""
    _check_out(out)
    target = libpq_target(settings)
    engine = make_engine(settings)
    try:
        with engine.connect() as connection, connection.begin():
            snapshot = queries.export_snapshot(connection)
            revision = schema.current_revision(connection)
            if revision is None:
                raise BackupError(f"{target.name} was never migrated: there is nothing to back up")
            pg_dump = client_program("pg_dump", queries.server_major(connection))
            with Session(bind=connection) as session:
                data_version, _ = state.data_version(session)
            facts = {
                "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
                "service_version": __version__,
                "server_version": queries.server_version(connection),
                "alembic_revision": revision,
                "data_version": data_version,
                "municipalities": queries.municipalities(connection),
                "row_counts": queries.table_counts(connection),
            }
            with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
                dump = Path(work) / DUMP_NAME
                command = [str(pg_dump), "--format=custom", f"--snapshot={snapshot}"]
                command += [f"--file={dump}", "--dbname", target.conninfo]
                _run(command, target, f"pg_dump of {target.name}")
                sha, size = _digest(dump)
                manifest = Manifest.model_validate(
                    {**facts, "dump_sha256": sha, "dump_bytes": size}
                )
                _write_archive(out, manifest, dump)
    except SQLAlchemyError as exc:
        raise BackupError(f"{target.name}: {getattr(exc, 'orig', None) or exc}") from exc
    finally:
        engine.dispose()
    return manifest


def _member_stream(archive: tarfile.TarFile, name: str) -> tuple[IO[bytes], int]:
    """One named regular file of the tar (never a link or a path we would extract)."""
    try:
        info = archive.getmember(name)
    except KeyError as exc:
        raise BackupError(
            f"the file holds no {name}: it was not written by `broadband backup`"
        ) from exc
    stream = archive.extractfile(info) if info.isreg() else None
    if stream is None:
        raise BackupError(f"{name} in the file is not a regular file")
    return stream, info.size


def read_backup(source: Path, work: Path) -> tuple[Manifest, Path]:
    """The manifest, and the dump copied into `work` after its checksum matched the manifest."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file")
    try:
        with tarfile.open(source, mode="r:") as archive:
            stream, size = _member_stream(archive, MANIFEST_NAME)
            if size > MAX_MANIFEST_BYTES:
                raise BackupError(f"{MANIFEST_NAME} is {size:,} bytes: not a manifest")
            manifest = read_manifest(stream.read())
            stream, size = _member_stream(archive, DUMP_NAME)
            dump = work / DUMP_NAME
            with dump.open("wb") as copy:
                shutil.copyfileobj(stream, copy, CHUNK)
    except (tarfile.TarError, EOFError) as exc:
        raise BackupError(
            f"{source} is not a backup written by `broadband backup` (or it is damaged): {exc}"
        ) from exc
    if _digest(dump) != (manifest.dump_sha256, manifest.dump_bytes):
        raise BackupError(
            f"{DUMP_NAME} in {source} is damaged: its size or SHA-256 differs from the manifest's"
        )
    return manifest, dump


def _restore_in_one_transaction(
    restore: list[str], psql: list[str], target: Target, prelude: str, postlude: str
) -> None:
    """Pipe pg_restore's script through psql between our own statements, all or nothing.

    psql commits only when its input ends; if pg_restore fails, psql is stopped before that,
    so the server rolls the transaction back.
    """
    with tempfile.TemporaryFile() as restore_errors, tempfile.TemporaryFile() as psql_errors:
        producer = subprocess.Popen(
            restore, stdout=subprocess.PIPE, stderr=restore_errors, env=target.env
        )
        consumer = subprocess.Popen(
            psql,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_errors,
            env=target.env,
        )
        assert producer.stdout is not None and consumer.stdin is not None
        produced: int | None = None
        try:
            consumer.stdin.write(prelude.encode())
            shutil.copyfileobj(producer.stdout, consumer.stdin, CHUNK)
            produced = producer.wait()
            if produced == 0:
                consumer.stdin.write(postlude.encode())
                consumer.stdin.close()
        except BrokenPipeError:
            pass
        finally:
            if produced != 0:
                consumer.kill()
            with contextlib.suppress(BrokenPipeError):
                consumer.stdin.close()
            producer.stdout.close()
            producer.kill()
            producer.wait()
            consumed = consumer.wait()
        failed = restore_errors if produced not in (None, 0) else psql_errors
        if produced != 0 or consumed != 0:
            failed.seek(0)
            said = failed.read().decode(errors="replace")
            raise BackupError(
                f"restore into {target.name} failed, nothing was changed: {_explain(said, target)}"
            )


def _pg_restore_command(pg_restore: str, listing: Path, dump: Path) -> list[str]:
    """The dump as SQL without owners and grants: any role that owns the database may restore."""
    return [
        pg_restore,
        "--no-owner",
        "--no-privileges",
        f"--use-list={listing}",
        "--file=-",
        str(dump),
    ]


def _psql_command(psql: str, target: Target, counts: dict[str, int]) -> list[str]:
    """psql running its input as one transaction that stops at the first error."""
    return [
        psql,
        "--no-psqlrc",
        "--quiet",
        "--set=ON_ERROR_STOP=1",
        f"--set=counts={json.dumps(counts)}",
        "--single-transaction",
        "--dbname",
        target.conninfo,
        "--file=-",
    ]


def _migrate(engine: Engine, target: Target) -> str | None:
    """Bring the restored schema to the newest revision; the restore itself is committed."""
    try:
        schema.upgrade(engine)
        with engine.connect() as connection:
            return schema.current_revision(connection)
    except SQLAlchemyError as exc:
        raise BackupError(
            f"the backup was restored into {target.name}, but migrating it to the newest "
            f"revision failed: {getattr(exc, 'orig', None) or exc}; fix that, then run "
            "`broadband migrate`"
        ) from exc


def restore(source: Path, settings: Settings, *, replace: bool = False) -> RestoreReport:
    """Restore a backup into an empty database (or replace the service's objects), then migrate."""
    target = libpq_target(settings)
    engine = make_engine(settings)
    try:
        with tempfile.TemporaryDirectory(prefix="broadband-restore-") as folder:
            work = Path(folder)
            manifest, dump = read_backup(source, work)
            check_restorable(manifest, schema.known_revisions(), schema.head_revision() or "none")
            with engine.connect() as connection:
                major = queries.server_major(connection)
                existing = queries.service_objects(connection)
            if existing and not replace:
                shown = ", ".join(existing[:5]) + (", …" if len(existing) > 5 else "")
                raise BackupError(
                    f"{target.name} is not empty ({len(existing)} objects of the service: "
                    f"{shown}): restore into an empty database, or pass --replace to replace "
                    "them with the backup"
                )
            pg_restore = str(client_program("pg_restore", major))
            psql = str(client_program("psql", major))
            listing = work / "restore.list"
            toc = _run([pg_restore, "--list", str(dump)], target, f"reading {DUMP_NAME}")
            listing.write_text(restore_list(toc), encoding="utf-8")
            _restore_in_one_transaction(
                _pg_restore_command(pg_restore, listing, dump),
                _psql_command(psql, target, manifest.row_counts),
                target,
                queries.CLEAR_SERVICE_OBJECTS if replace else "",
                queries.CHECK_RESTORED_COUNTS,
            )
        revision = _migrate(engine, target)
    except SQLAlchemyError as exc:
        raise BackupError(f"{target.name}: {getattr(exc, 'orig', None) or exc}") from exc
    finally:
        engine.dispose()
    return RestoreReport(manifest, revision, existing)
