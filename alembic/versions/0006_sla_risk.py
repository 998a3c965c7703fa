"""step risk: the latest SLA-risk estimate of each pending approval step, and when it was acted on

Revision ID: 0006_sla_risk
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = "0006_sla_risk"
down_revision = "0001"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "step_risk",
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("requisition_number", _S(length=20), nullable=False),
        sa.Column("person", _S(length=80), nullable=False),
        sa.Column("approver", _S(length=80), nullable=False),
        sa.Column("stage", _S(length=80), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("hours_left", sa.Float(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("model", _S(length=40), nullable=False),
        sa.PrimaryKeyConstraint("step_id"),
    )
    op.create_index("ix_step_risk_requisition_number", "step_risk", ["requisition_number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_step_risk_requisition_number", table_name="step_risk")
    op.drop_table("step_risk")
