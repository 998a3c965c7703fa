"""chat users linked by hand: an administrator links a Slack or Teams user to a directory person in the console

Revision ID: 0006_chat_identity_link
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_chat_identity_link"
down_revision = "0001"
branch_labels = None
depends_on = ("0003_chat_delivery",)


def upgrade() -> None:
    with op.batch_alter_table("chat_identity") as batch:
        batch.add_column(sa.Column("linked_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_identity") as batch:
        batch.drop_column("linked_by")
