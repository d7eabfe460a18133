"""A person's request is a case: its kind, extension, decision, and the secrecy review.

Existing requests become ``gdpr-art15`` requests (the only kind there was); their states
``registered`` and ``answered`` keep their meaning (registrerad, lämnad).

Revision ID: 0016_extract_case
Revises: 0003_extracts
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_extract_case"
down_revision = "0003_extracts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person_request") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(32), nullable=False, server_default="gdpr-art15")
        )
        batch.add_column(sa.Column("extension_notice_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("extension_reason", sa.Text(), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("decided_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("decision_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("show_staff_hsa", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "extract_withholding",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("ground", sa.String(100), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_extract_withholding"),
    )
    op.create_index("ix_extract_withholding_request_id", "extract_withholding", ["request_id"])


def downgrade() -> None:
    op.drop_table("extract_withholding")
    with op.batch_alter_table("person_request") as batch:
        for column in (
            "show_staff_hsa",
            "decision_text",
            "decided_by",
            "extension_reason",
            "extension_notice_on",
            "kind",
        ):
            batch.drop_column(column)
