"""jobs and notifications: the PostgreSQL job queue's tables, notification settings, channels and delivery log

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by helper F (issue 10)


def downgrade() -> None:
    pass
