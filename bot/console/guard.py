"""Who may see a console page: every page calls `guard` first and returns its refusal if there is one.

Admins and auditors see the whole console. A manager (single sign-on, a person with people reporting to them) sees
only the pages that say `manager=True` (their own team's), and is sent there from the dashboard."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from bot.console import html, texts
from bot.console.session import COOKIE, Identity, csrf_ok, current, same_origin

TEAM_PAGE = "/console/team"


def guard(request: Request, *, admin: bool = False, manager: bool = False) -> Identity | Response:
    """The signed-in user, or the response that refuses: sign-in redirect (303) or 403.

    `admin`: admins only. `manager`: managers may come in too (the page itself keeps them to their own team)."""
    who = current(request)
    if who is None:
        ended = "?ended=1" if request.cookies.get(COOKIE) else ""
        return RedirectResponse(f"/console/login{ended}", status_code=303)
    if who.is_manager and not manager:
        if request.method == "GET" and request.url.path.rstrip("/") == "/console":
            return RedirectResponse(TEAM_PAGE, status_code=303)  # a manager's home is their team
        return html.message("Not allowed", texts.MANAGER_ONLY_TEAM.format(name=who.name), "bad", who=who, status=403)
    if admin and not who.is_admin:
        return html.message(
            "Not allowed", texts.ADMIN_ONLY.format(name=who.name, role=who.role), "bad", who=who, status=403
        )
    return who


def guard_form(
    request: Request, csrf: str | None, *, admin: bool = False, manager: bool = False
) -> Identity | Response:
    """`guard` for a form post, which must also carry this session's CSRF token."""
    who = guard(request, admin=admin, manager=manager)
    if isinstance(who, Response):
        return who
    if not same_origin(request) or not csrf_ok(who, csrf):
        return html.message("Form expired", texts.BAD_CSRF, "bad", who=who, status=403)
    return who
