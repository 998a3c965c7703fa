"""chat delivery: platform identities, DM addresses, posted card copies, handled inbound events

Revision ID: 0003_chat_delivery
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0003_chat_delivery"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "chat_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", _S(length=20), nullable=False),
        sa.Column("tenant", _S(length=120), nullable=False),
        sa.Column("external_id", _S(length=200), nullable=False),
        sa.Column("person_id", _S(length=80), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("surface", "tenant", "external_id", name="uq_chat_identity_external"),
    )
    op.create_table(
        "chat_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", _S(length=20), nullable=False),
        sa.Column("person_id", _S(length=80), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("surface", "person_id", name="uq_chat_address_person"),
    )
    op.create_table(
        "chat_card_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", _S(length=20), nullable=False),
        sa.Column("number", _S(length=20), nullable=False),
        sa.Column("person_id", _S(length=80), nullable=False),
        sa.Column("role", _S(length=20), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("ref", _S(length=200), nullable=False),
        sa.Column("fingerprint", _S(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("surface", "number", "person_id", "role", name="uq_chat_card_copy"),
    )
    with op.batch_alter_table("chat_card_copy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_card_copy_number"), ["number"], unique=False)
    op.create_table(
        "chat_inbound_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surface", _S(length=20), nullable=False),
        sa.Column("key", _S(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("surface", "key", name="uq_chat_inbound_event"),
    )
    with op.batch_alter_table("chat_inbound_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_inbound_event_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("chat_inbound_event")
    op.drop_table("chat_card_copy")
    op.drop_table("chat_address")
    op.drop_table("chat_identity")
