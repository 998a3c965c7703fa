"""Reading requisitions: one by number, or lists with filters."""

from __future__ import annotations

from sqlmodel import Session, col, select

from approvals.errors import (
    NotFound,
)
from approvals.models import (
    ApprovalStep,
    Requisition,
)
from approvals.views import RequisitionView, build_view
from approvals.workflow.base import (  # noqa: F401
    COMMITTED_STATES,
    PENDING,
    WAITING,
    ActionResult,
    ServiceBase,
    _fingerprint,
)


class ReadActions(ServiceBase):
    """Reads."""

    def get(self, number: str) -> RequisitionView:
        with Session(self.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
            if req is None:
                raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
            return build_view(session, req, self.directory)

    def list(
        self,
        *,
        state: str | None = None,
        requester: str | None = None,
        site: str | None = None,
        supplier: str | None = None,
        cost_center: str | None = None,
        waiting_on: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[RequisitionView]:
        with Session(self.engine) as session:
            query = select(Requisition)
            for column, value in (
                (Requisition.state, state),
                (Requisition.requester, requester),
                (Requisition.site, site),
                (Requisition.supplier, supplier),
                (Requisition.cost_center, cost_center),
            ):
                if value:
                    query = query.where(column == value)
            if waiting_on:
                sub = select(ApprovalStep.requisition_id).where(
                    ApprovalStep.acting == waiting_on, ApprovalStep.state == PENDING
                )
                query = query.where(col(Requisition.id).in_(sub))
            query = query.order_by(col(Requisition.id).desc()).offset(offset).limit(min(limit, 500))
            return [build_view(session, r, self.directory) for r in session.exec(query).all()]
