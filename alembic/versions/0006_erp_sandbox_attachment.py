"""the sandbox ERP files the attachments that come with a purchase order

Revision ID: 0006_erp_sandbox_attachment
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_erp_sandbox_attachment"
down_revision = "0001"
branch_labels = None
depends_on = "0002_erp"

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "erp_sandbox_po_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("po_id", sa.Integer(), nullable=False),
        sa.Column("filename", _S(length=200), nullable=False),
        sa.Column("content_type", _S(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _S(length=64), nullable=False),
        sa.Column("source", _S(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["po_id"], ["erp_sandbox_po.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_erp_sandbox_po_attachment_po_id", "erp_sandbox_po_attachment", ["po_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_erp_sandbox_po_attachment_po_id", table_name="erp_sandbox_po_attachment")
    op.drop_table("erp_sandbox_po_attachment")
