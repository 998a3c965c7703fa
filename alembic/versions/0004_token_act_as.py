"""api tokens: their own person and an explicit, scoped permission to act as others

Revision ID: 0004_token_act_as
Revises: 0001
Create Date: 2026-12-01

Existing tokens get no person and no act-as permission: after this, a token that named other people as the
actor is refused (403) until it is re-created with `procurebot token create ... --act-as`.
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0004_token_act_as"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column("act_as", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(
            sa.Column("act_as_sites", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("act_as_people", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        for column in ("act_as_people", "act_as_sites", "act_as", "person"):
            batch_op.drop_column(column)
