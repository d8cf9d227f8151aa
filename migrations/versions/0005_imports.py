"""Imports: external ids to match deliveries by, the source of each logged change, stored previews.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEMBER_TABLES = ("districts", "areas", "hamlets", "schools", "addresses")

# As in 0001, plus the transaction-local `broadband.source` (an import's file name, say).
LOG_FUNCTION = """
CREATE OR REPLACE FUNCTION broadband_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('broadband.actor', true), ''), session_user);
    origin text := nullif(current_setting('broadband.source', true), '');
    logged bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO changes (actor, source, table_name, feature_id, operation, old, new)
        SELECT who, origin, TG_TABLE_NAME, n.id, 'insert', NULL, to_jsonb(n) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO changes (actor, source, table_name, feature_id, operation, old, new)
        SELECT who, origin, TG_TABLE_NAME, n.id, 'update', to_jsonb(o), to_jsonb(n)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE to_jsonb(o) - 'version' - 'updated_at' <> to_jsonb(n) - 'version' - 'updated_at';
    ELSE
        INSERT INTO changes (actor, source, table_name, feature_id, operation, old, new)
        SELECT who, origin, TG_TABLE_NAME, o.id, 'delete', to_jsonb(o), NULL FROM old_rows o;
    END IF;
    GET DIAGNOSTICS logged = ROW_COUNT;
    IF logged > 0 THEN  -- statements that changed nothing leave caches and ETags valid
        PERFORM broadband_touch();
    END IF;
    RETURN NULL;
END
$$;
"""

PREVIOUS_LOG_FUNCTION = """
CREATE OR REPLACE FUNCTION broadband_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF logged > 0 THEN
        PERFORM broadband_touch();
    END IF;
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    for table in MEMBER_TABLES:
        op.add_column(table, sa.Column("external_id", sa.Text(), nullable=True))
        op.create_unique_constraint(
            f"uq_{table}_external_id", table, ["municipality_id", "external_id"]
        )
    op.add_column("changes", sa.Column("source", sa.Text(), nullable=True))
    op.execute(LOG_FUNCTION)
    op.create_table(
        "imports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("municipality_id", sa.BigInteger(), nullable=False),
        sa.Column("match", sa.Text(), nullable=False),
        sa.Column("delete_missing", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("features", postgresql.JSONB(), nullable=False),
        sa.Column("preview", postgresql.JSONB(), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committed_by", sa.Text(), nullable=True),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name="fk_imports_municipality_id",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "layer IN ('districts', 'areas', 'hamlets', 'schools', 'addresses')",
            name=op.f("ck_imports_layer_allowed"),
        ),
        sa.CheckConstraint("match IN ('key', 'external_id')", name=op.f("ck_imports_match_allowed")),
    )


def downgrade() -> None:
    op.drop_table("imports")
    op.execute(PREVIOUS_LOG_FUNCTION)
    op.drop_column("changes", "source")
    for table in MEMBER_TABLES:
        op.drop_constraint(f"uq_{table}_external_id", table, type_="unique")
        op.drop_column(table, "external_id")
