"""What an administrator can do from the console about people: set or end someone's delegation, move a stuck step
to someone else with the reason. Each is the core's own command (the same rules as the API and chat: eligibility,
segregation of duties, delegation loops), run under the console session's credential, audited, behind the
session's CSRF token; the page it came from shows the result."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from approvals import credentials
from approvals.clock import as_utc
from approvals.commands import (
    CancelDelegation,
    ChangeDelegation,
    ChangeSchedule,
    CorrectCategory,
    Reassign,
    SetDelegation,
)
from approvals.directory import Directory
from approvals.errors import ProcurebotError
from bot.console.guard import guard_form
from bot.console.session import Identity, session_ref

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


def _credential(who: Identity) -> credentials.Credential:
    return credentials.Credential(kind="console", id=session_ref(who), name=who.name)


def _actor(who: Identity) -> str:
    return f"console:{who.name}"[:80]


def _back(path: str, *, ok: str = "", bad: str = "") -> Response:
    """Back to the page the form was on, saying what happened there (a redirect after a post: a reload repeats
    nothing)."""
    if ok:
        return RedirectResponse(f"{path}?done={quote(ok[:300])}", status_code=303)
    return RedirectResponse(f"{path}?problem={quote(bad[:300])}", status_code=303)


def _day(value: str, field: str) -> datetime:
    try:
        return datetime.combine(datetime.strptime(value.strip(), "%Y-%m-%d").date(), time.min)
    except ValueError:
        raise ValueError(f"{field}: give the date as YYYY-MM-DD") from None


@router.post("/delegations")
def set_delegation(
    request: Request,
    csrf: str = Form(default=""),
    delegator: str = Form(default="", max_length=80),
    delegate: str = Form(default="", max_length=80),
    starts: str = Form(default="", max_length=10),
    ends: str = Form(default="", max_length=10),
    reason: str = Form(default="", max_length=300),
) -> Response:
    """Someone is out: their approvals go to a delegate from the first day to the end of the last (UTC days)."""
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    service = request.app.state.runtime.service
    try:
        first, last = _day(starts, "From"), _day(ends, "Until")
        start = max(as_utc(first), service.clock())  # from today: from now
        command = SetDelegation(
            actor=_actor(who),
            surface="api",
            delegator=delegator,
            delegate=delegate,
            starts_at=start,
            ends_at=as_utc(last) + timedelta(days=1),
            reason=reason.strip(),
        )
        with credentials.acting(_credential(who)):
            service.set_delegation(command, as_admin=True)
    except ProcurebotError as exc:
        return _back("/console/delegations", bad=exc.message)
    except ValueError as exc:  # a date that is not one, a window that ends before it starts
        return _back("/console/delegations", bad=_plain(exc))
    directory = request.app.state.runtime.directory
    said = (
        f"{_who(directory, delegator)}'s approvals go to {_who(directory, delegate)} until {last.date().isoformat()}."
    )
    return _back("/console/delegations", ok=said)


@router.post("/delegations/{delegation_id}/end")
def end_delegation(request: Request, delegation_id: int, csrf: str = Form(default="")) -> Response:
    """End a delegation now (the steps go back to the person it was for)."""
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    service = request.app.state.runtime.service
    try:
        with credentials.acting(_credential(who)):
            service.cancel_delegation(CancelDelegation(actor=_actor(who), delegation_id=delegation_id), as_admin=True)
    except ProcurebotError as exc:
        return _back("/console/delegations", bad=exc.message)
    return _back("/console/delegations", ok="The delegation has ended; its steps go back.")


@router.post("/delegations/{delegation_id}/move")
def move_delegation(
    request: Request, delegation_id: int, csrf: str = Form(default=""), ends: str = Form(default="", max_length=10)
) -> Response:
    """Move a delegation's last day: its approver is back early, or stays out longer (UTC days, like setting one)."""
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    service = request.app.state.runtime.service
    try:
        last = _day(ends, "Until")
        command = ChangeDelegation(
            actor=_actor(who), delegation_id=delegation_id, ends_at=as_utc(last) + timedelta(days=1)
        )
        with credentials.acting(_credential(who)):
            row = service.change_delegation(command, as_admin=True)
    except ProcurebotError as exc:
        return _back("/console/delegations", bad=exc.message)
    except ValueError as exc:  # a date that is not one
        return _back("/console/delegations", bad=_plain(exc))
    directory = request.app.state.runtime.directory
    said = (
        f"{_who(directory, row.delegator)}'s delegation to {_who(directory, row.delegate)} now ends after "
        f"{last.date().isoformat()}."
    )
    return _back("/console/delegations", ok=said)


