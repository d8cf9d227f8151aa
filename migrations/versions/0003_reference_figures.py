"""Official reference figures (Breitbandatlas history) to quote beside our own coverage figures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_figures",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("stand", sa.Text(), nullable=False),
        sa.Column("stand_date", sa.Date(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("ags", sa.Text(), nullable=False),
        sa.Column("indicator", sa.Text(), nullable=False),
        sa.Column("value_pct", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_figures")),
        sa.CheckConstraint(
            "level IN ('gemeinde', 'kreis', 'land', 'bund')",
            name=op.f("ck_reference_figures_level_allowed"),
        ),
    )
    op.create_index(
        "ix_reference_figures_lookup",
        "reference_figures",
        ["ags", "segment", "indicator", "stand_date"],
    )


def downgrade() -> None:
    op.drop_table("reference_figures")
