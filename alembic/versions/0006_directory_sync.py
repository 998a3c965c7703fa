"""directory sync: what Microsoft Graph told the last sync (its delta link, the users as known), and who is out of
office by their automatic replies

Revision ID: 0006_directory_sync
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_directory_sync"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "directory_sync",
        sa.Column("source", _S(length=20), nullable=False),
        sa.Column("delta_link", sa.Text(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "directory_absence",
        sa.Column("person_id", _S(length=80), nullable=False),
        sa.Column("status", _S(length=20), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("person_id"),
    )


def downgrade() -> None:
    op.drop_table("directory_absence")
    op.drop_table("directory_sync")
