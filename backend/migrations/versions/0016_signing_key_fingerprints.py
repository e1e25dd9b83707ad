"""signing_key_fingerprints: which secret each JWT key id stands for, so nodes with different keys are caught

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per key id, written by the first node that served with it (backend/security/key_agreement.py). A
    # fingerprint is an HMAC of a fixed label under the secret: it tells secrets apart without revealing one.
    op.create_table(
        "signing_key_fingerprints",
        sa.Column("kid", sa.String(length=100), primary_key=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("signing_key_fingerprints")
