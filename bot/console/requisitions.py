"""Requisition search, and one requisition's detail: facts, the steps with the why of each, every event."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, or_
from sqlmodel import Session, select

from approvals import audit, chain, states
from approvals.errors import NotFound
from approvals.models import ApprovalStep, Requisition
from approvals.outbox import erp_view
from approvals.policy.routing import money
from approvals.states import State, StepState
from bot.console import html, texts
from bot.console.guard import guard

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PAGE = 100
EVENT_WORDS = {
    "created": "Created",
    "submitted": "Submitted",
    "routed": "Routed to approvers",
    "auto_approved": "Approved by policy",
    "stopped": "Stopped by policy",
    "approved_step": "Step approved",
    "stage_completed": "Stage complete",
    "approved": "Approved",
    "rejected_step": "Step rejected",
    "rejected": "Rejected",
    "info_requested": "Info requested",
    "info_answered": "Info answered",
    "escalated": "Escalated",
    "separated": "Handed on (separation of duties)",
    "reassigned": "Reassigned",
    "withdrawn": "Withdrawn",
    "amended": "Amended",
    "commented": "Comment",
    "attached": "File attached",
    "po_requested": "Sent to the ERP",
    "po_created": "Purchase order created",
    "po_failed": "ERP refused the PO",
    "po_files_missing": "A file did not reach the ERP",
    "po_retry": "ERP retry",
    "po_status": "PO status changed",
    "sla_at_risk": "Likely late: approver reminded, requester told",
}


def search(engine: Any, text: str, state: str, site: str) -> list[tuple[Requisition, list[str]]]:
    """Newest first; `text` matches a number exactly or part of a title."""
    with Session(engine) as session:
        query = select(Requisition).where(Requisition.state != State.DRAFT.value)
        words = text.strip()
        if words:
            query = query.where(
                or_(
                    Requisition.number == words.upper(),
                    func.lower(Requisition.title).contains(words.lower(), autoescape=True),
                )
            )
        if state:
            query = query.where(Requisition.state == state)
        if site:
            query = query.where(Requisition.site == site)
        rows = list(session.exec(query.order_by(Requisition.id.desc()).limit(PAGE)).all())  # type: ignore[union-attr]
        waiting: dict[int, list[str]] = {}
        if rows:
            for req_id, acting in session.exec(
                select(ApprovalStep.requisition_id, ApprovalStep.acting).where(
                    ApprovalStep.requisition_id.in_([r.id for r in rows]),  # type: ignore[attr-defined]
                    ApprovalStep.state == StepState.PENDING,
                )
            ).all():
                waiting.setdefault(req_id, []).append(acting)
    return [(r, sorted(waiting.get(r.id or 0, []))) for r in rows]


@router.get("/requisitions")
def search_page(
    request: Request,
    q: str = Query(default="", max_length=100),
    state: str = Query(default="", max_length=20),
    site: str = Query(default="", max_length=20),
) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    directory = runtime.directory
    found = [
        (r, states.label(r.state), ", ".join(_name(directory, p) for p in waiting))
        for r, waiting in search(runtime.engine, q, state, site)
    ]
    return html.page(
        "requisitions.html",
        "Requisitions",
        who=who,
        active="requisitions",
        q=q,
        state=state,
        site=site,
        states=[(s.value, states.label(s)) for s in State if s != State.DRAFT],
        sites=directory.sites,
        site_names={s.code: s.name for s in directory.sites},
        found=found,
    )


@router.get("/requisitions/{number}")
def detail_page(
    request: Request,
    number: str,
    done: str = Query(default="", max_length=300),
    problem: str = Query(default="", max_length=300),
) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    try:
        view = runtime.service.get(number[:20])
    except NotFound:
        return html.message(
            "Not found", texts.NOT_FOUND.format(number=number[:20]), "bad", who=who, active="requisitions", status=404
        )
    directory = runtime.directory
    with Session(runtime.engine) as session:
        events = list(audit.iter_events(session, requisition_number=view.number))
    erp = erp_view(runtime.engine, view.number)
    facts = [
        ("State", states.label(view.state)),
        ("Requester", view.requester_name),
        ("Site", _coded(directory.site_by_code, view.site)),
        ("Cost center", _coded(directory.cost_center_by_code, view.cost_center)),
        ("Supplier", view.supplier_name),
        ("Category", _category(directory, view.category)),
        ("Amount", _amount(view.total, view.currency, view.amount, view.policy_currency)),
        ("Urgency", view.urgency),
        ("Policy", view.policy_version),
        ("Route", view.route_explanation),
        ("Waiting on", ", ".join(_name(directory, p) for p in view.waiting_on) or "nobody"),
        ("ERP", erp.sentence() if erp else "not sent"),
    ]
    if view.still_needed:
        facts.insert(-1, ("Still needed", view.still_needed))
    facts[-1:-1] = [("Provisional", line) for line in view.provisional]
    if view.stop_reason:
        facts.append(("Stopped because", view.stop_reason))
    if view.schedule:
        facts.append(("Releases", view.schedule))
    note = runtime.llm.summaries.note_for(view)  # the approver's card's note: price, quantity, duplicates, supplier
    if note:
        facts.insert(facts.index(("Route", view.route_explanation)) + 1, ("What is unusual", note))
    timeline = [
        (
            e,
            EVENT_WORDS.get(e.kind, e.kind.replace("_", " ")),
            _name(directory, e.actor) + (f" for {_name(directory, e.on_behalf_of)}" if e.on_behalf_of else ""),
            _change(e.before, e.after, directory),
            _details(e.before, e.after),
        )
        for e in events
    ]
    return html.page(
        "requisition.html",
        f"{view.number}: {view.title}",
        who=who,
        active="requisitions",
        view=view,
        facts=facts,
        chain=chain.lines(chain.stages(view, view.informed, {p.id: p.name for p in directory.people})),
        categories=[(c.code, c.name) for c in directory.categories],
        timeline=timeline,
        name=lambda person_id: _name(directory, person_id),
        category=lambda code: _category(directory, code),
        pending=[s for s in view.steps if s.state == "pending"],
        people=sorted(((p.id, p.name) for p in directory.people if p.active), key=lambda p: p[1]),
        done=done,
        problem=problem,
    )


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None, directory: Any = None) -> str:
    """What an event changed, in words: its reason or explanation, the state it moved the requisition to (as people
    name states), the people and numbers it names, and through which credential. The raw record is `_details`."""
    after = dict(after or {})
    credential = after.pop("credential", None)
    parts = []
    for key in ("explanation", "reason", "comment", "question", "answer"):
        if after.get(key):
            parts.append(str(after.pop(key)))
    if before and "state" in before and "state" in after:
        parts.append(f"{_state(before['state'])} → {_state(after.pop('state'))}")
    for key, words in (("po_number", "purchase order"), ("stage", "stage"), ("approver", "now with")):
        if after.get(key) not in (None, ""):
            value = _name(directory, str(after[key])) if key == "approver" and directory is not None else after[key]
            parts.append(f"{words} {value}")
    if isinstance(credential, dict):
        parts.append(f"via {credential.get('kind', '?')} {credential.get('name', credential.get('id', ''))}")
    return " · ".join(parts)


def _details(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """The event's recorded before and after, as stored (behind the timeline's "details")."""
    if not before and not after:
        return ""
    return json.dumps({"before": before, "after": after}, ensure_ascii=False, default=str, indent=1)[:4000]


def _state(value: Any) -> str:
    try:
        return states.label(str(value))
    except ValueError:
        return str(value)


def _amount(total: Any, currency: str, amount: Any, policy_currency: str) -> str:
    """'$897.78', or in its own currency first when it has one ('€4,200 ($4,536)'), as cards and routes say it."""
    said = money(total, currency)
    return said if currency == policy_currency else f"{said} ({money(amount, policy_currency)})"


def _coded(known: dict[str, Any], code: str | None) -> str:
    """A site or cost center by its name with its code after it ("Dallas DC (DAL)"); a code the directory no longer
    has stays as stored."""
    found = known.get(code or "")
    return f"{found.name} ({code})" if found is not None else (code or "–")


def _category(directory: Any, code: str | None) -> str:
    """A category by the name people know it by; a code the directory no longer has stays as stored."""
    found = directory.category_by_code.get(code or "")
    return found.name if found is not None else (code or "")


def _name(directory: Any, person_id: str | None) -> str:
    if not person_id:
        return ""
    p = directory.person(person_id)
    return p.name if p else person_id
