"""category suggestions: the version of the learned model that made each one

Revision ID: 0006_category_model
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_category_model"
down_revision = "0001"
branch_labels = None
depends_on = ("0003_llm",)


def upgrade() -> None:
    with op.batch_alter_table("category_suggestion", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("category_suggestion", schema=None) as batch_op:
        batch_op.drop_column("model_version")
