"""Sign-in, sign-out, the stylesheet, and the dashboard (process metrics for a chosen period)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from approvals.metrics import Dashboard, Scope, dashboard, last_days
from bot.console import html, texts
from bot.console.guard import guard, guard_form
from bot.console.html import esc
from bot.console.session import CONSOLE_ROLES, TokenSignIn, clear_cookie, current, new_identity, secret_for, set_cookie

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
STATIC = Path(__file__).parent / "static"
PERIODS = (7, 30, 90)  # a year is a report, not a dashboard: see bench/dashboard.py


@router.get("/static/console.css")
def stylesheet() -> Response:
    return Response((STATIC / "console.css").read_bytes(), media_type="text/css",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


def _sign_in_page(message: str = "", tone: str = "bad", status: int = 200) -> Response:
    body = (html.notice(message, tone) if message else "") + (
        '<form class="sign-in" method="post" action="/console/login">'
        f'<p>{esc(texts.SIGN_IN_HELP)}</p>'
        '<label>API token<input type="password" name="token" id="token" autocomplete="off" required '
        'maxlength="200"></label><button class="primary" type="submit" id="sign-in">Sign in</button></form>')
    return html.page("Sign in", body, status=status)


@router.get("/login")
def login_page(request: Request, ended: int = 0) -> Response:
    if secret_for(request) is None:
        return _sign_in_page(texts.NO_SECRET, status=503)
    if current(request) is not None:
        return RedirectResponse("/console", status_code=303)
    return _sign_in_page(texts.SESSION_ENDED if ended else "", tone="warn")


@router.post("/login")
def login(request: Request, token: str = Form(default="", max_length=200)) -> Response:
    key = secret_for(request)
    if key is None:
        return _sign_in_page(texts.NO_SECRET, status=503)
    row = TokenSignIn().identify(request.app.state.runtime.engine, token) if token.strip() else None
    if row is None:
        return _sign_in_page(texts.BAD_TOKEN, status=401)
    if row.role not in CONSOLE_ROLES:
        return _sign_in_page(texts.WRONG_ROLE.format(role=row.role), status=403)
    response = RedirectResponse("/console", status_code=303)
    set_cookie(request, response, new_identity(row), key)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(default="")) -> Response:
    who = guard_form(request, csrf)
    if isinstance(who, Response):
        return who
    body = html.notice(texts.SIGNED_OUT, "ok") + '<p><a href="/console/login">Sign in</a></p>'
    response = html.page("Signed out", body)
    clear_cookie(response)
    return response


@router.get("")
async def dashboard_page(request: Request, days: int = Query(default=30)) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    days = days if days in PERIODS else 30
    runtime = request.app.state.runtime
    period = last_days(runtime.service.clock(), days)  # the service's clock: the days its actions were stamped in
    board = await run_in_threadpool(dashboard, runtime.engine, runtime.directory, period, Scope.all())
    return html.page("Dashboard", _render(board, days, runtime.directory), who=who, active="dashboard")


def _dist_rows(items, limit: int = 12):  # type: ignore[no-untyped-def]
    top = sorted(items, key=lambda d: -d.count)[:limit]
    return [(d.key, d.median_seconds, d.p90_seconds) for d in sorted(top, key=lambda d: -d.median_seconds)]


def _render(board: Dashboard, days: int, directory) -> str:  # type: ignore[no-untyped-def]
    periods = "".join(f'<option value="{d}"{" selected" if d == days else ""}>last {d} days</option>'
                      for d in PERIODS)
    out = [f'<form class="inline" method="get" action="/console"><label>Period<select name="days">{periods}'
           '</select></label><button type="submit">Show</button></form>']
    c, d, erp = board.cycle_all, board.delegation, board.erp
    out.append('<div class="figures">' + "".join((
        html.figure("Requisitions submitted", f"{board.touchless.denominator:,}", f"in the last {days} days",
                    "submitted"),
        html.figure("Cycle time to PO (median)", html.hours(c.median_seconds if c else None),
                    f"p90 {html.hours(c.p90_seconds)} · {c.count:,} POs" if c else "no POs yet", "cycle"),
        html.figure("Touchless", html.pct(board.touchless.value),
                    f"{board.touchless.numerator:,} approved by policy alone", "touchless"),
        html.figure("SLA adherence", html.pct(board.sla.value), f"{board.sla.numerator:,} of {board.sla.denominator:,} "
                    "steps decided before escalation", "sla"),
        html.figure("Escalated", html.pct(board.escalation.value),
                    f"{board.escalation.numerator:,} of {board.escalation.denominator:,} submitted",
                    "escalation"),
        html.figure("Info requested", html.pct(board.info_requests.value),
                    f"{board.info_requests.numerator:,} asked the requester", "info"),
        html.figure("ERP dead letters", f"{erp.failed:,}", f"{erp.recovered:,} recovered, median "
                    f"{html.hours(erp.time_to_recover.median_seconds if erp.time_to_recover else None)}; "
                    f"{erp.failing_now:,} failing now", "erp"),
        html.figure("Decided by a delegate", html.pct(d.on_behalf / d.decided if d.decided else None),
                    f"{d.on_behalf:,} of {d.decided:,} steps; {d.active_now} delegations active", "delegation"),
    )) + "</div>")
    out.append('<div class="charts">')
    out.append(html.bars("Cycle time by site", _dist_rows(board.cycle_by_site)))
    out.append(html.bars("Cycle time by category", _dist_rows(board.cycle_by_category)))
    out.append(html.bars("Cycle time by supplier (busiest 12)", _dist_rows(board.cycle_by_supplier)))
    out.append(html.columns("Median cycle time by month", [(m.key, m.median_seconds) for m in board.cycle_by_month]))
    out.append(html.bars("Where approvals wait: turnaround by stage", _dist_rows(board.step_by_stage)))
    out.append("</div>")
    out.append("<h2>Approvers, slowest first</h2>")
    sla_by = dict(board.sla_by_stage)
    out.append(html.table(["Approver", "Steps decided", "Median", "p90"], [
        (esc(_name(directory, a.key)), f"{a.count:,}", html.hours(a.median_seconds), html.hours(a.p90_seconds))
        for a in sorted(board.step_by_approver, key=lambda a: -a.median_seconds)[:25]], cls="approvers"))
    out.append("<h2>Stages</h2>")
    out.append(html.table(["Stage", "Steps decided", "Median", "p90", "SLA met"], [
        (esc(s.key), f"{s.count:,}", html.hours(s.median_seconds), html.hours(s.p90_seconds),
         html.pct(sla_by[s.key].value) if s.key in sla_by else "–") for s in board.step_by_stage]))
    out.append("<h2>Exceptions by site</h2>")
    out.append(_exceptions(board))
    out.append("<h2>Open commitments against budget</h2>")
    out.append(html.table(["Cost center", "Budget", "Booked before", "In approval", "Approved, no PO yet", "Ordered",
                           "Remaining", "Used"], [
        (f"{esc(b.cost_center)} <small>{esc(b.name)}</small>", _money(b.budget), _money(b.spent_before),
         _money(b.commitment.in_approval), _money(b.commitment.approved_not_ordered), _money(b.commitment.ordered),
         _money(b.remaining), html.meter(b.used)) for b in board.budgets], cls="budgets"))
    return "".join(out)


def _exceptions(board: Dashboard) -> str:
    if not board.exceptions:
        return f'<p class="empty">{texts.EMPTY_WINDOW}</p>'
    grid: dict[str, dict[str, int]] = defaultdict(dict)
    for e in board.exceptions:
        grid[e.kind][e.site] = e.count
    sites = sorted({e.site for e in board.exceptions})
    rows = [(esc(kind.replace("_", " ").replace("stopped:", "stopped: ")),
             *(f"{grid[kind].get(s, 0):,}" for s in sites), f"{sum(grid[kind].values()):,}") for kind in sorted(grid)]
    return html.table(["Exception", *sites, "Total"], rows, cls="exceptions")


def _money(value) -> str:  # type: ignore[no-untyped-def]
    return f"{value:,.0f}"


def _name(directory, person_id: str) -> str:  # type: ignore[no-untyped-def]
    p = directory.person(person_id)
    return p.name if p else person_id
