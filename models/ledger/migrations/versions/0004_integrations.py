"""Integration shutdown: step state and history, status per integration, rehearsals.

Revision ID: 0004_integrations
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_integrations"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

STEP = sa.Enum(
    "pending",
    "running",
    "done",
    "undone",
    "failed",
    name="integration_step_state",
    native_enum=False,
    length=16,
)
STATUS = sa.Enum(
    "not_started",
    "in_progress",
    "waiting",
    "failed",
    "rolled_back",
    "shut_down",
    name="integration_status_kind",
    native_enum=False,
    length=16,
)


def upgrade() -> None:
    op.create_table(
        "integration_step",
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("step_id", sa.String(100), nullable=False),
        sa.Column("state", STEP, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("integration", "step_id", name="pk_integration_step"),
    )
    op.create_table(
        "integration_step_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("step_id", sa.String(100), nullable=False),
        sa.Column("from_state", STEP, nullable=True),
        sa.Column("to_state", STEP, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_integration_step_event"),
    )
    op.create_index(
        "ix_integration_step_event_integration", "integration_step_event", ["integration"]
    )
    op.create_index("ix_integration_step_event_at", "integration_step_event", ["at"])
    op.create_table(
        "integration_status",
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("current_step", sa.String(100), nullable=True),
        sa.Column("waiting_for", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("integration", name="pk_integration_status"),
    )
    op.create_table(
        "integration_rehearsal",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_integration_rehearsal"),
    )
    op.create_index(
        "ix_integration_rehearsal_integration", "integration_rehearsal", ["integration"]
    )


def downgrade() -> None:
    op.drop_index("ix_integration_rehearsal_integration", table_name="integration_rehearsal")
    op.drop_table("integration_rehearsal")
    op.drop_table("integration_status")
    op.drop_index("ix_integration_step_event_at", table_name="integration_step_event")
    op.drop_index("ix_integration_step_event_integration", table_name="integration_step_event")
    op.drop_table("integration_step_event")
    op.drop_table("integration_step")
