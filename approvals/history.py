"""The history the signals compare a requisition against: one thin query, plain data out.

Past requisitions that share the requester, the supplier or an item with this one (by SKU, or for a line with no
SKU by its description, at any site and from any supplier), over the last `days` days, as
`approvals.signals.PastRequest` (ids, amounts and items; no names).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from approvals.clock import as_utc
from approvals.models import Requisition, RequisitionLine
from approvals.signals import PastLine, PastRequest

HISTORY_DAYS = 180
MAX_ROWS = 500


def _past(req: Requisition, lines: list[RequisitionLine]) -> PastRequest:
    route: dict[str, Any] = req.route or {}
    return PastRequest(
        number=req.number or "",
        requester=req.requester,
        supplier=req.supplier,
        site=req.site,
        amount=Decimal(req.amount),
        currency=req.currency,
        created_at=as_utc(req.created_at),
        state=req.state,
        policy_currency=route.get("policy_currency", req.currency),
        lines=tuple(
            PastLine(ln.description, Decimal(ln.quantity), Decimal(ln.unit_price), ln.unit, ln.sku)
            for ln in sorted(lines, key=lambda ln: ln.line_no)
        ),
    )


def load_history(
    session: Session, number: str, *, days: int = HISTORY_DAYS
) -> tuple[PastRequest, dict[str, Any], list[PastRequest]] | None:
    """The requisition `number` (with its routing facts) and its comparable history, or None if unknown."""
    req = session.exec(select(Requisition).where(Requisition.number == number)).first()
    if req is None or req.id is None:
        return None
    own = list(session.exec(select(RequisitionLine).where(RequisitionLine.requisition_id == req.id)).all())
    current = _past(req, own)
    since = as_utc(req.created_at) - timedelta(days=days)
    skus = sorted({ln.sku for ln in own if ln.sku})
    related = or_(col(Requisition.requester) == req.requester, col(Requisition.supplier) == req.supplier)
    if skus:
        with_skus = select(RequisitionLine.requisition_id).where(col(RequisitionLine.sku).in_(skus))
        related = or_(related, col(Requisition.id).in_(with_skus))
    # a free-text item's history is the whole company's too: the same words bought by anyone, anywhere
    texts = sorted({ln.description.strip().lower() for ln in own if not ln.sku and ln.description.strip()})
    if texts:
        same_text = select(RequisitionLine.requisition_id).where(
            func.lower(func.trim(col(RequisitionLine.description))).in_(texts)
        )
        related = or_(related, col(Requisition.id).in_(same_text))
    # what came before this one: a later request is not part of its history (ids grow with every insert)
    rows = session.exec(
        select(Requisition)
        .where(related, col(Requisition.id) < req.id, col(Requisition.created_at) >= since)
        .order_by(col(Requisition.created_at).desc())
        .limit(MAX_ROWS)
    ).all()
    ids = [r.id for r in rows]
    by_req: dict[int, list[RequisitionLine]] = {}
    if ids:
        for ln in session.exec(select(RequisitionLine).where(col(RequisitionLine.requisition_id).in_(ids))).all():
            by_req.setdefault(ln.requisition_id, []).append(ln)
    return current, dict(req.facts or {}), [_past(r, by_req.get(r.id or 0, [])) for r in rows]


# "more than twice the average of the last three orders": the policy's history facts (approvals/policy/facts.py)
RECENT_ORDERS = 3
ORDERED_STATES = ("approved", "po_pending", "po_created")  # requests that became orders, whatever came after


def recent_averages(session: Session, requester: str, exclude_id: int | None = None) -> dict[str, Decimal]:
    """`avg_amount` (in the policy currency, as routed) and `avg_qty` (total quantity of a requisition) over the
    requester's last RECENT_ORDERS orders; empty when they have none, so an expression over them does not hold."""
    query = (
        select(col(Requisition.id), col(Requisition.amount))
        .where(Requisition.requester == requester, col(Requisition.state).in_(ORDERED_STATES))
        .order_by(col(Requisition.id).desc())
        .limit(RECENT_ORDERS)
    )
    if exclude_id is not None:
        query = query.where(Requisition.id != exclude_id)
    rows = session.exec(query).all()
    if not rows:
        return {}
    ids = [int(r[0] or 0) for r in rows]
    quantities: dict[int, Decimal] = {}
    for rid, qty in session.exec(
        select(col(RequisitionLine.requisition_id), col(RequisitionLine.quantity)).where(
            col(RequisitionLine.requisition_id).in_(ids)
        )
    ).all():
        quantities[rid] = quantities.get(rid, Decimal(0)) + Decimal(qty)
    n = Decimal(len(rows))
    return {
        "avg_amount": sum((Decimal(r[1]) for r in rows), Decimal(0)) / n,
        "avg_qty": sum((quantities.get(rid, Decimal(0)) for rid in ids), Decimal(0)) / n,
    }
