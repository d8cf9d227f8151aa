"""Typed mapping of the PostGIS tables; the schema itself is owned by the Alembic migrations."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Double,
    FetchedValue,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.core.vocabulary import Connection, Funding, Kind, Status, values

SRID = 25832


def _in(column: str, allowed: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names are stable and readable."""


Base.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def _geometry(kind: str) -> Any:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=False), nullable=False)


def _feature_args(table: str, *extra: Any) -> tuple[Any, ...]:
    """Constraints every feature table shares: a valid, non-empty geometry with a GiST index."""
    return (
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
        Index(f"ix_{table}_geom", "geom", postgresql_using="gist"),
        *extra,
    )


STATUSES = values(Status)
KINDS = values(Kind)
FUNDINGS = values(Funding)
CONNECTIONS = values(Connection)


class Municipality(Base):
    """A municipality (Gemeinde) with its official key and boundary."""

    __tablename__ = "municipality"
    __table_args__ = _feature_args(
        "municipality",
        CheckConstraint("ags ~ '^[0-9]{8}$'", name="ags_format"),
        CheckConstraint("name <> ''", name="name_not_blank"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ags: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[WKBElement] = _geometry("MULTIPOLYGON")
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    valid_from: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=FetchedValue(), doc="Kept by PostgreSQL (0011)"
    )


class _Feature:
    """Columns shared by the feature tables of one municipality."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("municipality.id", ondelete="RESTRICT"), index=True
    )
    approximate: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    external_id: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Since when this row is the feature's version; earlier ones are in `<table>_versions`.
    valid_from: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=FetchedValue(), doc="Kept by PostgreSQL (0011)"
    )


class District(_Feature, Base):
    """An Ortsteil: the unit coverage is reported by inside a municipality."""

    __tablename__ = "districts"
    __table_args__ = _feature_args(
        "districts",
        UniqueConstraint("municipality_id", "name", name="uq_districts_name"),
        UniqueConstraint("municipality_id", "external_id", name="uq_districts_external_id"),
        CheckConstraint("name <> ''", name="name_not_blank"),
    )

    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[WKBElement] = _geometry("MULTIPOLYGON")


class Area(_Feature, Base):
    """A fibre expansion area (Ausbaugebiet) with its roll-out status."""

    __tablename__ = "areas"
    __table_args__ = _feature_args(
        "areas",
        UniqueConstraint("municipality_id", "name", name="uq_areas_name"),
        UniqueConstraint("municipality_id", "external_id", name="uq_areas_external_id"),
        CheckConstraint("name <> ''", name="name_not_blank"),
        CheckConstraint(_in("kind", KINDS), name="kind_allowed"),
        CheckConstraint(_in("status", STATUSES), name="status_allowed"),
        CheckConstraint(_in("funding", FUNDINGS), name="funding_allowed"),
    )

    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    funding: Mapped[str] = mapped_column(Text, server_default=text("'unknown'"))
    provider: Mapped[str | None] = mapped_column(Text)
    status_since: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[WKBElement] = _geometry("MULTIPOLYGON")
    area_m2: Mapped[float] = mapped_column(
        Double, Computed("ST_Area(geom)", persisted=True), doc="Kept by PostgreSQL from geom"
    )


class Hamlet(_Feature, Base):
    """A Bauerschaft: a rural farming hamlet with its own roll-out status."""

    __tablename__ = "hamlets"
    __table_args__ = _feature_args(
        "hamlets",
        UniqueConstraint("municipality_id", "name", name="uq_hamlets_name"),
        UniqueConstraint("municipality_id", "external_id", name="uq_hamlets_external_id"),
        CheckConstraint("name <> ''", name="name_not_blank"),
        CheckConstraint(_in("status", STATUSES), name="status_allowed"),
        CheckConstraint("demand_share BETWEEN 0 AND 1", name="demand_share_range"),
        CheckConstraint("demand_quota BETWEEN 0 AND 1", name="demand_quota_range"),
    )

    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    status_since: Mapped[dt.date] = mapped_column(Date)
    demand_share: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    demand_quota: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    geom: Mapped[WKBElement] = _geometry("MULTIPOLYGON")


class School(_Feature, Base):
    """A school and how it is connected."""

    __tablename__ = "schools"
    __table_args__ = _feature_args(
        "schools",
        UniqueConstraint("municipality_id", "name", name="uq_schools_name"),
        UniqueConstraint("municipality_id", "external_id", name="uq_schools_external_id"),
        CheckConstraint("name <> ''", name="name_not_blank"),
        CheckConstraint(_in("connection", CONNECTIONS), name="connection_allowed"),
        CheckConstraint("pupils >= 0", name="pupils_not_negative"),
    )

    name: Mapped[str] = mapped_column(Text)
    school_type: Mapped[str] = mapped_column(Text)
    pupils: Mapped[int] = mapped_column(Integer)
    connection: Mapped[str] = mapped_column(Text)
    status_since: Mapped[dt.date] = mapped_column(Date)
    school_number: Mapped[str | None] = mapped_column(Text)
    street: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[WKBElement] = _geometry("POINT")


class Address(_Feature, Base):
    """An address point: the unit address coverage counts."""

    __tablename__ = "addresses"
    __table_args__ = _feature_args(
        "addresses",
        UniqueConstraint(
            "municipality_id", "postcode", "street", "house_number", name="uq_addresses_address"
        ),
        UniqueConstraint("municipality_id", "external_id", name="uq_addresses_external_id"),
        CheckConstraint("street <> '' AND house_number <> ''", name="address_not_blank"),
        CheckConstraint("postcode ~ '^[0-9]{5}$'", name="postcode_format"),
    )

    street: Mapped[str] = mapped_column(Text)
    house_number: Mapped[str] = mapped_column(Text)
    postcode: Mapped[str] = mapped_column(Text)
    geom: Mapped[WKBElement] = _geometry("POINT")


class Change(Base):
    """Written by the triggers: who changed which feature, when, from what to what."""

    __tablename__ = "changes"
    __table_args__ = (
        CheckConstraint(
            _in("operation", ["insert", "update", "delete", "load"]), name="operation_allowed"
        ),
        Index("ix_changes_feature", "table_name", "feature_id"),
        Index("ix_changes_changed_at", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    transaction_id: Mapped[int] = mapped_column(BigInteger, server_default=text("txid_current()"))
    actor: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    feature_id: Mapped[int] = mapped_column(BigInteger)
    operation: Mapped[str] = mapped_column(Text)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class DataVersion(Base):
    """A single row bumped by every committed write; caches are keyed on it."""

    __tablename__ = "data_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


FEATURE_TABLES: dict[str, type[Base]] = {
    "municipality": Municipality,
    "districts": District,
    "areas": Area,
    "hamlets": Hamlet,
    "schools": School,
    "addresses": Address,
}


def _versions_table(name: str) -> Table:
    """`<table>_versions`: the feature's earlier versions, each valid until `valid_to`."""
    source = FEATURE_TABLES[name].__table__
    columns = [Column(c.name, c.type, nullable=c.nullable) for c in source.columns]
    indexes = [Index(f"ix_{name}_versions_id", "id")]
    if name in ("areas", "hamlets", "districts"):
        indexes.append(Index(f"ix_{name}_versions_geom", "geom", postgresql_using="gist"))
    if name != "municipality":
        indexes.append(Index(f"ix_{name}_versions_municipality_id", "municipality_id", "valid_to"))
    return Table(
        f"{name}_versions",
        Base.metadata,
        *columns,
        Column("valid_to", DateTime(timezone=True), nullable=False),
        *indexes,
    )


VERSION_TABLES: dict[str, Table] = {name: _versions_table(name) for name in FEATURE_TABLES}


class ReferenceFigure(Base):
    """One official figure (e.g. Breitbandatlas: share of households with FTTH/B ≥ 1000 Mbit/s)."""

    __tablename__ = "reference_figures"
    __table_args__ = (
        CheckConstraint(_in("level", ["gemeinde", "kreis", "land", "bund"]), name="level_allowed"),
        Index("ix_reference_figures_lookup", "ags", "segment", "indicator", "stand_date"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_file: Mapped[str | None] = mapped_column(Text)
    stand: Mapped[str] = mapped_column(Text)
    stand_date: Mapped[dt.date] = mapped_column(Date)
    segment: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    ags: Mapped[str] = mapped_column(Text)
    indicator: Mapped[str] = mapped_column(Text)
    value_pct: Mapped[float] = mapped_column(Float)


class StatusHistory(Base):
    """One version of a feature's status, valid from `status_since` until the next version."""

    __tablename__ = "status_history"
    __table_args__ = (
        CheckConstraint(_in("feature_table", ["areas", "hamlets", "schools"]), name="table"),
        UniqueConstraint(
            "feature_table", "feature_id", "status_since", name="uq_status_history_version"
        ),
        Index("ix_status_history_municipality", "municipality_id", "status_since"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(BigInteger)
    feature_table: Mapped[str] = mapped_column(Text)
    feature_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text)
    status_since: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AddressFeature(Base):
    """An area or hamlet that contains an address, with the rank of its current status."""

    __tablename__ = "address_features"
    __table_args__ = (
        CheckConstraint(_in("feature_table", ["areas", "hamlets"]), name="table"),
        Index("ix_address_features_address", "address_id"),
    )

    feature_table: Mapped[str] = mapped_column(Text, primary_key=True)
    feature_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    address_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger)


class AddressCoverage(Base):
    """Each address's district and best status rank, kept current by triggers."""

    __tablename__ = "address_coverage"

    address_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(BigInteger)
    district_id: Mapped[int | None] = mapped_column(BigInteger)
    best_rank: Mapped[int] = mapped_column(SmallInteger)


coverage_counts = Table(
    "coverage_counts",
    Base.metadata,
    Column("municipality_id", BigInteger, nullable=False),
    Column("district_id", BigInteger),
    Column("best_rank", SmallInteger, nullable=False),
    Column("addresses", BigInteger, nullable=False),
    UniqueConstraint(
        "municipality_id",
        "district_id",
        "best_rank",
        name="uq_coverage_counts_unit",
        postgresql_nulls_not_distinct=True,
    ),
)


address_states = Table(
    "address_states",
    Base.metadata,
    Column("address_id", BigInteger, nullable=False),
    Column("municipality_id", BigInteger, nullable=False),
    Column("since", Date, nullable=False),
    Column("until", Date),
    Column("district_id", BigInteger),
    Column("best_rank", SmallInteger, nullable=False),
    Index("ix_address_states_address_id", "address_id"),
    Index(
        "ix_address_states_open",
        "municipality_id",
        "since",
        postgresql_include=["district_id", "best_rank"],
        postgresql_where=text("until IS NULL"),
    ),
    Index(
        "ix_address_states_closed",
        "municipality_id",
        "until",
        postgresql_include=["since", "district_id", "best_rank"],
        postgresql_where=text("until IS NOT NULL"),
    ),
)
"""Each address's district and best status over time (0011): one row per period of days,
from `since` until the day before `until` (NULL: still)."""


class ApiToken(Base):
    """A bearer token for writes; the secret itself is never stored, only its SHA-256."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("role IN ('editor', 'admin')", name="role_allowed"),
        CheckConstraint("name ~ '^[A-Za-z0-9._@-]{1,64}$'", name="name_format"),
        UniqueConstraint("secret_hash", name="uq_api_tokens_secret_hash"),
        Index(
            "uq_api_tokens_live_name",
            "name",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Import(Base):
    """A delivery read and checked, with the preview shown to the coordinator; applied on commit."""

    __tablename__ = "imports"
    __table_args__ = (
        CheckConstraint(
            "layer IN ('districts', 'areas', 'hamlets', 'schools', 'addresses')",
            name="layer_allowed",
        ),
        CheckConstraint("match IN ('key', 'external_id')", name="match_allowed"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # What clients see and address a preview by: random, so one preview's id reveals no other's.
    public_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), server_default=text("gen_random_uuid()"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)
    layer: Mapped[str] = mapped_column(Text)
    municipality_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("municipality.id", ondelete="CASCADE")
    )
    match: Mapped[str] = mapped_column(Text)
    delete_missing: Mapped[bool] = mapped_column(Boolean)
    fingerprint: Mapped[str] = mapped_column(Text)
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    preview: Mapped[dict[str, Any]] = mapped_column(JSONB)
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    committed_by: Mapped[str | None] = mapped_column(Text)
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)


class User(Base):
    """Someone who signs in to the workspace; only an Argon2id hash of the password is stored."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('editor', 'admin')", name="role_allowed"),
        CheckConstraint("name ~ '^[A-Za-z0-9._@-]{1,64}$'", name="name_format"),
        CheckConstraint("password_hash LIKE '$argon2id$%'", name="password_hash_argon2"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_range"),
        UniqueConstraint("name", name="uq_users_name"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A server-side sign-in; its id is the SHA-256 of the cookie's secret, never the secret."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        CheckConstraint("id ~ '^[0-9a-f]{64}$'", name="id_sha256"),
        Index("ix_user_sessions_user_id", "user_id"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
