"""exports: evidence export jobs and their files (bytes kept in the database)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("expert_id", sa.UUID(), nullable=False),
        sa.Column("requested_by", sa.UUID(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("formats", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("progress", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("verification_code", sa.String(length=16), nullable=False),
        sa.Column("statement", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_exports_status")
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_exports_progress_range")),
        sa.CheckConstraint("date_to >= date_from", name=op.f("ck_exports_period")),
        sa.ForeignKeyConstraint(["expert_id"], ["users.id"], name=op.f("fk_exports_expert_id_users")),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_exports_requested_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_exports_verification_code")),
    )
    op.create_index("ix_exports_expert_id_created_at", "exports", ["expert_id", "created_at"])
    op.create_table(
        "export_files",
        sa.Column("export_id", sa.UUID(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("format IN ('pdf', 'xlsx', 'csv')", name=op.f("ck_export_files_format")),
        sa.CheckConstraint("size = octet_length(content)", name=op.f("ck_export_files_size_matches")),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_export_files_sha256_hex")),
        sa.ForeignKeyConstraint(
            ["export_id"], ["exports.id"], name=op.f("fk_export_files_export_id_exports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("export_id", "format", name=op.f("pk_export_files")),
    )


def downgrade() -> None:
    op.drop_table("export_files")
    op.drop_index("ix_exports_expert_id_created_at", table_name="exports")
    op.drop_table("exports")
