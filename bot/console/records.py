"""The audit page (verify the chain, export it) and the delegations overview."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session, select

from approvals import audit
from approvals.clock import as_utc
from approvals.metrics import Scope, Window
from approvals.metrics.queries import delegation_usage
from approvals.models import Delegation
from bot.console import html
from bot.console.guard import guard
from bot.console.html import esc

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/audit")
async def audit_page(request: Request, verify: int = 0) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    body = ['<form class="inline" method="get" action="/console/audit/export">'
            '<label>Format<select name="format"><option value="jsonl">JSON Lines</option>'
            '<option value="csv">CSV</option></select></label>'
            '<label>Only requisition<input name="requisition" placeholder="PR-1042" maxlength="20"></label>'
            '<label>Since (UTC)<input name="since" type="date"></label>'
            '<button type="submit" class="primary" id="export">Export</button></form>']
    if verify:
        def check() -> audit.VerifyReport:
            with Session(request.app.state.runtime.engine) as session:
                return audit.verify_chain(session)

        report = await run_in_threadpool(check)
        if report.ok:
            body.append(html.notice(f"The chain is intact: {report.events:,} events, every link checks.", "ok"))
        else:
            body.append(html.notice("The chain is broken; each problem below names the event where it starts.", "bad"))
            body.append("<ul>" + "".join(f"<li>{esc(p)}</li>" for p in report.problems[:100]) + "</ul>")
    else:
        body.append('<p><a href="/console/audit?verify=1" id="verify">Verify the hash chain now</a> '
                    '(reads every event).</p>')
    return html.page("Audit trail", "".join(body), who=who, active="audit")


@router.get("/audit/export")
def audit_export(request: Request, format: Literal["jsonl", "csv"] = "jsonl",
                 requisition: str = Query(default="", max_length=20), since: str = Query(default="", max_length=30)
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
            return html.page("Audit trail", html.notice("Give the date as YYYY-MM-DD.", "bad"), who=who,
                             active="audit", status=400)

    def rows() -> Iterator[str]:
        with Session(engine) as session:
            events = audit.iter_events(session, requisition_number=requisition.strip().upper() or None, since=start)
            yield from (audit.export_jsonl(events) if format == "jsonl" else audit.export_csv(events))

    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(rows(), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="audit.{format}"', "Cache-Control": "no-store"})


@router.get("/delegations")
def delegations_page(request: Request) -> Response:
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
        rows = session.exec(select(Delegation).where(Delegation.ends_at > now - timedelta(days=30))
                            .order_by(Delegation.starts_at)).all()
    def status(d: Delegation) -> str:
        if d.cancelled_at is not None:
            return "cancelled"
        starts, ends = as_utc(d.starts_at), as_utc(d.ends_at)
        return "active" if starts <= now < ends else ("upcoming" if now < starts else "ended")  # type: ignore[operator]

    table = html.table(["Status", "Approver", "Delegate", "From", "Until", "Limited to", "Reason", "Set by"], [
        (status(d), esc(name(d.delegator)), esc(name(d.delegate)), html.when(d.starts_at), html.when(d.ends_at),
         esc(", ".join(x for x in (d.category or "", f"up to {d.max_amount:,.0f}" if d.max_amount else "") if x)
             or "everything"), esc(d.reason), esc(name(d.created_by))) for d in rows], cls="delegations")
    usage = delegation_usage(runtime.engine, Window(now - timedelta(days=30), now), Scope.all())
    used = html.table(["Approver", "Delegate", "Steps decided for them"], [
        (esc(name(a)), esc(name(b)), f"{n:,}") for a, b, n in usage.by_pair])
    body = (f"<h2>Current, upcoming and recent (ended in the last 30 days)</h2>{table}"
            f"<h2>Used in the last 30 days</h2><p>{usage.on_behalf:,} of {usage.decided:,} decided steps were "
            f"decided by a delegate.</p>{used}")
    return html.page("Delegations", body, who=who, active="delegations")
