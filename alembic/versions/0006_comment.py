"""comments: what the people involved say about a requisition

Revision ID: 0006_comment
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_comment"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "requisition_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requisition_id", sa.Integer(), nullable=False),
        sa.Column("author", _S(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("surface", _S(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["requisition_id"], ["requisition.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_requisition_comment_requisition_id", "requisition_comment", ["requisition_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_requisition_comment_requisition_id", table_name="requisition_comment")
    op.drop_table("requisition_comment")
