"""login_attempts: the device each failed sign-in came from, and an index per account × address

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Failures are now counted per address, per account × address and, for a device registered to the account,
    # per account × device × address (backend/auth/throttle.py).
    op.add_column("login_attempts", sa.Column("device_id", sa.String(length=100), nullable=True))
    op.create_index("ix_login_attempts_username_address_at", "login_attempts", ["username", "address", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_username_address_at", table_name="login_attempts")
    op.drop_column("login_attempts", "device_id")
