"""directory versions: the company directory stored and activated like the policy, and the version a requisition
was routed with

Revision ID: 0006_directory_version
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_directory_version"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", _S(length=64), nullable=False),
        sa.Column("origin", _S(length=20), nullable=False),
        sa.Column("filename", _S(length=300), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_hash"),
    )
    with op.batch_alter_table("requisition") as batch:
        batch.add_column(sa.Column("directory_version_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requisition") as batch:
        batch.drop_column("directory_version_id")
    op.drop_table("directory_version")
