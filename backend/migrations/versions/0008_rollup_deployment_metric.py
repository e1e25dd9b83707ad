"""stat_rollups: index by (deployment, metric, month) including the value, replacing the deployment index

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stat_rollups_deployment_id_metric_month", "stat_rollups", ["deployment_id", "metric", "month"],
                    postgresql_include=["value"])
    op.drop_index("ix_stat_rollups_deployment_id", table_name="stat_rollups")


def downgrade() -> None:
    op.create_index("ix_stat_rollups_deployment_id", "stat_rollups", ["deployment_id"])
    op.drop_index("ix_stat_rollups_deployment_id_metric_month", table_name="stat_rollups")
