"""Foundation: milestone state and history, approvals, the audit chain.

Revision ID: 0001_foundation
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

STATES = sa.Enum(
    "pending",
    "blocked",
    "ready",
    "running",
    "awaiting_approval",
    "done",
    "failed",
    "skipped",
    name="milestone_state_kind",
    native_enum=False,
    length=32,
)


def upgrade() -> None:
    op.create_table(
        "milestone",
        sa.Column("milestone_id", sa.String(100), primary_key=True),
        sa.Column("state", STATES, nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("milestone_id", name="pk_milestone"),
    )
    op.create_table(
        "milestone_event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("milestone_id", sa.String(100), nullable=False),
        sa.Column("from_state", STATES, nullable=True),
        sa.Column("to_state", STATES, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_milestone_event"),
    )
    op.create_index("ix_milestone_event_milestone_id", "milestone_event", ["milestone_id"])
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approval"),
    )
    op.create_index("ix_approval_subject", "approval", ["subject"])
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_entry"),
        sa.UniqueConstraint("hash", name="uq_audit_entry_hash"),
    )


def downgrade() -> None:
    op.drop_table("audit_entry")
    op.drop_index("ix_approval_subject", table_name="approval")
    op.drop_table("approval")
    op.drop_index("ix_milestone_event_milestone_id", table_name="milestone_event")
    op.drop_table("milestone_event")
    op.drop_table("milestone")
