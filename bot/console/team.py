"""A manager's own team in the console: who reports to them, who is out, which steps wait on each, their
delegations (and the manager's own); and what a manager may do for them and for themselves: set a delegation for
someone who is away, move its last day, end it, and move a waiting step to someone else with the reason.

Managers sign in through single sign-on (a person with people reporting to them: bot/console/oidc.py). Each form
runs the core's own command as the manager themselves (the audit names them, and the console session as the
credential), and the core keeps them to their own team (`Directory.manages`): a step or a delegation of anyone
else is refused, and the refusal is audited (`act_as_refused`). Admins use Delegations and the requisition pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from approvals import credentials
from approvals.absences import out_at
from approvals.clock import as_utc
from approvals.commands import CancelDelegation, ChangeDelegation, Reassign, SetDelegation
from approvals.directory import Directory
from approvals.directory_store import Absence
from approvals.errors import NotAllowed, ProcurebotError
from approvals.models import ApprovalStep, Delegation, Requisition
from approvals.refusals import record_refusal
from approvals.states import State, StepState
from bot.console import html, texts
from bot.console.actions import _back as back, _credential, _day, _plain
from bot.console.formats import when
from bot.console.guard import guard, guard_form
from bot.console.session import Identity

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PAGE = "/console/team"


@dataclass(frozen=True)
class Waiting:
    """One step waiting on someone of the team."""

    number: str
    title: str
    requester: str
    amount: str
    stage: str
    holder_id: str
    holder: str
    since: str


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    title: str
    site: str
    away: str  # "" when in; else who approves for them, or that nobody does yet
    waiting: int


def _back(*, ok: str = "", bad: str = "") -> Response:
    return back(PAGE, ok=ok, bad=bad)


def _name(directory: Directory, person_id: str | None) -> str:
    person = directory.person(person_id or "")
    return person.name if person else (person_id or "")


@router.get("/team")
def team_page(request: Request, done: str = "", problem: str = "") -> Response:
    """The people who report to the signed-in manager (at any level), who is out, and what waits on them."""
    who = guard(request, manager=True)
    if isinstance(who, Response):
        return who
    if who.person_id is None:
        return html.message("My team", texts.NO_TEAM_TOKEN, "warn", who=who, active="team")
    runtime = request.app.state.runtime
    directory = runtime.directory
    now = runtime.service.clock()
    team = directory.team_of(who.person_id)
    ids = [p.id for p in team]
    with Session(runtime.engine) as session:
        delegations = session.exec(
            select(Delegation)
            .where(
                col(Delegation.delegator).in_([who.person_id, *ids]),
                Delegation.cancelled_at == None,  # noqa: E711
                Delegation.ends_at > now,
            )
            .order_by(col(Delegation.starts_at))
        ).all()
        absences = {a.person_id: a for a in session.exec(select(Absence).where(col(Absence.person_id).in_(ids)))}
        rows = session.exec(
            select(ApprovalStep, Requisition)
            .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
            .where(
                ApprovalStep.state == StepState.PENDING,
                col(Requisition.state).in_((State.PENDING_APPROVAL.value, State.NEEDS_INFO.value)),
                ApprovalStep.round == Requisition.round,
                col(ApprovalStep.approver).in_(ids) | col(ApprovalStep.acting).in_(ids),
            )
            .order_by(col(ApprovalStep.activated_at))
        ).all()
    active = {d.delegator: d for d in delegations if as_utc(d.starts_at) <= now}  # type: ignore[operator]
    waiting: list[Waiting] = []
    counts: dict[str, int] = {}
    for step, req in rows:
        holder = step.acting if step.acting in ids else step.approver
        counts[holder] = counts.get(holder, 0) + 1
        waiting.append(
            Waiting(
                number=req.number or "",
                title=req.title,
                requester=_name(directory, req.requester),
                amount=f"{req.currency} {Decimal(req.total):,.2f}",
                stage=step.stage_name,
                holder_id=holder,
                holder=_name(directory, holder),
                since=when(step.activated_at),
            )
        )

    def away(person_id: str) -> str:
        if person_id in active:
            d = active[person_id]
            return texts.TEAM_DELEGATED.format(delegate=_name(directory, d.delegate), until=when(d.ends_at))
        absence = absences.get(person_id)
        if absence is not None and out_at(absence, now):
            until = when(absence.ends_at) if absence.ends_at else texts.TEAM_FURTHER_NOTICE
            return texts.TEAM_OUT_NOBODY.format(until=until)
        return ""

    members = [Member(p.id, p.name, p.title, p.site or "", away(p.id), counts.get(p.id, 0)) for p in team]
    current = [
        (
            d.id,
            "active" if d.delegator in active and active[d.delegator].id == d.id else "upcoming",
            _name(directory, d.delegator),
            _name(directory, d.delegate),
            when(d.starts_at),
            when(d.ends_at),
            d.reason,
            _last_day(d),
        )
        for d in delegations
    ]
    return html.page(
        "team.html",
        "My team",
        who=who,
        active="team",
        members=members,
        out=[m for m in members if m.away],
        waiting=waiting,
        current=current,
        team=[(who.person_id, texts.TEAM_MYSELF.format(name=who.name))] + [(p.id, p.name) for p in team],
        people=sorted(((p.id, p.name) for p in directory.people if p.active), key=lambda p: p[1]),
        today=now.date().isoformat(),
        done=done,
        problem=problem,
    )


def _refused(request: Request, who: Identity, action: str, reason: str, number: str | None = None) -> None:
    """A manager reached for someone outside their team: written to the audit trail, as any refused act-as is."""
    runtime = request.app.state.runtime
    record_refusal(
        runtime.engine,
        credential=_credential(who),
        actor=who.person_id or who.subject,
        action=action,
        at=runtime.service.clock(),
        number=number,
        reason=reason,
    )


def _manager(request: Request, csrf: str) -> Identity | Response:
    who = guard_form(request, csrf, manager=True)
    if isinstance(who, Response):
        return who
    if who.person_id is None:
        return html.message("My team", texts.NO_TEAM_TOKEN, "warn", who=who, active="team", status=403)
    return who


@router.post("/team/delegations")
def set_team_delegation(
    request: Request,
    csrf: str = Form(default=""),
    delegator: str = Form(default="", max_length=80),
    delegate: str = Form(default="", max_length=80),
    starts: str = Form(default="", max_length=10),
    ends: str = Form(default="", max_length=10),
    reason: str = Form(default="", max_length=300),
) -> Response:
    """Someone on the team is away: their approvals go to a delegate from the first day to the end of the last."""
    who = _manager(request, csrf)
    if isinstance(who, Response):
        return who
    assert who.person_id is not None
    service = request.app.state.runtime.service
    directory = request.app.state.runtime.directory
    try:
        first, last = _day(starts, "From"), _day(ends, "Until")
        command = SetDelegation(
            actor=who.person_id,
            surface="api",
            delegator=delegator,
            delegate=delegate,
            starts_at=max(as_utc(first), service.clock()),
            ends_at=as_utc(last) + timedelta(days=1),
            reason=reason.strip(),
        )
        with credentials.acting(_credential(who)):
            service.set_delegation(command)
    except NotAllowed as exc:
        _refused(request, who, "set_delegation", exc.message)
        return _back(bad=texts.NOT_YOUR_TEAM.format(person=_name(directory, delegator)))
    except ProcurebotError as exc:
        return _back(bad=exc.message)
    except ValueError as exc:
        return _back(bad=_plain(exc))
    last_day = last.date().isoformat()
    said = f"{_name(directory, delegator)}'s approvals go to {_name(directory, delegate)} until {last_day}."
    return _back(ok=said)


@router.post("/team/delegations/{delegation_id}/end")
def end_team_delegation(request: Request, delegation_id: int, csrf: str = Form(default="")) -> Response:
    """End a team member's delegation now (their steps go back to them)."""
    who = _manager(request, csrf)
    if isinstance(who, Response):
        return who
    assert who.person_id is not None
    service = request.app.state.runtime.service
    try:
        with credentials.acting(_credential(who)):
            row = service.cancel_delegation(CancelDelegation(actor=who.person_id, delegation_id=delegation_id))
    except NotAllowed as exc:
        _refused(request, who, "cancel_delegation", exc.message)
        return _back(bad=exc.message)
    except ProcurebotError as exc:
        return _back(bad=exc.message)
    name = _name(request.app.state.runtime.directory, row.delegator)
    return _back(ok=f"{name}'s delegation has ended; their steps go back to them.")


