"""The approval workflow: typed commands in, one transaction each, audited, idempotent."""

from approvals.workflow.base import ActionResult
from approvals.workflow.service import ApprovalService

__all__ = ["ActionResult", "ApprovalService"]
