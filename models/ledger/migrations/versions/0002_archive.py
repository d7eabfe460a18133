"""Archive: the archive_package table (packages, fixity, per-table counts and digests).

Revision ID: 0002_archive
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_archive"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_package",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("objid", sa.String(100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(32), nullable=False),
        sa.Column("mets_sha256", sa.String(64), nullable=False),
        sa.Column("siard_sha256", sa.String(64), nullable=False),
        sa.Column("siard_bytes", sa.BigInteger(), nullable=False),
        sa.Column("total_rows", sa.BigInteger(), nullable=False),
        sa.Column("tables", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "verified", "unverified", name="archive_package_state", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("archival_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_archive_package"),
    )
    op.create_index("ix_archive_package_objid", "archive_package", ["objid"])


def downgrade() -> None:
    op.drop_index("ix_archive_package_objid", "archive_package")
    op.drop_table("archive_package")
