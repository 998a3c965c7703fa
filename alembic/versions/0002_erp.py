"""erp: the sandbox ERP's purchase-order ledger and our record of each requisition's ERP purchase order

Revision ID: 0002_erp
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0002_erp"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "erp_sandbox_po",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("supplier", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("site", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("cost_center", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("received", MONEY, nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("need_by", sa.Date(), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_erp_sandbox_po_status", "erp_sandbox_po", ["status"])
    op.create_table(
        "erp_purchase_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requisition_number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("connector", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("erp_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("po_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("received_fraction", MONEY, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("requisition_number"),
    )
    op.create_index("ix_erp_po_status", "erp_purchase_order", ["status"])


def downgrade() -> None:
    op.drop_index("ix_erp_po_status", table_name="erp_purchase_order")
    op.drop_table("erp_purchase_order")
    op.drop_index("ix_erp_sandbox_po_status", table_name="erp_sandbox_po")
    op.drop_table("erp_sandbox_po")
