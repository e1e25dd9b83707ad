"""sync_horizon.epoch: bumped by a restore so that every pull cursor issued before it answers a reset

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_horizon", sa.Column("epoch", sa.Integer(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    op.drop_column("sync_horizon", "epoch")
