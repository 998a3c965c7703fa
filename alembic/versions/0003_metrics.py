"""metrics: indexes for the dashboard's windowed queries (submitted, decided, PO created, audit kind/time)

Revision ID: 0003_metrics
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003_metrics"
down_revision = "0001"
branch_labels = None
# the PO table comes from the ERP branch; its index can only be made after it
depends_on = "0002_erp"

INDEXES = {
    "ix_requisition_submitted_at": ("requisition", ["submitted_at", "site", "cost_center", "state", "id", "number"]),
    "ix_requisition_number_facts": (
        "requisition",
        ["number", "submitted_at", "site", "category", "supplier", "cost_center"],
    ),
    "ix_requisition_commitments": ("requisition", ["state", "cost_center", "amount"]),
    "ix_step_decided_at": ("approval_step", ["decided_at"]),
    "ix_step_escalated_from": ("approval_step", ["escalated_from", "requisition_id", "activated_at"]),
    "ix_audit_kind_at": ("audit_event", ["kind", "at", "requisition_number"]),
    "ix_info_request_asked_at": ("info_request", ["asked_at", "requisition_id"]),
    "ix_erp_po_created_at": ("erp_purchase_order", ["created_at", "requisition_number"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
