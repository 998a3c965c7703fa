"""Delegation windows that start and end by themselves.

At the start, the delegator's pending (and waiting) steps are offered to the delegate: the
step's ``acting`` follows the delegation chain, both people are told. At the end (or when the
delegation is cancelled), steps go back to whoever the remaining windows say, and both are
told. Authority never comes from ``acting`` (decisions check the windows at the moment of the
tap); this only keeps who-is-asked right.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from approvals import audit, jobqueue
from approvals.clock import as_utc
from approvals.db import transaction
from approvals.delegation import Barrier, DelegationWindow, resolve_delegate
from approvals.directory import Directory
from approvals.eligibility import handovers, why_not_hold
from approvals.jobqueue import Job
from approvals.models import ApprovalStep, Delegation, Requisition
from approvals.policy.routing import money
from approvals.policy_store import policy_by_id
from approvals.scheduling import text
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.plan import enqueue_notice
from approvals.states import OPEN_STEPS, StepState

LOOK_BACK = timedelta(days=2)  # windows that ended this recently still get their end handled


def _end(d: Delegation) -> datetime:
    ends = as_utc(d.ends_at)
    cancelled = as_utc(d.cancelled_at)
    return min(ends, cancelled) if cancelled else ends


def sweep(engine: Engine, now: datetime) -> None:
    """Make every recent window's start and end a row in the queue; move an end that was changed."""
    with Session(engine) as session:
        rows = list(session.exec(select(Delegation).where(Delegation.ends_at > now - LOOK_BACK)).all())
        if not rows:
            return
        keys = [f"delegation_{edge}:{d.id}" for d in rows for edge in ("start", "end")]
        existing = {j.dedupe_key: j for j in session.exec(select(Job).where(col(Job.dedupe_key).in_(keys))).all()}
    writes: list[tuple[str, str, datetime, int, bool]] = []
    for d in rows:
        assert d.id is not None
        start_key, end_key = f"delegation_start:{d.id}", f"delegation_end:{d.id}"
        end = _end(d)
        if start_key not in existing:
            if end <= now:
                continue  # over before we ever saw it start: nothing to offer or route back
            writes.append(("delegation_start", start_key, as_utc(d.starts_at), d.id, False))
        job = existing.get(end_key)
        if job is None:
            writes.append(("delegation_end", end_key, end, d.id, False))
        elif job.state == "due" and as_utc(job.due_at) != end:
            writes.append(("delegation_end", end_key, end, d.id, True))  # the end was moved or it was cancelled
    if not writes:
        return
    with transaction(engine) as session:
        for kind, key, due, delegation_id, move in writes:
            if move:
                jobqueue.reschedule(session, key=key, due_at=due, now=now)
            else:
                jobqueue.enqueue(
                    session, kind=kind, key=key, due_at=due, now=now, payload={"delegation": delegation_id}
                )


def _windows(session: Session, now: datetime) -> list[DelegationWindow]:
    rows = session.exec(
        select(Delegation).where(
            Delegation.cancelled_at == None,  # noqa: E711
            Delegation.ends_at > now,
        )
    ).all()
    return [
        DelegationWindow(
            r.delegator,
            r.delegate,
            as_utc(r.starts_at),
            as_utc(r.ends_at),
            r.category,
            r.max_amount,
            r.id,
        )
        for r in rows
    ]


