"""promotion_rounds: HR's whole-hospital export (one ZIP of every expert's signed PDF + XLSX); exports.round_id

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotion_rounds",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("institution_id", sa.UUID(), nullable=False),
        sa.Column("requested_by", sa.UUID(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("progress", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("experts_total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("experts_done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("storage_key", sa.String(length=300), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_promotion_rounds_status")
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_promotion_rounds_progress_range")),
        sa.CheckConstraint("date_to >= date_from", name=op.f("ck_promotion_rounds_period")),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institutions.id"], name=op.f("fk_promotion_rounds_institution_id_institutions")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_promotion_rounds_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_rounds")),
    )
    op.create_index(
        "ix_promotion_rounds_institution_id_created_at", "promotion_rounds", ["institution_id", "created_at"]
    )
    op.add_column("exports", sa.Column("round_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_exports_round_id_promotion_rounds"), "exports", "promotion_rounds", ["round_id"], ["id"],
        ondelete="SET NULL",
    )
    op.create_index("ix_exports_round_id", "exports", ["round_id"])


def downgrade() -> None:
    op.drop_index("ix_exports_round_id", table_name="exports")
    op.drop_constraint(op.f("fk_exports_round_id_promotion_rounds"), "exports", type_="foreignkey")
    op.drop_column("exports", "round_id")
    op.drop_index("ix_promotion_rounds_institution_id_created_at", table_name="promotion_rounds")
    op.drop_table("promotion_rounds")
