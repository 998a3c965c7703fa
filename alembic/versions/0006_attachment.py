"""attachments: files a requisition carries, and their bytes for the database store

Revision ID: 0006_attachment
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_attachment"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "requisition_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requisition_id", sa.Integer(), nullable=False),
        sa.Column("filename", _S(length=200), nullable=False),
        sa.Column("content_type", _S(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _S(length=64), nullable=False),
        sa.Column("storage_key", _S(length=100), nullable=False),
        sa.Column("uploaded_by", _S(length=80), nullable=False),
        sa.Column("surface", _S(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["requisition_id"], ["requisition.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_requisition_attachment_requisition_id", "requisition_attachment", ["requisition_id"], unique=False
    )
    op.create_table(
        "attachment_blob",
        sa.Column("key", _S(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("attachment_blob")
    op.drop_index("ix_requisition_attachment_requisition_id", table_name="requisition_attachment")
    op.drop_table("requisition_attachment")
