"""recurring purchases: a recurring requisition's schedule (period, releases, first date) and how far it has got

Revision ID: 0006_recurring_schedule
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_recurring_schedule"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "recurring_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requisition_id", sa.Integer(), nullable=False),
        sa.Column("number", _S(length=20), nullable=False),
        sa.Column("period", _S(length=10), nullable=False),
        sa.Column("releases", sa.Integer(), nullable=False),
        sa.Column("first_release", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("state", _S(length=10), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("made", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Numeric(20, 4), nullable=False),
        sa.Column("changed_by", _S(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["requisition_id"], ["requisition.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("requisition_id"),
        sa.UniqueConstraint("number"),
    )


def downgrade() -> None:
    op.drop_table("recurring_schedule")
