"""Indexes the metrics need, declared on the tables they read (migration 0003_metrics creates them).

Every dashboard query reads one time window, so each table it scans is indexed on the
timestamp that defines the window; the rest are lookups of correlated rows.
"""

from __future__ import annotations

from sqlalchemy import Index

from approvals.columns import table_of
from approvals.models import ApprovalStep, AuditEvent, InfoRequest, Requisition
from approvals.outbox import ErpPurchaseOrder

_req = table_of(Requisition)
_step = table_of(ApprovalStep)
_audit = table_of(AuditEvent)
_po = table_of(ErpPurchaseOrder)
_info = table_of(InfoRequest)

# name -> (table, columns); the migration reads this too, so the two cannot drift apart
METRIC_INDEXES: dict[str, tuple[str, tuple[str, ...]]] = {
    # the window of submitted requisitions, with what the rates and exceptions read: index-only scans
    "ix_requisition_submitted_at": ("requisition", ("submitted_at", "site", "cost_center", "state", "id", "number")),
    # covers the requisition side of cycle time (POs joined by number): index-only lookups
    "ix_requisition_number_facts": (
        "requisition",
        ("number", "submitted_at", "site", "category", "supplier", "cost_center"),
    ),
    "ix_requisition_commitments": ("requisition", ("state", "cost_center", "amount")),
    "ix_step_decided_at": ("approval_step", ("decided_at",)),
    "ix_step_escalated_from": ("approval_step", ("escalated_from", "requisition_id", "activated_at")),
    "ix_audit_kind_at": ("audit_event", ("kind", "at", "requisition_number")),
    # with the number, POs of a window are read from the index alone
    "ix_info_request_asked_at": ("info_request", ("asked_at", "requisition_id")),
    "ix_erp_po_created_at": ("erp_purchase_order", ("created_at", "requisition_number")),
}

_tables = {t.name: t for t in (_req, _step, _audit, _po, _info)}
INDEXES = [Index(name, *(_tables[table].c[c] for c in cols)) for name, (table, cols) in METRIC_INDEXES.items()]
