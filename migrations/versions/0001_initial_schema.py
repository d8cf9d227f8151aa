"""Initial schema: municipality, districts, areas, hamlets, schools, addresses and the change log.

The vocabulary is frozen here as CHECK constraints so the database, not only Python, refuses
unknown values; geometries must be valid; every write to a feature table is logged by triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from typing import Any

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SRID = 25832
STATUSES = ("connected", "under_construction", "in_preparation", "planned", "insufficient_demand")
KINDS = ("settlement", "commercial", "outskirts")
FUNDINGS = ("private", "funded", "unknown")
CONNECTIONS = ("fibre", "commitment", "lte", "none")
FEATURE_TABLES = ("municipality", "districts", "areas", "hamlets", "schools", "addresses")


def _in(column: str, allowed: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in allowed)})"


def _geom(kind: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "geom",
        geoalchemy2.Geometry(kind, srid=SRID, spatial_index=False),
        nullable=False,
    )


def _common(table: str) -> list[Any]:
    """Columns and constraints every feature table has."""
    return [
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.CheckConstraint(
            "ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name=op.f(f"ck_{table}_geom_valid")
        ),
        sa.CheckConstraint("name <> ''", name=op.f(f"ck_{table}_name_not_blank"))
        if table != "addresses"
        else sa.CheckConstraint(
            "street <> '' AND house_number <> ''", name=op.f("ck_addresses_address_not_blank")
        ),
    ]


def _member(table: str) -> list[Any]:
    """Columns of a table whose rows belong to one municipality."""
    return [
        sa.Column("municipality_id", sa.BigInteger(), nullable=False),
        sa.Column("approximate", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=f"fk_{table}_municipality_id",
            ondelete="RESTRICT",
        ),
    ]


def _create_tables() -> None:
    op.create_table(
        "municipality",
        *_common("municipality"),
        sa.Column("ags", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _geom("MULTIPOLYGON"),
        sa.CheckConstraint("ags ~ '^[0-9]{8}$'", name=op.f("ck_municipality_ags_format")),
        sa.UniqueConstraint("ags", name="uq_municipality_ags"),
    )
    op.create_table(
        "districts",
        *_common("districts"),
        *_member("districts"),
        sa.Column("name", sa.Text(), nullable=False),
        _geom("MULTIPOLYGON"),
        sa.UniqueConstraint("municipality_id", "name", name="uq_districts_name"),
    )
    op.create_table(
        "areas",
        *_common("areas"),
        *_member("areas"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("funding", sa.Text(), server_default=sa.text("'unknown'"), nullable=False),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        _geom("MULTIPOLYGON"),
        sa.CheckConstraint(_in("kind", KINDS), name=op.f("ck_areas_kind_allowed")),
        sa.CheckConstraint(_in("status", STATUSES), name=op.f("ck_areas_status_allowed")),
        sa.CheckConstraint(_in("funding", FUNDINGS), name=op.f("ck_areas_funding_allowed")),
        sa.UniqueConstraint("municipality_id", "name", name="uq_areas_name"),
    )
    op.create_table(
        "hamlets",
        *_common("hamlets"),
        *_member("hamlets"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column("demand_share", sa.Numeric(5, 4), nullable=True),
        _geom("MULTIPOLYGON"),
        sa.CheckConstraint(_in("status", STATUSES), name=op.f("ck_hamlets_status_allowed")),
        sa.CheckConstraint("demand_share BETWEEN 0 AND 1", name=op.f("ck_hamlets_demand_share_range")),
        sa.UniqueConstraint("municipality_id", "name", name="uq_hamlets_name"),
    )
    op.create_table(
        "schools",
        *_common("schools"),
        *_member("schools"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("school_type", sa.Text(), nullable=False),
        sa.Column("pupils", sa.Integer(), nullable=False),
        sa.Column("connection", sa.Text(), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column("school_number", sa.Text(), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("postcode", sa.Text(), nullable=True),
        _geom("POINT"),
        sa.CheckConstraint(_in("connection", CONNECTIONS), name=op.f("ck_schools_connection_allowed")),
        sa.CheckConstraint("pupils >= 0", name=op.f("ck_schools_pupils_not_negative")),
        sa.UniqueConstraint("municipality_id", "name", name="uq_schools_name"),
    )
    op.create_table(
        "addresses",
        *_common("addresses"),
        *_member("addresses"),
        sa.Column("street", sa.Text(), nullable=False),
        sa.Column("house_number", sa.Text(), nullable=False),
        sa.Column("postcode", sa.Text(), nullable=False),
        _geom("POINT"),
        sa.CheckConstraint("postcode ~ '^[0-9]{5}$'", name=op.f("ck_addresses_postcode_format")),
        sa.UniqueConstraint(
            "municipality_id", "postcode", "street", "house_number", name="uq_addresses_address"
        ),
    )
    for table in FEATURE_TABLES:
        op.create_index(f"ix_{table}_geom", table, ["geom"], postgresql_using="gist")
        if table != "municipality":
            op.create_index(f"ix_{table}_municipality_id", table, ["municipality_id"])


def _create_change_log() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "transaction_id",
            sa.BigInteger(),
            server_default=sa.text("txid_current()"),
            nullable=False,
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("feature_id", sa.BigInteger(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("old", postgresql.JSONB(), nullable=True),
        sa.Column("new", postgresql.JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
        sa.CheckConstraint(
            _in("operation", ("insert", "update", "delete")), name=op.f("ck_changes_operation_allowed")
        ),
    )
    op.create_index("ix_changes_feature", "changes", ["table_name", "feature_id"])
    op.create_index("ix_changes_changed_at", "changes", ["changed_at"])
    # One row that every committed write bumps: readers key their caches on it, and unlike
    # max(changes.id) it cannot miss a transaction that commits after a later one.
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_data_version"),
        sa.CheckConstraint("id = 1", name=op.f("ck_data_version_single_row")),
    )
    op.execute("INSERT INTO data_version (id) VALUES (1)")


# Statement-level triggers with transition tables: one set-based INSERT into the log per statement,
# so loading 12,000 addresses costs one extra statement, not 12,000. The actor comes from the
# transaction-local setting `broadband.actor` (set by the service), else the database user.
LOG_FUNCTION = """
CREATE FUNCTION broadband_touch() RETURNS void LANGUAGE sql AS $$
    UPDATE data_version SET version = version + 1, changed_at = now() WHERE id = 1
