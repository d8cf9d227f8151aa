"""Imports get a random public id: a preview's address can no longer be guessed from another's.

The sequential `id` stays the primary key inside the database; clients and the change log's
`source` see only `public_id`, a version-4 UUID drawn by PostgreSQL (`gen_random_uuid()`, built in
since 13).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "imports",
        sa.Column(
            "public_id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
    )
    op.create_unique_constraint(op.f("uq_imports_public_id"), "imports", ["public_id"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_imports_public_id"), "imports", type_="unique")
    op.drop_column("imports", "public_id")
