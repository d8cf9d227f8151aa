"""One settings class, so every knob is named, typed and documented in a single place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.core import limits, rate_limits
from service.core.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACKAGE = PROJECT_ROOT / "geodata" / "coesfeld"
BASEMAP_DE = (
    "https://sgx.geodatenzentrum.de/wmts_basemapde/tile/1.0.0/de_basemapde_web_raster_farbe/"
    "default/GLOBAL_WEBMERCATOR/{z}/{y}/{x}.png"
)
BASEMAP_DE_ATTRIBUTION = (
    'Karte: <a href="https://basemap.de">basemap.de</a> / © GeoBasis-DE / BKG (2025) CC BY 4.0'
)

DEFAULT_DEMAND_QUOTA = 0.40
"""The share of a hamlet's addresses a provider typically needs signed up before it builds."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
METRICS_TOKEN_MIN = 32
"""Shortest metrics token accepted: as strong as an API token, so a guess never scrapes."""
DEFAULT_ALLOWED_HOSTS = "localhost,127.0.0.1,testserver,[::1]"
"""Host headers answered without configuration: this machine, and the test client."""


def normalise_database_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` spellings; use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Service configuration from `BROADBAND_*` variables (and plain `DATABASE_URL`), or `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="BROADBAND_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "BROADBAND_DATABASE_URL"),
        description="SQLAlchemy URL of the PostGIS database; `broadband db up` writes one to .env.",
    )
    test_database_url: str | None = Field(
        default=None,
        description="Database the tests may wipe; default `<database>_test` on the same server.",
    )
    environment: str = Field(default="development", description="development or production")
    log_level: str = Field(
        default="INFO", description="Lowest level logged: DEBUG, INFO, WARNING, ERROR or CRITICAL"
    )
    default_package: Path = Field(
        default=DEFAULT_PACKAGE, description="Data package `broadband seed` loads without a path."
    )
    basemap_url: str = Field(
        default=BASEMAP_DE,
        description="XYZ tile URL of the basemap (the only outside request); `none`: none",
    )
    basemap_attribution: str = Field(default=BASEMAP_DE_ATTRIBUTION)
    frame_ancestors: str = Field(
        default="'self'",
        description="Who may embed the map in an iframe (CSP frame-ancestors), e.g. "
        "`'self' https://www.coesfeld.de`",
    )
    static_dir: Path = Field(
        default=PROJECT_ROOT / "node_modules",
        description="Where `npm ci` put the front-end packages the service serves under /static",
    )
    tile_cache_size: int = Field(
        default=2048,
        ge=0,
        description="Vector tiles each worker keeps in memory per data version (least recently "
        "used go first); 0: none",
    )
    tile_feature_limit: int = Field(
        default=10_000,
        ge=1,
        description="Features a layer of one vector tile holds at most, so a tile zoomed far out "
        "over a Land's addresses stays small (tipg's default); zoom in for all",
    )
    max_body_bytes: int = Field(
        default=10_000_000, ge=1_000, description="Largest request body accepted (413 above)"
    )
    max_import_bytes: int = Field(
        default=200_000_000, ge=1_000, description="Largest delivery `import` accepts (413 above)"
    )
    max_header_bytes: int = Field(
        default=limits.MAX_HEADER_BYTES,
        ge=1_024,
        description="Largest request line and headers `broadband serve` reads (431 above)",
    )
    max_url_bytes: int = Field(
        default=limits.MAX_URL_BYTES,
        ge=256,
        description="Longest request target, path and query (414 above)",
    )
    max_unpacked_bytes: int = Field(
        default=limits.MAX_UNPACKED_BYTES,
        ge=1_000,
        description="Bytes a zip-based delivery (zipped Shapefile, .xlsx, .ods) may inflate to",
    )
    max_delivery_rows: int = Field(
        default=limits.MAX_DELIVERY_ROWS, ge=1, description="Features (rows) one delivery may hold"
    )
    max_vertices_per_feature: int = Field(
        default=limits.MAX_VERTICES_PER_FEATURE,
        ge=4,
        description="Vertices one feature of a delivery may have",
    )
    max_vertices_per_delivery: int = Field(
        default=limits.MAX_VERTICES_PER_DELIVERY,
        ge=4,
        description="Vertices all features of one delivery may have",
    )
    statement_timeout_ms: int = Field(
        default=limits.STATEMENT_TIMEOUT_MS,
        ge=0,
        description="statement_timeout of request transactions; 0: none",
    )
    import_statement_timeout_ms: int = Field(
        default=limits.IMPORT_STATEMENT_TIMEOUT_MS,
        ge=0,
        description="statement_timeout of an import's transactions; 0: none",
    )
    auth_failure_limit: str = Field(
        default=rate_limits.AUTH_FAILURE_LIMIT,
        description="Failed sign-ins and wrong bearer tokens one client address may send, e.g. "
        "`10/minute` or `10/minute;50/hour`; then 429 until the window frees; `off`: no limit",
    )
    upload_limit: str = Field(
        default=rate_limits.UPLOAD_LIMIT,
        description="Delivery uploads one client address may send, e.g. `30/hour`; then 429; "
        "`off`: no limit",
    )
    demand_quota: float = Field(
        default=DEFAULT_DEMAND_QUOTA,
        gt=0,
        le=1,
        description="Sign-up quota (share 0–1) for hamlets without their own `demand_quota`",
    )
    accessibility_contact_email: str | None = Field(
        default=None, description="E-mail address for accessibility feedback (statement page)"
    )
    accessibility_contact_phone: str | None = Field(
        default=None, description="Phone number for accessibility feedback (statement page)"
    )
    accessibility_contact_address: str | None = Field(
        default=None, description="Postal address for accessibility feedback (statement page)"
    )
    accessibility_statement_date: dt.date | None = Field(
        default=None, description="Date the accessibility statement was written or last reviewed"
    )
    accessibility_arbitration: str | None = Field(
        default=None,
        description="Text on the conciliation procedure (Schlichtungsverfahren) of the Land or "
        "the Schlichtungsstelle nach § 16 BGG; a generic text is shown when unset",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Connections each service process keeps open (a connection opened per "
        "request costs a new server process and its first reprojection, tens of ms)",
    )
    db_max_overflow: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Connections a process may open beyond the pool under load; "
        "workers × (pool size + overflow) must fit the server's max_connections",
    )
    db_connect_timeout_s: int = Field(default=3, ge=1, le=60)
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Service processes `broadband serve` starts (each with its own pool)",
    )
    shutdown_timeout_s: int = Field(
        default=30,
        ge=1,
        le=600,
        description="On SIGTERM, how long in-flight requests may take to finish",
    )
    public_url: str | None = Field(
        default=None,
        description="The address the public reaches the service at, e.g. "
        "`https://breitband.example.de`: every absolute link and redirect is built from it",
    )
    allowed_hosts: str = Field(
        default=DEFAULT_ALLOWED_HOSTS,
        description="Host headers answered (comma-separated, `*.example.de` for subdomains); "
        "others get 400; the public URL's host is always allowed",
    )
    metrics: Literal["off", "public", "token"] = Field(
        default="off",
        description="`GET /metrics` for Prometheus: `off` (404), `public`, or `token` (only with "
        "`Authorization: Bearer` and BROADBAND_METRICS_TOKEN)",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="The bearer secret Prometheus sends when BROADBAND_METRICS=token; at least "
        f"{METRICS_TOKEN_MIN} characters, e.g. from `openssl rand -hex 32`",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError(f"expected e.g. https://breitband.example.de, got {value!r}")
        return value.strip().rstrip("/")

    @property
    def trusted_hosts(self) -> list[str]:
        """The Host headers the service answers: the allowed hosts and the public URL's host."""
        hosts = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if self.public_url:
            public = urlsplit(self.public_url).hostname or ""
            hosts.append(f"[{public}]" if ":" in public else public)
        return list(dict.fromkeys(hosts))

    @field_validator("database_url", "test_database_url")
    @classmethod
    def _driver(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else value

    @field_validator("auth_failure_limit", "upload_limit")
    @classmethod
    def _rate_limit(cls, value: str, info: ValidationInfo) -> str:
        rate_limits.parse(value, f"BROADBAND_{str(info.field_name).upper()}")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return level

    @model_validator(mode="after")
    def _metrics_token(self) -> Settings:
        secret = self.metrics_token.get_secret_value() if self.metrics_token else ""
        if self.metrics == "token" and len(secret.strip()) < METRICS_TOKEN_MIN:
            raise ValueError(
                "BROADBAND_METRICS=token needs BROADBAND_METRICS_TOKEN, a secret of at least "
                f"{METRICS_TOKEN_MIN} characters (e.g. from `openssl rand -hex 32`)"
            )
        return self

    @property
    def basemap(self) -> str | None:
        """The tile URL, or None when the basemap is switched off."""
        return None if self.basemap_url.strip().lower() in {"", "none"} else self.basemap_url

    def require_database_url(self) -> str:
        """Return the database URL or explain how to get one."""
        if not self.database_url:
            raise ConfigurationError(
                "DATABASE_URL is not set: run `broadband db up` (writes it to .env) "
                "or point DATABASE_URL at an existing PostGIS database"
            )
        return self.database_url