@router.post("/team/delegations/{delegation_id}/move")
def move_team_delegation(
    request: Request, delegation_id: int, csrf: str = Form(default=""), ends: str = Form(default="", max_length=10)
) -> Response:
    """Move a delegation's last day (back early, or out longer): theirs or the manager's own."""
    who = _manager(request, csrf)
    if isinstance(who, Response):
        return who
    assert who.person_id is not None
    service = request.app.state.runtime.service
    try:
        last = _day(ends, "Until")
        command = ChangeDelegation(
            actor=who.person_id, delegation_id=delegation_id, ends_at=as_utc(last) + timedelta(days=1)
        )
        with credentials.acting(_credential(who)):
            row = service.change_delegation(command)
    except NotAllowed as exc:
        _refused(request, who, "change_delegation", exc.message)
        return _back(bad=exc.message)
    except ProcurebotError as exc:
        return _back(bad=exc.message)
    except ValueError as exc:
        return _back(bad=_plain(exc))
    directory = request.app.state.runtime.directory
    said = f"{_name(directory, row.delegator)}'s delegation to {_name(directory, row.delegate)} now ends after "
    return _back(ok=said + f"{last.date().isoformat()}.")


def _last_day(d: Delegation) -> str:
    """The last whole day a delegation covers (UTC), as the date field shows it."""
    end = as_utc(d.ends_at)
    assert end is not None
    return (end - timedelta(microseconds=1)).date().isoformat()


@router.post("/team/reassign")
def reassign_team_step(
    request: Request,
    csrf: str = Form(default=""),
    number: str = Form(default="", max_length=20),
    from_person: str = Form(default="", max_length=80),
    to_person: str = Form(default="", max_length=80),
    reason: str = Form(default="", max_length=500),
) -> Response:
    """Move a step waiting on someone of the team to someone else, with the reason the requester will read."""
    who = _manager(request, csrf)
    if isinstance(who, Response):
        return who
    assert who.person_id is not None
    if not reason.strip():
        return _back(bad="Say why the step moves: the requester and the audit trail will read it.")
    service = request.app.state.runtime.service
    try:
        with credentials.acting(_credential(who)):
            result = service.reassign(
                Reassign(
                    actor=who.person_id, number=number, from_person=from_person, to_person=to_person, reason=reason
                ),
                as_manager=True,
            )
    except NotAllowed as exc:
        if not request.app.state.runtime.directory.manages(who.person_id, from_person):
            _refused(request, who, "reassign", exc.message, number=number or None)
        return _back(bad=exc.message)
    except ProcurebotError as exc:
        return _back(bad=exc.message)
    except ValueError as exc:
        return _back(bad=_plain(exc))
    return _back(ok=result.message)