@router.post("/requisitions/{number}/reassign")
def reassign(
    request: Request,
    number: str,
    csrf: str = Form(default=""),
    from_person: str = Form(default="", max_length=80),
    to_person: str = Form(default="", max_length=80),
    reason: str = Form(default="", max_length=500),
) -> Response:
    """Move a pending step to someone else, with the reason (which the requester and the audit trail see)."""
    number = number[:20]
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    page = f"/console/requisitions/{quote(number)}"
    if not reason.strip():
        return _back(page, bad="Say why the step moves: the requester and the audit trail will read it.")
    service = request.app.state.runtime.service
    try:
        with credentials.acting(_credential(who)):
            result = service.reassign(
                Reassign(actor=_actor(who), number=number, from_person=from_person, to_person=to_person, reason=reason)
            )
    except ProcurebotError as exc:
        return _back(page, bad=exc.message)
    except ValueError as exc:
        return _back(page, bad=_plain(exc))
    return _back(page, ok=result.message)


@router.post("/requisitions/{number}/category")
def correct_category(
    request: Request,
    number: str,
    csrf: str = Form(default=""),
    line_no: int = Form(default=1, ge=1, le=10_000),
    category: str = Form(default="", max_length=40),
    reason: str = Form(default="", max_length=500),
) -> Response:
    """A buyer corrects a line's category: the record and the reports follow, and the classifier learns from it."""
    number = number[:20]
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    page = f"/console/requisitions/{quote(number)}"
    runtime = request.app.state.runtime
    try:
        with credentials.acting(_credential(who)):
            result = runtime.service.correct_category(
                CorrectCategory(actor=_actor(who), number=number, line_no=line_no, category=category, reason=reason)
            )
    except ProcurebotError as exc:
        return _back(page, bad=exc.message)
    except ValueError as exc:
        return _back(page, bad=_plain(exc))
    if result.outcome == "corrected" and runtime.llm.categories is not None:
        runtime.llm.categories.confirmed()  # retrains in the background with the correction
    return _back(page, ok=result.message)


@router.post("/requisitions/{number}/schedule")
def change_schedule(
    request: Request, number: str, csrf: str = Form(default=""), action: str = Form(default="", max_length=10)
) -> Response:
    """Pause, resume or end a recurring requisition's releases (audited; the requester is told)."""
    number = number[:20]
    who = guard_form(request, csrf, admin=True)
    if isinstance(who, Response):
        return who
    page = f"/console/requisitions/{quote(number)}"
    if action not in ("pause", "resume", "end"):
        return _back(page, bad="Choose Pause, Resume or End.")
    try:
        with credentials.acting(_credential(who)):
            command = ChangeSchedule(actor=_actor(who), number=number, action=action)
            result = request.app.state.runtime.service.change_schedule(command, as_admin=True)
    except ProcurebotError as exc:
        return _back(page, bad=exc.message)
    except ValueError as exc:
        return _back(page, bad=_plain(exc))
    return _back(page, ok=result.message)


def _who(directory: Directory, person_id: str) -> str:
    found = directory.person(person_id)
    return found.name if found else person_id


def _plain(exc: ValueError) -> str:
    """A validation error's own words, without pydantic's decoration."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in errors())
    return str(exc)
