"""stats: trainee and attendance-day roll-ups, and a partial index for pending counts

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stat_trainees",
        sa.Column("expert_id", sa.UUID(), nullable=False),
        sa.Column("deployment_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("trainee_id", sa.UUID(), nullable=False),
        sa.Column("institution_id", sa.UUID(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name=op.f("fk_stat_trainees_deployment_id_deployments")
        ),
        sa.ForeignKeyConstraint(["expert_id"], ["users.id"], name=op.f("fk_stat_trainees_expert_id_users")),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institutions.id"], name=op.f("fk_stat_trainees_institution_id_institutions")
        ),
        sa.PrimaryKeyConstraint("expert_id", "deployment_id", "month", "trainee_id", name=op.f("pk_stat_trainees")),
    )
    op.create_index("ix_stat_trainees_institution_id_month", "stat_trainees", ["institution_id", "month"])
    op.create_table(
        "stat_days",
        sa.Column("expert_id", sa.UUID(), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("deployment_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name=op.f("fk_stat_days_deployment_id_deployments")
        ),
        sa.ForeignKeyConstraint(["expert_id"], ["users.id"], name=op.f("fk_stat_days_expert_id_users")),
        sa.PrimaryKeyConstraint("expert_id", "work_date", "deployment_id", "status", name=op.f("pk_stat_days")),
    )
    op.create_index(
        "ix_entries_submitted_expert_id_work_date",
        "entries",
        ["expert_id", "work_date", "activity_type"],
        postgresql_where=sa.text("status = 'submitted' AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_entries_submitted_expert_id_work_date",
        table_name="entries",
        postgresql_where=sa.text("status = 'submitted' AND deleted_at IS NULL"),
    )
    op.drop_table("stat_days")
    op.drop_index("ix_stat_trainees_institution_id_month", table_name="stat_trainees")
    op.drop_table("stat_trainees")
