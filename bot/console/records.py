"""The audit page (verify the chain, export it) and the delegations overview."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from approvals import audit
from approvals.absences import out_at
from approvals.clock import as_utc
from approvals.directory_store import Absence
from approvals.metrics import Scope, Window
from approvals.metrics.queries import delegation_usage
from approvals.models import ApprovalStep, Delegation
from approvals.states import StepState
from bot.console import html, texts
from bot.console.formats import when
from bot.console.guard import guard

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/audit")
async def audit_page(request: Request, verify: int = 0) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    report = None
    if verify:

        def check() -> audit.VerifyReport:
            with Session(request.app.state.runtime.engine) as session:
                return audit.verify_chain(session)

        report = await run_in_threadpool(check)
    return html.page("audit.html", "Audit trail", who=who, active="audit", report=report)


@router.get("/audit/export")
def audit_export(
    request: Request,
    format: Literal["jsonl", "csv"] = "jsonl",
    requisition: str = Query(default="", max_length=20),
    since: str = Query(default="", max_length=30),
) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    engine = request.app.state.runtime.engine
    start = None
    if since:
        try:
            start = as_utc(datetime.fromisoformat(since))
        except ValueError:
            return html.message("Audit trail", texts.BAD_DATE, "bad", who=who, active="audit", status=400)

    def rows() -> Iterator[str]:
        with Session(engine) as session:
            events = audit.iter_events(session, requisition_number=requisition.strip().upper() or None, since=start)
            yield from (audit.export_jsonl(events) if format == "jsonl" else audit.export_csv(events))

    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(
        rows(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit.{format}"', "Cache-Control": "no-store"},
    )


@router.get("/delegations")
def delegations_page(
    request: Request,
    done: str = Query(default="", max_length=300),
    problem: str = Query(default="", max_length=300),
) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    directory = runtime.directory
    now = runtime.service.clock()  # the service's: it set and ends these delegations

    def name(person_id: str | None) -> str:
        p = directory.person(person_id or "")
        return p.name if p else (person_id or "")

    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Delegation).where(Delegation.ends_at > now - timedelta(days=30)).order_by(Delegation.starts_at)
        ).all()

    def status(d: Delegation) -> str:
        if d.cancelled_at is not None:
            return "cancelled"
        starts, ends = as_utc(d.starts_at), as_utc(d.ends_at)
        return "active" if starts <= now < ends else ("upcoming" if now < starts else "ended")  # type: ignore[operator]

    current = [
        (
            d.id,
            status(d),
            name(d.delegator),
            name(d.delegate),
            when(d.starts_at),
            when(d.ends_at),
            ", ".join(x for x in (d.category or "", f"up to {d.max_amount:,.0f}" if d.max_amount else "") if x)
            or "everything",
            d.reason,
            name(d.created_by),
            # the last whole day it covers (UTC), as the date field of "Move the last day" shows it
            (as_utc(d.ends_at) - timedelta(microseconds=1)).date().isoformat(),  # type: ignore[operator]
        )
        for d in rows
    ]
    usage = delegation_usage(runtime.engine, Window(now - timedelta(days=30), now), Scope.all())
    away = {d.delegator: d for d in rows if status(d) == "active"}
    return html.page(
        "delegations.html",
        "Delegations",
        who=who,
        active="delegations",
        current=current,
        usage=usage,
        pairs=[(name(a), name(b), f"{n:,}") for a, b, n in usage.by_pair],
        out=[(name(p), name(d.delegate), when(d.ends_at), n) for p, d, n in _waiting_on(runtime.engine, away)]
        + [(name(p), NOBODY_YET, until, n) for p, until, n in _out_of_office(runtime.engine, set(away), now)],
        people=sorted(((p.id, p.name) for p in directory.people if p.active), key=lambda p: p[1]),
        today=now.date().isoformat(),
        done=done,
        problem=problem,
    )


NOBODY_YET = "nobody yet (automatic replies on)"


def _out_of_office(engine: Engine, covered: set[str], now: datetime) -> list[tuple[str, str, int]]:
    """Who is out by their automatic replies (the directory sync reads them) with no delegation active, until when,
    and how many open steps name them as approver."""
    with Session(engine) as session:
        away = {a.person_id: a for a in session.exec(select(Absence)).all() if out_at(a, now)}
        people = sorted(set(away) - covered)
        if not people:
            return []
        counts = dict(
            session.exec(
                select(ApprovalStep.approver, func.count())
                .where(col(ApprovalStep.approver).in_(people), ApprovalStep.state == StepState.PENDING)
                .group_by(ApprovalStep.approver)
            ).all()
        )
    return [(p, when(away[p].ends_at) if away[p].ends_at else "", int(counts.get(p, 0))) for p in people]


def _waiting_on(engine: Engine, away: dict[str, Delegation]) -> list[tuple[str, Delegation, int]]:
    """Who is out now (an active delegation), with how many open steps name them as approver."""
    if not away:
        return []
    with Session(engine) as session:
        counts = dict(
            session.exec(
                select(ApprovalStep.approver, func.count())
                .where(col(ApprovalStep.approver).in_(list(away)), ApprovalStep.state == StepState.PENDING)
                .group_by(ApprovalStep.approver)
            ).all()
        )
    return [(person, d, int(counts.get(person, 0))) for person, d in sorted(away.items())]
