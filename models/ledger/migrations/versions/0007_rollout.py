"""Rollout: the last known state of each stage of the successor's rollout.

Revision ID: 0007_rollout
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_rollout"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollout_stage_snapshot",
        sa.Column("stage_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("planned_go_live", sa.Date(), nullable=True),
        sa.Column("actual_go_live", sa.Date(), nullable=True),
        sa.Column("paused_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stage_id", name="pk_rollout_stage_snapshot"),
    )


def downgrade() -> None:
    op.drop_table("rollout_stage_snapshot")
