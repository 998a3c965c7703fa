"""Read models: what a requisition looks like to a person, an API client or a card."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Sequence

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from approvals import groups, recurring
from approvals.attachments import Attachment
from approvals.clock import as_utc
from approvals.columns import table_of
from approvals.comments import Comment
from approvals.directory import Directory
from approvals.models import ApprovalStep, Decision, InfoRequest, Requisition, RequisitionLine
from approvals.states import StepState


class LineView(BaseModel):
    line_no: int
    description: str
    sku: str | None
    quantity: Decimal
    unit: str
    unit_price: Decimal
    total: Decimal
    category: str
    item_type: str


class StepView(BaseModel):
    id: int
    stage_index: int
    stage_name: str
    mode: str
    required: int
    approver: str
    approver_name: str
    acting: str
    state: str
    explanation: str
    rule_id: str
    sla_hours: Decimal
    activated_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    on_behalf_of: str | None
    comment: str | None


class DecisionView(BaseModel):
    action: str
    actor: str
    actor_name: str
    on_behalf_of: str | None
    comment: str | None
    surface: str
    at: datetime


class InfoRequestView(BaseModel):
    id: int
    asked_by: str
    question: str
    asked_at: datetime
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    state: str


class CommentNote(BaseModel):
    author: str
    author_name: str
    text: str
    at: datetime


class AttachmentNote(BaseModel):
    """A file the requisition carries, as a card lists it (its link goes through the product's read check)."""

    id: int
    filename: str
    content_type: str
    size: int
    uploaded_by: str
    uploaded_by_name: str
    at: datetime


class RequisitionView(BaseModel):
    number: str
    title: str
    state: str
    requester: str
    requester_name: str
    site: str
    cost_center: str
    supplier: str
    supplier_name: str
    currency: str
    total: Decimal
    amount: Decimal
    policy_currency: str
    category: str
    item_type: str
    urgency: str
    recurring: bool
    need_by: date | None
    justification: str
    policy_version: str
    directory_version: int | None = None  # the directory version it was routed with (approvals/directory_store.py)
    route_explanation: str
    # why the route is shaped as it is where people were passed over (a delegate's limit, a manager gone up to)
    route_notes: list[str] = []
    stop_reason: str | None
    current_stage: int
    round: int
    waiting_on: list[str]
    # a stage of groups: what it still needs, in people's names ("James Carter and one of: Sofia Alvarez or ...")
    still_needed: str | None = None
    # steps of later stages kept provisionally until an earlier stage shows who acted (separation_of_duties: acted)
    provisional: list[str] = []
    # the people each stage of the route informs (never asked to act), by stage index
    informed: list[list[str]] = []
    # what the people involved said about it (approvals/comments.py), oldest first
    comments: list[CommentNote] = []
    # the files it carries (approvals/attachments.py), oldest first
    attachments: list[AttachmentNote] = []
    # a recurring requisition's releases (approvals/recurring.py): "Monthly, 12 releases from ...: 3 made (active)."
    schedule: str | None = None
    schedule_state: str | None = None  # waiting, active, paused, ended, finished
    lines: list[LineView]
    steps: list[StepView]
    decisions: list[DecisionView]
    info_requests: list[InfoRequestView]
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None


def _name(directory: Directory, person_id: str | None) -> str:
    if not person_id:
        return ""
    p = directory.person(person_id)
    return p.name if p else person_id


def _still_needed(req: Requisition, route: dict[str, Any], steps: Sequence[Any], directory: Directory) -> str | None:
    stages = route.get("stages") or []
    if req.state != "pending_approval" or not 0 <= req.current_stage < len(stages):
        return None
    tree = stages[req.current_stage].get("group")
    if not tree:
        return None
    stage = [s for s in steps if s.stage_index == req.current_stage]
    held = groups.holders(stage)
    return groups.describe(tree, lambda i: _name(directory, held.get(i)), groups.statuses(stage)) or None


def _provisional(req: Requisition, route: dict[str, Any], steps: Sequence[Any], directory: Directory) -> list[str]:
    """The steps of stages still to come kept provisionally whose earlier stage has not finished yet, and which are
    still with the person routing planned: one whose holder has approved an earlier stage is handed on at once
    (approvals.workflow.decisions), so it is no longer provisional."""
    if req.state not in ("pending_approval", "needs_info"):
        return []
    stages = route.get("stages") or []
    done = {st.get("name") for st in stages[: req.current_stage]}
    out: list[str] = []
    for index in range(req.current_stage + 1, len(stages)):
        stage = [s for s in steps if s.stage_index == index]
        where = groups.positions(stage)
        planned = stages[index].get("steps") or []
        for s in stage:
            i = where.get(s.id)
            step = planned[i] if i is not None and i < len(planned) else {}
            earlier = step.get("provisional")
            if not earlier or earlier in done or s.escalated_from is not None or s.approver != step.get("approver"):
                continue
            fallback = step.get("fallback")
            then = _name(directory, fallback["acting"]) if fallback else None
            out.append(groups.provisional_note(_name(directory, s.acting), stages[index]["name"], earlier, then))
    return out


def build_view(session: Session, req: Requisition, directory: Directory) -> RequisitionView:
    assert req.id is not None and req.number is not None
    # Plain rows, not ORM instances: a view is read far more often than anything is written, and
    # building table models costs more than the queries. Pending changes are flushed first, so the
    # view shows what this session has done (as the ORM's autoflush would).
    session.flush()
    conn = session.connection()
    lines_t, steps_t, decisions_t, infos_t = (
        table_of(m)
        for m in (
            RequisitionLine,
            ApprovalStep,
            Decision,
            InfoRequest,
        )
    )
    lines = conn.execute(select(lines_t).where(lines_t.c.requisition_id == req.id).order_by(lines_t.c.line_no)).all()
    steps = conn.execute(
        select(steps_t)
        .where(steps_t.c.requisition_id == req.id, steps_t.c.round == req.round)
        .order_by(steps_t.c.stage_index, steps_t.c.id)
    ).all()
    decisions = conn.execute(
        select(decisions_t).where(decisions_t.c.requisition_id == req.id).order_by(decisions_t.c.id)
    ).all()
    infos = conn.execute(select(infos_t).where(infos_t.c.requisition_id == req.id).order_by(infos_t.c.id)).all()
    comments_t = table_of(Comment)
    comments = conn.execute(
        select(comments_t).where(comments_t.c.requisition_id == req.id).order_by(comments_t.c.id)
    ).all()
    attachments_t = table_of(Attachment)
    attachments = conn.execute(
        select(attachments_t).where(attachments_t.c.requisition_id == req.id).order_by(attachments_t.c.id)
    ).all()
    supplier = directory.supplier_by_id.get(req.supplier)
    route: dict[str, Any] = req.route or {}
    schedule = recurring.read(conn, req.id) if req.recurring else None
    return RequisitionView(
        schedule=recurring.summary(schedule) if schedule else None,
        schedule_state=schedule.state if schedule else None,
        number=req.number,
        title=req.title,
        state=req.state,
        requester=req.requester,
        requester_name=_name(directory, req.requester),
        site=req.site,
        cost_center=req.cost_center,
        supplier=req.supplier,
        supplier_name=supplier.name if supplier else req.supplier,
        currency=req.currency,
        total=req.total,
        amount=req.amount,
        policy_currency=route.get("policy_currency", directory.currency),
        category=req.category,
        item_type=req.item_type,
        urgency=req.urgency,
        recurring=req.recurring,
        need_by=req.need_by,
        justification=req.justification,
        policy_version=route.get("policy_version", ""),
        directory_version=req.directory_version_id,
        route_explanation=route.get("explanation", ""),
        route_notes=list(route.get("notes") or ()),
        stop_reason=route.get("stop_reason"),
        current_stage=req.current_stage,
        round=req.round,
        waiting_on=sorted({s.acting for s in steps if s.state == StepState.PENDING}),
        still_needed=_still_needed(req, route, steps, directory),
        provisional=_provisional(req, route, steps, directory),
        informed=[list(stage.get("informed") or ()) for stage in route.get("stages") or ()],
        lines=[
            LineView(
                line_no=ln.line_no,
                description=ln.description,
                sku=ln.sku,
                quantity=ln.quantity,
                unit=ln.unit,
                unit_price=ln.unit_price,
                total=ln.total,
                category=ln.category,
                item_type=ln.item_type,
            )
            for ln in lines
        ],
        steps=[
            StepView(
                id=s.id or 0,
                stage_index=s.stage_index,
                stage_name=s.stage_name,
                mode=s.mode,
                required=s.required,
                approver=s.approver,
                approver_name=_name(directory, s.approver),
                acting=s.acting,
                state=s.state,
                explanation=s.explanation,
                rule_id=s.rule_id,
                sla_hours=s.sla_hours,
                activated_at=as_utc(s.activated_at),
                decided_at=as_utc(s.decided_at),
                decided_by=s.decided_by,
                on_behalf_of=s.on_behalf_of,
                comment=s.comment,
            )
            for s in steps
        ],
        decisions=[
            DecisionView(
                action=d.action,
                actor=d.actor,
                actor_name=_name(directory, d.actor),
                on_behalf_of=d.on_behalf_of,
                comment=d.comment,
                surface=d.surface,
                at=as_utc(d.created_at),
            )
            for d in decisions
        ],
        info_requests=[
            InfoRequestView(
                id=i.id or 0,
                asked_by=i.asked_by,
                question=i.question,
                asked_at=as_utc(i.asked_at),
                answer=i.answer,
                answered_by=i.answered_by,
                answered_at=as_utc(i.answered_at),
                state=i.state,
            )
            for i in infos
        ],
        comments=[
            CommentNote(author=c.author, author_name=_name(directory, c.author), text=c.body, at=as_utc(c.created_at))
            for c in comments
        ],
        attachments=[
            AttachmentNote(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                uploaded_by=a.uploaded_by,
                uploaded_by_name=_name(directory, a.uploaded_by),
                at=as_utc(a.created_at),
            )
            for a in attachments
        ],
        created_at=as_utc(req.created_at),
        submitted_at=as_utc(req.submitted_at),
        decided_at=as_utc(req.decided_at),
    )
