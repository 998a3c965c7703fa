"""the sandbox ERP keeps the vendors procurement adds through it, one per supplier-request number

Revision ID: 0006_erp_sandbox_vendor
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_erp_sandbox_vendor"
down_revision = "0001"
branch_labels = None
depends_on = "0002_erp"

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "erp_sandbox_vendor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", _S(length=20), nullable=True),
        sa.Column("reference", _S(length=40), nullable=False),
        sa.Column("name", _S(length=200), nullable=False),
        sa.Column("email", _S(length=254), nullable=False),
        sa.Column("website", _S(length=300), nullable=True),
        sa.Column("currency", _S(length=3), nullable=False),
        sa.Column("tax_id", _S(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("reference"),
    )


def downgrade() -> None:
    op.drop_table("erp_sandbox_vendor")
