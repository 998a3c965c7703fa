"""master data: suppliers, items and cost-center budgets pulled from the ERP

Revision ID: 0003_master_data
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0003_master_data"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "erp_supplier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("supplier_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("block_reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("risk_tier", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("contracted", sa.Boolean(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("erp_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connector", "supplier_id", name="uq_erp_supplier"),
    )
    op.create_table(
        "erp_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("unit_price", MONEY, nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("erp_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connector", "sku", name="uq_erp_item"),
    )
    op.create_table(
        "erp_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("cost_center", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("budget", MONEY, nullable=False),
        sa.Column("spent", MONEY, nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connector", "cost_center", name="uq_erp_budget"),
    )


def downgrade() -> None:
    op.drop_table("erp_budget")
    op.drop_table("erp_item")
    op.drop_table("erp_supplier")