$$;

CREATE FUNCTION broadband_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('broadband.actor', true), ''), session_user);
    logged bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO changes (actor, table_name, feature_id, operation, old, new)
        SELECT who, TG_TABLE_NAME, n.id, 'insert', NULL, to_jsonb(n) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO changes (actor, table_name, feature_id, operation, old, new)
        SELECT who, TG_TABLE_NAME, n.id, 'update', to_jsonb(o), to_jsonb(n)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE to_jsonb(o) - 'version' - 'updated_at' <> to_jsonb(n) - 'version' - 'updated_at';
    ELSE
        INSERT INTO changes (actor, table_name, feature_id, operation, old, new)
        SELECT who, TG_TABLE_NAME, o.id, 'delete', to_jsonb(o), NULL FROM old_rows o;
    END IF;
    GET DIAGNOSTICS logged = ROW_COUNT;
    IF logged > 0 THEN  -- statements that changed nothing leave caches and ETags valid
        PERFORM broadband_touch();
    END IF;
    RETURN NULL;
END
$$;
"""

# Each update bumps the row version (the basis of ETags and optimistic concurrency).
VERSION_FUNCTION = """
CREATE FUNCTION broadband_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
"""


def _create_triggers() -> None:
    op.execute(LOG_FUNCTION)
    op.execute(VERSION_FUNCTION)
    for table in FEATURE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_version BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION broadband_bump_version()"
        )
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_log_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {tables} FOR EACH STATEMENT "
                "EXECUTE FUNCTION broadband_log_changes()"
            )


def upgrade() -> None:
    _create_tables()
    _create_change_log()
    _create_triggers()


def downgrade() -> None:
    for table in ("changes", *reversed(FEATURE_TABLES)):
        op.drop_table(table)
    op.execute("DROP FUNCTION broadband_log_changes()")
    op.execute("DROP FUNCTION broadband_touch()")
    op.drop_table("data_version")
    op.execute("DROP FUNCTION broadband_bump_version()")
