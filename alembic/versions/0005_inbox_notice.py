"""notice inbox: notices for people no chat platform reaches, once per person and notice key, until shown

Revision ID: 0005_inbox_notice
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0005_inbox_notice"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "inbox_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", _S(length=80), nullable=False),
        sa.Column("key", _S(length=200), nullable=False),
        sa.Column("kind", _S(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("number", _S(length=20), nullable=True),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "key", name="uq_inbox_notice_person_key"),
    )
    op.create_index("ix_inbox_notice_unshown", "inbox_notice", ["person_id", "shown_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbox_notice_unshown", table_name="inbox_notice")
    op.drop_table("inbox_notice")