def apply(
    session: Session,
    directory: Directory,
    calendars: Calendars,
    delegation_id: int,
    now: datetime,
    *,
    starting: bool,
    job_key: str,
) -> datetime | bool | None:
    """Re-point the affected steps and write the notices, in the caller's transaction.

    Returns a datetime when it is not time yet (the row should wait until then), True when
    done, None when there was nothing to do (the window was cancelled before it started).
    """
    d = session.get(Delegation, delegation_id)
    if d is None:
        return None
    end = _end(d)
    if starting:
        if end <= now:
            return None
        if as_utc(d.starts_at) > now:
            return as_utc(d.starts_at)
    elif end > now:
        return end
    active = _windows(session, now)
    people = (d.delegator, d.delegate)
    candidates = session.exec(
        select(ApprovalStep, Requisition)
        .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
        .where(
            col(ApprovalStep.state).in_(OPEN_STEPS),
            col(Requisition.state).in_(("pending_approval", "needs_info")),
            (col(ApprovalStep.approver).in_(people)) | (col(ApprovalStep.acting).in_(people)),
        )
        .order_by(col(Requisition.id))
    ).all()
    moved: dict[str, str] = {}  # number -> new acting
    locked: set[int] = set()
    round_steps: dict[int, list[ApprovalStep]] = {}
    for step, req in candidates:
        assert req.id is not None, "a requisition read from the database has its id"
        if req.id not in round_steps:
            round_steps[req.id] = list(
                session.exec(
                    select(ApprovalStep).where(ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round)
                ).all()
            )
        resolution = resolve_delegate(
            step.approver,
            active,
            now,
            category=req.category,
            amount=req.amount,
            requester=req.requester,
            barrier=_barrier(session, directory, req, step, round_steps[req.id]),
        )
        acting = resolution.acting
        if acting == step.acting:
            continue
        if req.id not in locked:
            # the same lock every decision takes, so a tap and the hand-over never cross
            session.exec(select(Requisition.id).where(Requisition.id == req.id).with_for_update()).first()
            locked.add(req.id)
        before = step.acting
        step.acting = acting
        session.add(step)
        if step.state == StepState.PENDING:
            moved[req.number or ""] = acting
        audit.append_event(
            session,
            kind="delegation_started" if starting else "delegation_ended",
            actor="scheduler",
            at=now,
            surface="scheduler",
            requisition_number=req.number,
            policy_version=req.route.get("policy_label"),
            before={"step": step.id, "acting": before},
            # the window that started or ended, and the ones that now put the step where it is (overlapping
            # windows resolve by approvals.delegation.in_force)
            after={"step": step.id, "acting": acting, "delegation": d.id, "delegations": resolution.window_ids()},
        )
    name = _namer(directory)
    numbers = sorted(moved)
    ends = text.local(as_utc(d.ends_at), calendars.for_person(d.delegate).tz)
    if starting:
        to_delegate = [n for n in numbers if moved[n] == d.delegate]
        notices = [
            (d.delegate, text.delegation_started_delegate(name(d.delegator), ends, to_delegate)),
            (d.delegator, text.delegation_started_delegator(name(d.delegate), ends, numbers)),
        ]
    else:
        notices = [
            (d.delegator, text.delegation_ended_delegator(name(d.delegate), numbers)),
            (d.delegate, text.delegation_ended_delegate(name(d.delegator), numbers)),
        ]
    kind = "delegation_started" if starting else "delegation_ended"
    for person, message in notices:
        enqueue_notice(
            session,
            calendars,
            key=f"notify:{job_key}:{person}",
            person=person,
            kind=kind,
            message=message,
            now=now,
            numbers=numbers,
        )
    return True


def _barrier(
    session: Session, directory: Directory, req: Requisition, step: ApprovalStep, steps: list[ApprovalStep]
) -> Barrier:
    """The controls a delegate must pass to take `step` over (approvals.eligibility), under the requisition's
    pinned policy."""
    assert req.policy_version_id is not None, "a routed requisition has its policy version"
    policy = policy_by_id(session, req.policy_version_id)[1]
    settings = policy.spec.settings
    # later steps kept only until their holder approves an earlier stage do not stop that holder taking this one
    kept = handovers(req.route, steps)

    def why(person_id: str) -> str | None:
        return why_not_hold(
            directory.person(person_id),
            person_id,
            stage_index=step.stage_index,
            steps=steps,
            requester=req.requester,
            amount=req.amount,
            limits=step.check_limits and settings.approval_limits == "escalate",
            one_stage_each=not settings.same_approver_across_stages,
            money=lambda amount: money(amount, policy.currency),
            provisional=kept,
        )

    return why


def _namer(directory: Directory) -> Callable[[str], str]:
    def name(person_id: str) -> str:
        p = directory.person(person_id)
        return p.name if p else person_id

    return name
