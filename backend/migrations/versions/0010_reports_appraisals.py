"""reports: monthly summaries (月度工作小结) and end-of-stay appraisals (派驻期满考核鉴定)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "monthly_summaries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("expert_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), server_default=sa.text("'draft'"), nullable=False),
        sa.Column("narrative", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.UUID(), nullable=True),
        *_stamps(),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'approved', 'returned')", name=op.f("ck_monthly_summaries_state")
        ),
        sa.CheckConstraint("extract(day from month) = 1", name=op.f("ck_monthly_summaries_month_first_day")),
        sa.ForeignKeyConstraint(["expert_id"], ["users.id"], name=op.f("fk_monthly_summaries_expert_id_users")),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_monthly_summaries_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_summaries")),
        sa.UniqueConstraint("expert_id", "month", name=op.f("uq_monthly_summaries_expert_id_month")),
    )
    op.create_index("ix_monthly_summaries_state_month", "monthly_summaries", ["state", "month"])
    op.create_table(
        "appraisals",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("deployment_id", sa.UUID(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), server_default=sa.text("'self_assessed'"), nullable=False),
        sa.Column("self_assessment", sa.Text(), nullable=False),
        sa.Column("self_signed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("rating", sa.String(length=20), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("rated_by", sa.UUID(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("countersign_comment", sa.Text(), nullable=True),
        sa.Column("countersigned_by", sa.UUID(), nullable=True),
        sa.Column("countersigned_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.CheckConstraint(
            "state IN ('self_assessed', 'rated', 'countersigned')", name=op.f("ck_appraisals_state")
        ),
        sa.CheckConstraint(
            "rating IS NULL OR rating IN ('excellent', 'qualified', 'unqualified')", name=op.f("ck_appraisals_rating")
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_appraisals_period")),
        sa.CheckConstraint(
            "(state = 'self_assessed') = (rating IS NULL)", name=op.f("ck_appraisals_rated_when_past_self")
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name=op.f("fk_appraisals_deployment_id_deployments")
        ),
        sa.ForeignKeyConstraint(["rated_by"], ["users.id"], name=op.f("fk_appraisals_rated_by_users")),
        sa.ForeignKeyConstraint(
            ["countersigned_by"], ["users.id"], name=op.f("fk_appraisals_countersigned_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisals")),
        sa.UniqueConstraint("deployment_id", "period_start", name=op.f("uq_appraisals_deployment_id_period_start")),
    )


def downgrade() -> None:
    op.drop_table("appraisals")
    op.drop_index("ix_monthly_summaries_state_month", table_name="monthly_summaries")
    op.drop_table("monthly_summaries")
