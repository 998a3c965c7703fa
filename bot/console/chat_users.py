"""Chat users and the people they are: an administrator links a Slack or Teams user the directory could not match
(an e-mail that differs, no Entra object id) to a person by hand. Admin only, behind the session's CSRF token,
audited; a link holds until it is changed here."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from approvals.audit import append_event
from approvals.db import transaction
from bot.chat.identity import link
from bot.chat.models import ChatIdentity
from bot.console import html
from bot.console.actions import _actor, _back
from bot.console.guard import guard, guard_form

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PAGE = "/console/chat-users"
SHOWN = 200


@router.get("/chat-users")
def chat_users(request: Request, done: str = "", problem: str = "") -> Response:
    """The chat users seen lately: the ones nobody matched first, then those linked by hand, then the others."""
    who = guard(request, admin=True)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    directory = runtime.directory
    with Session(runtime.engine) as session:
        rows = session.exec(select(ChatIdentity).order_by(col(ChatIdentity.resolved_at).desc()).limit(SHOWN)).all()

    def name(person_id: str | None) -> str:
        person = directory.person(person_id) if person_id else None
        return person.name if person else (person_id or "")

    rows = sorted(rows, key=lambda r: (r.person_id is not None, r.linked_by is None))
    users = [
        (r.surface, r.tenant, r.external_id, name(r.person_id) or "nobody", r.linked_by or "", r.person_id or "")
        for r in rows
    ]
    return html.page(
        "chat_users.html",
        "Chat users",
        who=who,
        active="chat-users",
        users=users,
        people=sorted(((p.id, p.name) for p in directory.people if p.active), key=lambda p: p[1]),
        done=done,
        problem=problem,
    )


@router.post("/chat-users/link")
def link_chat_user(
    request: Request,
    csrf: str = Form(default=""),
    surface: str = Form(default="", max_length=20),
    tenant: str = Form(default="", max_length=120),
    external_id: str = Form(default="", max_length=200),
    person: str = Form(default="", max_length=80),
) -> Response:
    """Link one chat user to a person (audited as chat_user_linked)."""
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    runtime = request.app.state.runtime
    someone = runtime.directory.person(person)
    if surface not in ("slack", "teams") or not external_id.strip():
        return _back(PAGE, bad="Pick a Slack or Teams user from the list.")
    if someone is None or not someone.active:
        return _back(
            PAGE, bad=f"{person or 'Nobody'} is not a current person in the directory: pick one from the list."
        )
    now = runtime.service.clock()
    row = link(
        runtime.engine,
        surface=surface,
        tenant=tenant,
        external_id=external_id.strip(),
        person_id=someone.id,
        by=_actor(who),
        at=now,
    )
    with transaction(runtime.engine) as session:
        append_event(
            session,
            kind="chat_user_linked",
            actor=_actor(who),
            at=now,
            surface="console",
            after={"surface": row.surface, "tenant": row.tenant, "user": row.external_id, "person": someone.id},
        )
    return _back(PAGE, ok=f"The {surface.title()} user {row.external_id} is now {someone.name}.")
