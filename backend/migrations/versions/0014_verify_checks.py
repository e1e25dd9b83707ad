"""verify_checks: public file checks on the verify page, counted per address across all API nodes

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verify_checks",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verify_checks")),
    )
    op.create_index("ix_verify_checks_address_at", "verify_checks", ["address", "at"])
    op.create_index("ix_verify_checks_at", "verify_checks", ["at"])


def downgrade() -> None:
    op.drop_index("ix_verify_checks_at", table_name="verify_checks")
    op.drop_index("ix_verify_checks_address_at", table_name="verify_checks")
    op.drop_table("verify_checks")
