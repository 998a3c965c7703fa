"""What people ask of the scheduler: snooze a reminder, turn the daily digest off or on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlmodel import select

from approvals import jobqueue
from approvals.clock import Clock, as_utc, utcnow
from approvals.commands import Surface
from approvals.db import transaction
from approvals.directory import Directory
from approvals.errors import FieldError, NotAllowed, NotFound, StaleAction, ValidationFailed
from approvals.models import ApprovalStep, Requisition
from approvals.scheduling import text
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.models import NotificationPreference
from approvals.scheduling.plan import remind_key, sla_deadline
from approvals.states import StepState


class Snooze(BaseModel):
    """ "Remind me in 2 hours" on a reminder: never later than the step's SLA."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    actor: str = Field(min_length=1, max_length=80)
    number: str = Field(min_length=1, max_length=20)
    hours: Decimal = Field(gt=0, le=72)
    surface: Surface = "api"


class SetDigest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    actor: str = Field(min_length=1, max_length=80)
    enabled: bool
    surface: Surface = "api"


def snooze(engine: Engine, calendars: Calendars, cmd: Snooze, *, clock: Clock = utcnow) -> str:
    """Move the actor's next reminder on the requisition; returns what to tell them."""
    now = clock()
    with transaction(engine) as session:
        req = session.exec(select(Requisition).where(Requisition.number == cmd.number.strip().upper())).first()
        if req is None:
            raise NotFound(f"There is no requisition {cmd.number}. Check the number (it looks like PR-1042).")
        step = session.exec(
            select(ApprovalStep).where(
                ApprovalStep.requisition_id == req.id,
                ApprovalStep.round == req.round,
                ApprovalStep.stage_index == req.current_stage,
                ApprovalStep.state == StepState.PENDING,
                (ApprovalStep.acting == cmd.actor) | (ApprovalStep.approver == cmd.actor),
            )
        ).first()
        if step is None or step.activated_at is None:
            raise NotAllowed(f"Nothing on {req.number} waits for you, so there is no reminder to snooze.")
        deadline = sla_deadline(calendars, step)
        wanted = now + timedelta(hours=float(cmd.hours))
        until, clamped = (deadline, True) if wanted > deadline else (wanted, False)
        if until <= now:
            raise StaleAction(text.snooze_too_late(req.number or ""))
        key = remind_key(step)
        chain = jobqueue.get(session, key)
        # marked, so the SLA-risk estimate knows the approver put it off (approvals/sla_risk.py)
        marked = {**chain.payload, "snoozed_at": now.isoformat()} if chain is not None and chain.payload else None
        if not jobqueue.reschedule(session, key=key, due_at=until, now=now, payload=marked):
            # the chain is used up (or being sent right now): one more reminder of its own
            payload = dict(chain.payload) if chain else {"step": step.id, "n": 1, "max": 1, "every": "8"}
            payload["n"], payload["snoozed_at"] = payload["max"], now.isoformat()
            jobqueue.enqueue(
                session,
                kind="remind",
                key=f"{key}:snooze:{int(as_utc(until).timestamp())}",
                due_at=until,
                now=now,
                payload=payload,
            )
        return text.snoozed(req.number or "", until, calendars.for_person(cmd.actor).tz, clamped)


def set_digest(engine: Engine, directory: Directory, cmd: SetDigest, *, clock: Clock = utcnow) -> bool:
    """Turn the actor's daily digest on or off; returns the new setting."""
    if cmd.actor not in directory.person_by_id:
        raise ValidationFailed([FieldError("actor", f"unknown person {cmd.actor!r}")])
    with transaction(engine) as session:
        pref = session.get(NotificationPreference, cmd.actor) or NotificationPreference(person_id=cmd.actor)
        pref.digest, pref.updated_at = cmd.enabled, clock()
        session.add(pref)
    return cmd.enabled
