"""The console's pages: templates/ rendered with the console's filters and charts, sent with its headers.

Every value a template prints is escaped by the template engine (bot/templating.py). Pages need no
JavaScript: the content security policy forbids scripts altogether.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from bot.console import charts, texts
from bot.console.formats import FILTERS
from bot.console.session import Identity
from bot.templating import environment

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
NAV = (
    ("dashboard", "/console", "Dashboard"),
    ("requisitions", "/console/requisitions", "Requisitions"),
    ("policy", "/console/policy", "Policy"),
    ("audit", "/console/audit", "Audit"),
    ("delegations", "/console/delegations", "Delegations"),
    ("risk", "/console/risk", "At risk"),
    ("suppliers", "/console/suppliers", "New suppliers"),
    ("chat-users", "/console/chat-users", "Chat users"),
    ("people", "/console/people", "People"),
)
MANAGER_NAV = (("team", "/console/team", "My team"),)  # a manager sees their own team, nothing else

ENV = environment("bot.console", **FILTERS)
ENV.globals.update(texts=texts, nav=NAV, bars=charts.bars, columns=charts.columns)


def page(
    template: str, title: str, *, who: Identity | None = None, active: str = "", status: int = 200, **context: Any
) -> HTMLResponse:
    """`template` (which extends base.html) as a whole page; `who` gets the navigation and the sign-out form."""
    nav = MANAGER_NAV if who is not None and who.is_manager else NAV
    html = ENV.get_template(template).render(title=title, who=who, active=active, nav=nav, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def message(
    title: str, text: str, tone: str = "info", *, who: Identity | None = None, active: str = "", status: int = 200
) -> HTMLResponse:
    """A page that says one thing: a refusal, a requisition that does not exist, a form that expired."""
    return page("message.html", title, who=who, active=active, status=status, text=text, tone=tone)
