"""notice inbox: each kept notice is an unread item until its person opens it or marks it read

Revision ID: 0006_inbox_read
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa

from alembic import op

revision = "0006_inbox_read"
down_revision = "0001"
branch_labels = None
depends_on = ("0005_inbox_notice",)


def upgrade() -> None:
    op.add_column("inbox_notice", sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_inbox_notice_unread", "inbox_notice", ["person_id", "read_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbox_notice_unread", table_name="inbox_notice")
    op.drop_column("inbox_notice", "read_at")
