"""The approval service: the one entry point every surface (API, chats, CLI, scheduler) uses."""

from __future__ import annotations

from approvals.workflow.admin import AdminActions
from approvals.workflow.attachments import AttachmentActions
from approvals.workflow.comments import CommentActions
from approvals.workflow.corrections import CorrectionActions
from approvals.workflow.decisions import DecisionActions
from approvals.workflow.delegations import DelegationActions
from approvals.workflow.intake import IntakeActions
from approvals.workflow.reads import ReadActions
from approvals.workflow.recurring import RecurringActions


class ApprovalService(
    IntakeActions,
    DecisionActions,
    AdminActions,
    DelegationActions,
    CommentActions,
    CorrectionActions,
    AttachmentActions,
    RecurringActions,
    ReadActions,
):
    """Every action is one transaction under the requisition's row lock, audited and idempotent."""
