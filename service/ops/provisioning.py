"""`broadband db up`: a PostGIS database, never touching what we did not create."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from service.core.errors import ProvisioningError

MARKER = "managed by broadband db up"
ROLE = "broadband"
DATABASES = ("broadband", "broadband_test")
ENV_KEYS = {"broadband": "DATABASE_URL", "broadband_test": "BROADBAND_TEST_DATABASE_URL"}

Log = Callable[[str], None]


@dataclass(frozen=True)
class Cluster:
    """A Debian-managed PostgreSQL cluster (as `pg_lsclusters` reports it)."""

    version: int
    name: str
    port: int
    running: bool


@dataclass
class Report:
    """What `db up` found and did, so a second run can show it changed nothing."""

    database_url: str
    actions: list[str] = field(default_factory=list)


def _run(command: list[str], stdin: str | None = None) -> str:
    """Run a command, turning a failure into an error that shows what it printed."""
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise ProvisioningError(f"`{' '.join(command[:4])}` failed: {output}")
    return result.stdout


def _as_root(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return command
    if shutil.which("sudo"):
        return ["sudo", "-n", *command]
    raise ProvisioningError(f"`{command[0]}` needs root; run as root or set DATABASE_URL")


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so superuser work happens as the `postgres` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return ["sudo", "-n", "-u", "postgres", *command]


def _installed_versions() -> list[int]:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit() and (p / "bin").is_dir())


def _has_postgis(version: int) -> bool:
    return Path(f"/usr/share/postgresql/{version}/extension/postgis.control").is_file()


def ensure_packages(log: Log) -> int:
    """Install PostgreSQL and PostGIS from Debian when missing; return the major version."""
    versions = _installed_versions()
    ready = [v for v in versions if _has_postgis(v)]
    if ready:
        return ready[-1]
    if not shutil.which("apt-get"):
        raise ProvisioningError(
            "PostGIS is not installed and this is not a Debian/Ubuntu system: "
            "install PostgreSQL with PostGIS yourself, or set DATABASE_URL"
        )
    packages = [f"postgresql-{versions[-1]}-postgis-3"] if versions else ["postgresql", "postgis"]
    log(f"installing {' '.join(packages)} (apt-get)")
    _run(_as_root(["apt-get", "update", "-qq"]))
    env_prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
    _run(_as_root([*env_prefix, "apt-get", "install", "-y", "-qq", *packages]))
    ready = [v for v in _installed_versions() if _has_postgis(v)]
    if not ready:
        raise ProvisioningError(f"installed {packages} but found no PostGIS extension files")
    return ready[-1]


def _clusters() -> list[Cluster]:
    raw = json.loads(_run(["pg_lsclusters", "--json"]) or "[]")
    return [
        Cluster(int(c["version"]), c["cluster"], int(c["port"]), bool(int(c["running"])))
        for c in raw
    ]


def ensure_cluster(version: int, log: Log) -> Cluster:
    """Start (or create, then start) a cluster of the PostGIS-enabled PostgreSQL version."""
    if not shutil.which("pg_lsclusters"):
        raise ProvisioningError("pg_lsclusters not found (postgresql-common); set DATABASE_URL")
    clusters = [c for c in _clusters() if c.version == version]
    if not clusters:
        log(f"creating PostgreSQL {version} cluster 'main'")
        _run(_as_root(["pg_createcluster", str(version), "main"]))
        clusters = [c for c in _clusters() if c.version == version]
    cluster = clusters[0]
    if not cluster.running:
        log(f"starting PostgreSQL cluster {version}/{cluster.name} on port {cluster.port}")
        _run(_as_root(["pg_ctlcluster", str(version), cluster.name, "start"]))
    return cluster


def run_sql(cluster: Cluster, database: str, sql: str, **variables: str) -> list[str]:
    """Run SQL as superuser; psql quotes the variables (`:'name'`), we never paste them."""
    command = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-p", str(cluster.port)]
    command += ["-d", database]
    for name, value in variables.items():
        command += ["-v", f"{name}={value}"]
    out = _run(_as_postgres([*command, "-f", "-"]), stdin=sql)
    return [line for line in out.splitlines() if line]


def _url(cluster: Cluster, database: str, password: str) -> str:
    return f"postgresql+psycopg://{ROLE}:{password}@127.0.0.1:{cluster.port}/{database}"


def _can_login(cluster: Cluster, password: str) -> bool:
    dsn = f"host=127.0.0.1 port={cluster.port} dbname=postgres user={ROLE} connect_timeout=3"
    try:
        with psycopg.connect(dsn, password=password):
            return True
    except psycopg.OperationalError:
        return False


def ensure_role(cluster: Cluster, password: str | None, log: Log) -> str:
    """Create our login role, or check the one we created earlier; return its password."""
    found = run_sql(
        cluster,
        "postgres",
        "SELECT 'comment:' || coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles "
        "WHERE rolname = :'role';",
        role=ROLE,
    )
    if found and found[0] != f"comment:{MARKER}":
        raise ProvisioningError(
            f"role '{ROLE}' exists but was not created by `broadband db up`; "
            "refusing to change it: set DATABASE_URL to use your own database"
        )
    if found and password and _can_login(cluster, password):
        return password
    password = password or secrets.token_urlsafe(24)
    verb = "ALTER" if found else "CREATE"
    log(f"{verb.lower()} role '{ROLE}'")
    run_sql(
        cluster,
        "postgres",
        f"{verb} ROLE {ROLE} WITH LOGIN CREATEDB PASSWORD :'password';\n"
        f"COMMENT ON ROLE {ROLE} IS :'marker';",
        password=password,
        marker=MARKER,
    )
    return password


def ensure_database(cluster: Cluster, name: str, log: Log) -> None:
    """Create one of our databases with PostGIS; never touch a database someone else made."""
    found = run_sql(
        cluster,
        "postgres",
        "SELECT 'comment:' || coalesce(shobj_description(oid, 'pg_database'), '') "
        "FROM pg_database "
        "WHERE datname = :'name';",
        name=name,
    )
    if found and found[0] != f"comment:{MARKER}":
        raise ProvisioningError(
            f"database '{name}' exists but was not created by `broadband db up`; "
            "refusing to change it: set DATABASE_URL to use it"
        )
    if not found:
        log(f"creating database '{name}' with PostGIS")
        run_sql(
            cluster,
            "postgres",
            f"CREATE DATABASE {name} OWNER {ROLE} ENCODING 'UTF8' TEMPLATE template0;\n"
            f"COMMENT ON DATABASE {name} IS :'marker';",
            marker=MARKER,
        )
    extension = run_sql(cluster, name, "SELECT 1 FROM pg_extension WHERE extname = 'postgis';")
    if not extension:
        log(f"enabling PostGIS in '{name}'")
        run_sql(cluster, name, "CREATE EXTENSION postgis;")


def read_env_file(path: Path) -> dict[str, str]:
    """Parse the simple KEY=VALUE lines of a `.env` file."""
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def write_env_file(path: Path, updates: dict[str, str]) -> bool:
    """Set keys in `.env`, keeping other lines; return whether the file changed."""
    lines = path.read_text().splitlines() if path.is_file() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in updates]
    new = [*kept, *(f"{key}={value}" for key, value in updates.items())]
    if new == lines:
        return False
    path.write_text("\n".join(new) + "\n")
    path.chmod(0o600)
    return True


def _password_from(url: str | None) -> str | None:
    if not url or f"//{ROLE}:" not in url:
        return None
    return url.split(f"//{ROLE}:", 1)[1].rsplit("@", 1)[0]


def check_external(url: str) -> Report:
    """With DATABASE_URL given, only check that it answers and has PostGIS."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname='postgis'")
            if row.fetchone() is None:
                conn.execute("CREATE EXTENSION postgis")
                return Report(url, ["enabled PostGIS in the DATABASE_URL database"])
    except psycopg.Error as exc:
        raise ProvisioningError(f"DATABASE_URL is not usable: {exc}".strip()) from exc
    return Report(url)


def db_up(env_file: Path, log: Log) -> Report:
    """Bring up a local PostGIS (or check DATABASE_URL) and record how to reach it in `.env`."""
    if os.environ.get("DATABASE_URL"):
        return check_external(os.environ["DATABASE_URL"])
    actions: list[str] = []

    def note(message: str) -> None:
        actions.append(message)
        log(message)

    version = ensure_packages(note)
    cluster = ensure_cluster(version, note)
    password = ensure_role(
        cluster, _password_from(read_env_file(env_file).get("DATABASE_URL")), note
    )
    for name in DATABASES:
        ensure_database(cluster, name, note)
    urls = {ENV_KEYS[name]: _url(cluster, name, password) for name in DATABASES}
    if write_env_file(env_file, urls):
        note(f"wrote connection settings to {env_file.name}")
    return Report(urls["DATABASE_URL"], actions)
