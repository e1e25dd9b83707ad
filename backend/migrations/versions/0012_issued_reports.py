"""issued_reports: verification codes of issued monthly summaries and annual programme reports

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_reports",
        sa.Column("verification_code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("statement", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("issued_by", sa.UUID(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('monthly_summary', 'annual_report', 'appraisal')", name=op.f("ck_issued_reports_kind")
        ),
        sa.CheckConstraint("format IN ('pdf', 'xlsx')", name=op.f("ck_issued_reports_format")),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_issued_reports_sha256_hex")),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"], name=op.f("fk_issued_reports_issued_by_users")),
        sa.PrimaryKeyConstraint("verification_code", name=op.f("pk_issued_reports")),
    )
    op.create_index("ix_issued_reports_subject_id", "issued_reports", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_issued_reports_subject_id", table_name="issued_reports")
    op.drop_table("issued_reports")
