"""supplier requests: a requester asks procurement to add a supplier, a buyer decides

Revision ID: 0006_supplier_request
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_supplier_request"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "supplier_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _S(length=200), nullable=False),
        sa.Column("name_key", _S(length=200), nullable=False),
        sa.Column("email", _S(length=254), nullable=False),
        sa.Column("website", _S(length=300), nullable=False),
        sa.Column("tax_id", _S(length=40), nullable=True),
        sa.Column("tax_document", sa.JSON(), nullable=True),
        sa.Column("currency", _S(length=3), nullable=False),
        sa.Column("state", _S(length=20), nullable=False),
        sa.Column("requested_by", _S(length=80), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("surface", _S(length=20), nullable=False),
        sa.Column("waiting", sa.JSON(), nullable=False),
        sa.Column("decided_by", _S(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("supplier_id", _S(length=80), nullable=True),
        sa.Column("erp_key", _S(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supplier_request", schema=None) as batch_op:
        batch_op.create_index("ix_supplier_request_name_key", ["name_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supplier_request", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_request_name_key")
    op.drop_table("supplier_request")
