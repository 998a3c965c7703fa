"""notice inbox: a notice may carry a card an edge drew for it (a continued request's summary, ready to submit)

Revision ID: 0006_inbox_card
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa

from alembic import op

revision = "0006_inbox_card"
down_revision = "0001"
branch_labels = None
depends_on = ("0005_inbox_notice",)


def upgrade() -> None:
    op.add_column("inbox_notice", sa.Column("card", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("inbox_notice", "card")
