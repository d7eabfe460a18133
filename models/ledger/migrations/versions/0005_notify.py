"""Notify: the notification outbox and the last-seen milestone snapshot.

Revision ID: 0005_notify
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_notify"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

STATUS = sa.Enum(
    "queued", "sending", "sent", "failed", name="notice_status_kind", native_enum=False, length=16
)


def upgrade() -> None:
    op.create_table(
        "notice_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("notice_key", sa.String(300), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("delivered_to", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice_outbox"),
        sa.UniqueConstraint("notice_key", "tag", name="uq_notice_outbox_key_tag"),
    )
    op.create_index("ix_notice_outbox_tag", "notice_outbox", ["tag"])
    op.create_table(
        "notice_milestone_snapshot",
        sa.Column("milestone_id", sa.String(100), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("gate", sa.String(100), nullable=True),
        sa.Column("gate_open", sa.Boolean(), nullable=True),
        sa.Column("gate_reasons", sa.JSON(), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("milestone_id", name="pk_notice_milestone_snapshot"),
    )


def downgrade() -> None:
    op.drop_table("notice_milestone_snapshot")
    op.drop_index("ix_notice_outbox_tag", table_name="notice_outbox")
    op.drop_table("notice_outbox")
