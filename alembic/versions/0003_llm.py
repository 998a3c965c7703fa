"""llm: category suggestions (suggested vs confirmed) and the exception summary on approver cards

Revision ID: 0003_llm
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0003_llm"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requisition_number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("suggested", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("prompt_version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("confirmed", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("category_suggestion", schema=None) as batch_op:
        batch_op.create_index("ix_category_suggestion_number", ["requisition_number"], unique=False)
    op.create_table(
        "exception_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requisition_number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("prompt_version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("requisition_number", "round", name="uq_exception_summary_round"),
    )


def downgrade() -> None:
    op.drop_table("exception_summary")
    with op.batch_alter_table("category_suggestion", schema=None) as batch_op:
        batch_op.drop_index("ix_category_suggestion_number")
    op.drop_table("category_suggestion")
