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
from bot.console.session import (
    CONSOLE_ROLES,
    TokenSignIn,
    clear_cookie,
    current,
    end_session,
    login_form_ok,
    login_form_token,
    new_identity,
    open_session,
    same_origin,
    secret_for,
    set_cookie,
)
from bot.console.sso import signed_out_response
from bot.ratelimit import limiter_for, source_of

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
STATIC = Path(__file__).parent / "static"
PERIODS = (7, 30, 90)  # a year is a report, not a dashboard: see bench/dashboard.py


@router.get("/static/console.css")
def stylesheet() -> Response:
    return Response(
        (STATIC / "console.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _sign_in_page(
    message: str = "", tone: str = "bad", status: int = 200, login_csrf: str = "", sso_provider: str = ""
) -> Response:
    return html.page(
        "sign_in.html",
        "Sign in",
        status=status,
        message=message,
        tone=tone,
        login_csrf=login_csrf,
        sso_provider=sso_provider,
    )


def _sign_in_form(request: Request, key: bytes, message: str = "", tone: str = "bad", status: int = 200) -> Response:
    """The sign-in page with its CSRF token, and the browser's sign-in cookie if it has none yet; single sign-on
    first when it is set up (the token form stays, for break-glass admins)."""
    cookies = Response()
    token = login_form_token(request, cookies, key)
    oidc = request.app.state.runtime.settings.oidc
    provider = oidc.provider_name if oidc.configured else ""
    page = _sign_in_page(message, tone, status, login_csrf=token, sso_provider=provider)
    for value in cookies.headers.getlist("set-cookie"):
        page.headers.append("set-cookie", value)
    return page


@router.get("/login")
def login_page(request: Request, ended: int = 0) -> Response:
    key = secret_for(request)
    if key is None:
        return _sign_in_page(texts.NO_SECRET, status=503)
    if current(request) is not None:
        return RedirectResponse("/console", status_code=303)
    return _sign_in_form(request, key, texts.SESSION_ENDED if ended else "", tone="warn")


@router.post("/login")
def login(
    request: Request,
    token: str = Form(default="", max_length=200),
    login_csrf: str = Form(default="", max_length=200),
) -> Response:
    key = secret_for(request)
    if key is None:
        return _sign_in_page(texts.NO_SECRET, status=503)
    if not same_origin(request) or not login_form_ok(request, key, login_csrf):
        # login CSRF: another site must not sign a browser in as the attacker's token
        return _sign_in_form(request, key, texts.BAD_CSRF, status=403)
    limiter, source = limiter_for(request.app.state), source_of(request.client)
    wait = limiter.retry_after(source)
    if wait:
        page = _sign_in_page(texts.TOO_MANY_TRIES.format(seconds=wait), status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    row = TokenSignIn().identify(request.app.state.runtime.engine, token) if token.strip() else None
    if row is None:
        limiter.failed(source)
        return _sign_in_form(request, key, texts.BAD_TOKEN, status=401)
    if row.role not in CONSOLE_ROLES:
        return _sign_in_form(request, key, texts.WRONG_ROLE.format(role=row.role), status=403)
    response = RedirectResponse("/console", status_code=303)
    identity = new_identity(row)
    open_session(request.app.state.runtime.engine, identity)
    set_cookie(request, response, identity, key)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(default="")) -> Response:
    who = guard_form(request, csrf, manager=True)
    if isinstance(who, Response):
        return who
    end_session(request.app.state.runtime.engine, who)  # every copy of the cookie is worthless from now on
    response = signed_out_response(request, who)  # single sign-on: signed out at the provider too, when it can
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
    slowest = sorted(board.step_by_approver, key=lambda a: -a.median_seconds)[:25]
    return html.page(
        "dashboard.html",
        "Dashboard",
        who=who,
        active="dashboard",
        periods=PERIODS,
        days=days,
        board=board,
        approvers=[(_name(runtime.directory, a.key), a) for a in slowest],
        by_site=_dist_rows(board.cycle_by_site, _site_name(runtime.directory)),
        by_category=_dist_rows(board.cycle_by_category, _category_name(runtime.directory)),
        by_supplier=_dist_rows(board.cycle_by_supplier, _supplier_name(runtime.directory)),
        by_stage=_dist_rows(board.step_by_stage),
        by_month=[(m.key, m.median_seconds) for m in board.cycle_by_month],
        sla_by_stage=dict(board.sla_by_stage),
        exceptions=_exceptions(board),
    )


def _dist_rows(items, name=str, limit: int = 12):  # type: ignore[no-untyped-def]
    """Rows of a distribution chart, each labelled by `name` of its key (a supplier's name, not its id)."""
    top = sorted(items, key=lambda d: -d.count)[:limit]
    return [(name(d.key), d.median_seconds, d.p90_seconds) for d in sorted(top, key=lambda d: -d.median_seconds)]


def _site_name(directory):  # type: ignore[no-untyped-def]
    return lambda code: getattr(directory.site_by_code.get(code), "name", code)


def _category_name(directory):  # type: ignore[no-untyped-def]
    return lambda code: getattr(directory.category_by_code.get(code), "name", code)


def _supplier_name(directory):  # type: ignore[no-untyped-def]
    return lambda sid: getattr(directory.supplier_by_id.get(sid), "name", sid)


def _exceptions(board: Dashboard) -> tuple[list[str], list[tuple[str, ...]]]:
    """The sites (columns) and, per kind of exception, its count at each site and in all."""
    grid: dict[str, dict[str, int]] = defaultdict(dict)
    for e in board.exceptions:
        grid[e.kind][e.site] = e.count
    sites = sorted({e.site for e in board.exceptions})
    rows = [
        (
            kind.replace("_", " ").replace("stopped:", "stopped: "),
            *(f"{grid[kind].get(s, 0):,}" for s in sites),
            f"{sum(grid[kind].values()):,}",
        )
        for kind in sorted(grid)
    ]
    return sites, rows


def _name(directory, person_id: str) -> str:  # type: ignore[no-untyped-def]
    p = directory.person(person_id)
    return p.name if p else person_id
