"""Who is out of office, as their automatic replies say, and what follows: a suggested delegation, then the
policy's `absence` rule at a step's first reminder.

The identity provider's connector reads the replies (connectors/directory/sync.py) and hands `record` what it saw.
An approver out with no delegation is asked once who approves for them ("You're out until Fri Dec 11: who
approves for you?"); if they have not named anyone by a step's first reminder, `absence: skip` moves the step to
the nearest manager who may take it, and `absence: wait` (the default) leaves it with them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from approvals import jobqueue
from approvals.clock import as_utc
from approvals.directory import Directory, Person
from approvals.directory_store import Absence
from approvals.models import ApprovalStep, Delegation, Requisition
from approvals.states import OPEN_STEPS, State

ASK = (
    "You're out until {until} (your automatic replies say so): who approves for you meanwhile? "
    "Say \u201cdelegate to {suggest} from {today} to {last}\u201d, or name someone else; "
    "otherwise {rule}."
)
RULE_SKIP = "your steps go to your manager at their first reminder"
RULE_WAIT = "your steps wait for you"
# the card's buttons: the same "choose" actions a typed out-of-office sentence's proposal carries
# (bot/intake/delegation.py reads them), so each surface shows and answers them as it does that card's
CONFIRM_FIELD, OTHER_FIELD, DISMISS_FIELD = "delegation.confirm", "delegation.other", "delegation.dismiss"
CONFIRM_LABEL = "Yes, {name} approves for me"
OTHER_LABEL = "Someone else"
DISMISS_LABEL = "Dismiss"


@dataclass(frozen=True)
class Seen:
    """One person's automatic replies as the identity provider reports them."""

    person_id: str
    status: str  # disabled | alwaysEnabled | scheduled
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def card_actions(suggest: Person | None, first: date, last: date | None, key: str) -> list[dict[str, str]]:
    """The suggested-delegation card's buttons: confirm the suggested delegate, pick someone else, or dismiss.
    Without a last day (automatic replies with no end) only Dismiss: the dates are then for the person to say."""
    actions: list[dict[str, str]] = []
    if last is not None and last >= first:
        days = f"{first.isoformat()}|{last.isoformat()}"
        if suggest is not None:
            actions.append(
                {
                    "id": "choose",
                    "label": CONFIRM_LABEL.format(name=suggest.name.split()[0]),
                    "style": "primary",
                    "field": CONFIRM_FIELD,
                    "value": f"{suggest.id}|{days}",
                    # one delegation however many times, and on however many surfaces, it is tapped
                    "key": hashlib.sha256(key.encode()).hexdigest()[:16],
                }
            )
        actions.append({"id": "choose", "label": OTHER_LABEL, "field": OTHER_FIELD, "value": f"|{days}"})
    actions.append({"id": "choose", "label": DISMISS_LABEL, "field": DISMISS_FIELD, "value": ""})
    return actions


def out_at(absence: Absence, now: datetime) -> bool:
    if absence.status == "alwaysEnabled":
        return True
    start, end = as_utc(absence.starts_at), as_utc(absence.ends_at)
    return absence.status == "scheduled" and (start is None or start <= now) and (end is None or now < end)


def record(session: Session, seen: list[Seen], now: datetime) -> list[str]:
    """Store what was seen (in the caller's transaction): the people out now or later are kept, the others
    dropped. Returns the ids of those out now."""
    out: list[str] = []
    for s in seen:
        row = session.get(Absence, s.person_id)
        if s.status not in ("alwaysEnabled", "scheduled"):
            if row is not None:
                session.delete(row)
            continue
        if row is None or (row.status, as_utc(row.starts_at), as_utc(row.ends_at)) != (
            s.status,
            s.starts_at,
            s.ends_at,
        ):
            row = Absence(person_id=s.person_id, status=s.status, starts_at=s.starts_at, ends_at=s.ends_at, seen_at=now)
        row.seen_at = now
        session.merge(row)
        if out_at(row, now):
            out.append(s.person_id)
    return out


def covered(session: Session, person_id: str, now: datetime) -> bool:
    """Someone approves for them now (a delegation, not cancelled, whose window holds `now`)."""
    rows = session.exec(
        select(Delegation).where(Delegation.delegator == person_id, Delegation.cancelled_at == None)  # noqa: E711
    ).all()
    return any((as_utc(d.starts_at) or now) <= now < (as_utc(d.ends_at) or now) for d in rows)


def holders_of_open_steps(session: Session) -> set[str]:
    """The people an open requisition waits on now: whose replies are worth reading."""
    rows = session.exec(
        select(ApprovalStep.approver, ApprovalStep.acting)
        .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
        .where(
            col(ApprovalStep.state).in_(OPEN_STEPS),
            col(Requisition.state).in_((State.PENDING_APPROVAL.value, State.NEEDS_INFO.value)),
        )
    ).all()
    return {p for pair in rows for p in pair}


def ask_who_approves(
    session: Session, directory: Directory, person_ids: list[str], now: datetime, *, rule: str
) -> list[str]:
    """Queue the suggested-delegation notice for each person out with nobody approving for them, once per
    absence (in the caller's transaction). Returns who was asked."""
    asked: list[str] = []
    for pid in person_ids:
        row = session.get(Absence, pid)
        person = directory.person(pid)
        if row is None or person is None or not person.active or row.asked_at is not None or covered(session, pid, now):
            continue
        zone = directory.zone_of(pid)
        end = as_utc(row.ends_at)
        until = end.astimezone(zone).strftime("%a %b %-d") if end else "further notice"
        last = end.astimezone(zone).strftime("%b %-d") if end else "the day you are back"
        manager = directory.person(person.manager) if person.manager else None
        suggest = manager.name.split()[0] if manager else "a colleague"
        text = ASK.format(
            until=until,
            suggest=suggest,
            today=now.astimezone(zone).strftime("%b %-d"),
            last=last,
            rule=RULE_SKIP if rule == "skip" else RULE_WAIT,
        )
        key = f"absence:{pid}:{(as_utc(row.starts_at) or now).date().isoformat()}"
        first_day = now.astimezone(zone).date()
        last_day = (end - timedelta(microseconds=1)).astimezone(zone).date() if end else None
        jobqueue.enqueue(
            session,
            kind="notify",
            key=key,
            due_at=now,
            now=now,
            payload={
                "person": pid,
                "kind": "absence_suggest",
                "text": text,
                "number": None,
                "actions": card_actions(manager if manager and manager.active else None, first_day, last_day, key),
            },
        )
        row.asked_at = now
        session.add(row)
        asked.append(pid)
    return asked
