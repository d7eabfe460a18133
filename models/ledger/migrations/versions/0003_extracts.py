"""Register extracts: organisation deliveries and persons' requests.

Revision ID: 0003_extracts
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_extracts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

DELIVERY_STATES = sa.Enum(
    "produced",
    "delivered",
    "receipt_confirmed",
    name="extract_delivery_state",
    native_enum=False,
    length=32,
)
REQUEST_STATES = sa.Enum(
    "registered", "answered", name="person_request_state", native_enum=False, length=32
)


def upgrade() -> None:
    op.create_table(
        "extract_delivery",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(100), nullable=False),
        sa.Column("org_name", sa.String(300), nullable=False),
        sa.Column("bag_name", sa.String(300), nullable=False),
        sa.Column("bag_path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("payload_oxum", sa.String(64), nullable=False),
        sa.Column("state", DELIVERY_STATES, nullable=False),
        sa.Column("produced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_to", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_by", sa.String(200), nullable=True),
        sa.Column("receipt_via", sa.String(32), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_extract_delivery"),
    )
    op.create_index("ix_extract_delivery_org_id", "extract_delivery", ["org_id"])
    op.create_index("ix_extract_delivery_sha256", "extract_delivery", ["sha256"])
    op.create_table(
        "person_request",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("identity", sa.String(12), nullable=False),
        sa.Column("identity_kind", sa.String(32), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", REQUEST_STATES, nullable=False),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_from", sa.String(32), nullable=True),
        sa.Column("result_dir", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_person_request"),
    )
    op.create_index("ix_person_request_deadline", "person_request", ["deadline"])


def downgrade() -> None:
    op.drop_table("person_request")
    op.drop_table("extract_delivery")
