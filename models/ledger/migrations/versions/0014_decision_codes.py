"""Decision codes: the HMAC of each one-time code sent to an approver's channel, bound to the
wait it answers; and the case number (diarienummer) an approval of a disposal names.

Revision ID: 0014_decision_codes
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_decision_codes"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_code",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("wait_seq", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_decision_code"),
    )
    op.create_index("ix_decision_code_subject", "decision_code", ["subject"])
    with op.batch_alter_table("approval") as batch:
        batch.add_column(sa.Column("case_number", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        batch.drop_column("case_number")
    op.drop_index("ix_decision_code_subject", table_name="decision_code")
    op.drop_table("decision_code")
