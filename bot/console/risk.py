"""The steps likely to miss their SLA: what the scheduler's last estimate found (approvals/scheduling/risk.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from approvals.clock import as_utc
from approvals.scheduling.models import StepRisk
from approvals.sla_risk import DEFAULT_THRESHOLD, in_words
from bot.console import html
from bot.console.formats import when
from bot.console.guard import guard

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
SHOWN = 200


@router.get("/risk")
def risk_page(request: Request) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    scheduler = getattr(runtime, "scheduler", None)
    threshold = scheduler.config.risk_threshold if scheduler is not None else DEFAULT_THRESHOLD
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(StepRisk)
            .where(col(StepRisk.probability) >= threshold)
            .order_by(col(StepRisk.probability).desc(), col(StepRisk.hours_left))
            .limit(SHOWN)
        ).all()
        latest = session.exec(select(StepRisk.computed_at).order_by(col(StepRisk.computed_at).desc())).first()

    def name(person_id: str) -> str:
        p = runtime.directory.person(person_id)
        return p.name if p else person_id

    steps = [
        {
            "number": r.requisition_number,
            "stage": r.stage,
            "approver": name(r.person) + (f" for {name(r.approver)}" if r.approver != r.person else ""),
            "chance": f"{r.probability:.0%}",
            "reasons": [x for x in r.reasons if not x.endswith(" left") and x != "past its SLA"],
            "left": "past its SLA" if r.hours_left <= 0 else in_words(r.hours_left),
            "deadline": when(r.deadline),
            "alerted": when(r.alerted_at) if r.alerted_at else "",
        }
        for r in rows
    ]
    return html.page(
        "risk.html",
        "At risk",
        who=who,
        active="risk",
        steps=steps,
        threshold=f"{threshold:.0%}",
        computed=when(as_utc(latest)) if latest else "",
    )
