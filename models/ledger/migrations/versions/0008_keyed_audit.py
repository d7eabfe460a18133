"""Keyed audit chain: each entry names its audit key; each approval names its audit entry.

Entries written before this have no key id and do not verify until an operator re-anchors
them with ``samsa-decom audit rekey`` (docs/operations.md). Approvals written before this
have no audit entry of their own and no longer count; a pending decision is asked again.

Revision ID: 0008_keyed_audit
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_keyed_audit"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
    with op.batch_alter_table("approval") as batch:
        batch.add_column(sa.Column("audit_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        batch.drop_column("audit_seq")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("key_id")
