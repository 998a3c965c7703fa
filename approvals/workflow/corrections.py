"""Corrections after submit: a buyer fixes a line's category.

The line and the requisition's category change (so spend by category is right), the route already taken does
not (it was decided on the facts as submitted, and the audit trail says what changed and why), and the correction
is kept as a training example for the category classifier (`category_suggestion`, source `buyer`), which learns
from it like from a requester's confirmation.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from approvals.commands import CorrectCategory
from approvals.errors import FieldError, NotFound, ValidationFailed
from approvals.models import Requisition, RequisitionLine
from approvals.suggestions import CategorySuggestion
from approvals.workflow.base import ActionResult, ServiceBase


class CorrectionActions(ServiceBase):
    """A buyer's corrections to a submitted requisition."""

    def correct_category(self, cmd: CorrectCategory) -> ActionResult:
        """Only callers that checked the person's right to correct (an admin or buyer surface) call this."""

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            known = self.directory.category_by_code
            if cmd.category not in known:
                valid = ", ".join(sorted(known))
                raise ValidationFailed(
                    [FieldError("category", f"{cmd.category!r} is not a category; use one of: {valid}")]
                )
            lines = list(
                session.exec(
                    select(RequisitionLine)
                    .where(RequisitionLine.requisition_id == req.id)
                    .order_by(col(RequisitionLine.line_no))
                ).all()
            )
            line = next((ln for ln in lines if ln.line_no == cmd.line_no), None)
            if line is None:
                raise NotFound(f"{req.number} has no line {cmd.line_no}; it has lines 1 to {len(lines)}.")
            before = line.category
            if before == cmd.category:
                return req, "unchanged", f"Line {cmd.line_no} of {req.number} is already {known[before].name}."
            line.category = cmd.category
            session.add(line)
            req.category = _dominant(lines)
            req.updated_at = now
            session.add(
                CategorySuggestion(
                    requisition_number=req.number or "",
                    line_no=line.line_no,
                    description=line.description[:300],
                    suggested=before,
                    confidence=1.0,
                    source="buyer",
                    confirmed=cmd.category,
                    accepted=False,
                    created_at=now,
                )
            )
            self._audit(
                session,
                req,
                "category_corrected",
                cmd.actor,
                now,
                cmd.surface,
                {"category": before, "line": line.line_no},
                {"category": cmd.category, "line": line.line_no, "reason": cmd.reason},
            )
            name = known[cmd.category].name
            return req, "corrected", f"Line {cmd.line_no} of {req.number} is now {name}; the classifier learns from it."

        return self._run(cmd, "correct_category", body)


def _dominant(lines: list[RequisitionLine]) -> str:
    """The requisition's category: the one with the most money on it (the first line's on a tie)."""
    money: dict[str, Decimal] = defaultdict(Decimal)
    for ln in lines:
        money[ln.category] += ln.total
    return max(money, key=lambda c: (money[c], -next(i for i, ln in enumerate(lines) if ln.category == c)))
