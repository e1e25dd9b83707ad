"""sync_feed: index by (kind, xid) so a supervisor's pull finds entry changes at their hospitals

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_feed_kind_xid", "sync_feed", ["kind", "xid"])


def downgrade() -> None:
    op.drop_index("ix_sync_feed_kind_xid", table_name="sync_feed")
