"""A per-hamlet demand quota: the share of sign-ups a provider needs before it builds there.

Optional; where it is empty the service uses `BROADBAND_DEMAND_QUOTA`. The change-log, version and
status triggers read whole rows (`to_jsonb`), so they cover the new column without a change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("hamlets", sa.Column("demand_quota", sa.Numeric(5, 4), nullable=True))
    op.create_check_constraint(
        op.f("ck_hamlets_demand_quota_range"), "hamlets", "demand_quota BETWEEN 0 AND 1"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_hamlets_demand_quota_range"), "hamlets", type_="check")
    op.drop_column("hamlets", "demand_quota")
