"""Pause, resume or end a recurring requisition's releases: the requester or a buyer, audited, one transaction.

Pausing skips the releases that come due while paused (the scheduler records each as skipped); resuming lets the
next one go on its date; ending stops every release still to come. Releases skipped or ended no longer count
against the budget (approvals/recurring.py, `dropped`).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from approvals import jobqueue, recurring
from approvals.commands import ChangeSchedule
from approvals.errors import NotAllowed, NotFound, StaleAction
from approvals.models import Delegation, Requisition
from approvals.recurring import ACTIVE, ENDED, FINISHED, PAUSED, WAITING, RecurringSchedule
from approvals.views import build_view
from approvals.visibility import active_windows, can_see
from approvals.workflow.base import ActionResult, ServiceBase

BUYER_ROLE = "buyer"
_DONE = {"pause": "paused", "resume": "resumed", "end": "ended"}


class RecurringActions(ServiceBase):
    """A recurring requisition's schedule: read it, pause, resume or end it."""

    def change_schedule(self, cmd: ChangeSchedule, *, as_admin: bool = False) -> ActionResult:
        """Pause, resume or end the releases: the requester or a buyer, or (`as_admin`) an administrator (the
        console, whose session is the credential)."""

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            assert req.number is not None, "a stored requisition has its number"
            view = build_view(session, req, self.directory)
            rows = session.exec(
                select(Delegation).where(Delegation.cancelled_at == None, Delegation.ends_at > now)  # noqa: E711
            ).all()
            windows = active_windows(rows, now)
            if not as_admin and not can_see(cmd.actor, view, self.directory, windows, at=now):
                raise NotFound(f"There is no requisition {cmd.number}. Check the number (it looks like PR-1042).")
            row = session.exec(
                select(RecurringSchedule).where(RecurringSchedule.requisition_id == req.id).with_for_update()
            ).first()
            if row is None:
                raise StaleAction(f"{req.number} is not a recurring purchase; there are no releases to {cmd.action}.")
            person = self.directory.person(cmd.actor)
            if not as_admin and cmd.actor != req.requester and (person is None or not person.has_role(BUYER_ROLE)):
                raise NotAllowed(
                    f"Only {self._name(req.requester)} (the requester) or a buyer can {cmd.action} {req.number}'s "
                    "releases."
                )
            before = row.state
            _check(cmd.action, row, req.number)
            if cmd.action == "pause":
                row.state = PAUSED
            elif cmd.action == "resume":
                row.state = ACTIVE
            else:
                left = row.releases - row.next_index + 1
                row.dropped += recurring.per_release(req.amount, row.releases) * left
                row.state, row.next_index = ENDED, row.releases + 1
                jobqueue.cancel(session, keys=[recurring.tick_key(req.number)], reason="ended", now=now)
            row.changed_by, row.updated_at = cmd.actor, now
            session.add(row)
            self._audit(
                session,
                req,
                f"recurring_{_DONE[cmd.action]}",
                cmd.actor,
                now,
                cmd.surface,
                {"schedule": before},
                {"schedule": row.state, "made": row.made, "skipped": row.skipped, "releases": row.releases},
            )
            if cmd.actor != req.requester:
                who = self._name(cmd.actor)
                text = f"{who} {_DONE[cmd.action]} the releases of {req.number}. {recurring.summary(row)}"
                jobqueue.enqueue(
                    session,
                    kind="notify",
                    key=f"notify:recurring_{cmd.action}:{req.number}:{now.isoformat()}:{req.requester}",
                    due_at=now,
                    now=now,
                    payload={
                        "person": req.requester,
                        "kind": "recurring",
                        "text": text,
                        "number": req.number,
                        "numbers": [],
                    },
                )
            return (
                req,
                f"recurring_{_DONE[cmd.action]}",
                f"{req.number}'s releases are {_DONE[cmd.action]}. {recurring.summary(row)}",
            )

        return self._run(cmd, "change_schedule", body)

    def schedule(self, number: str) -> RecurringSchedule | None:
        """The schedule of a recurring requisition (None: not one). Callers check visibility on the requisition."""
        with Session(self.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
            if req is None:
                return None
            return session.exec(select(RecurringSchedule).where(RecurringSchedule.requisition_id == req.id)).first()


def _check(action: str, row: RecurringSchedule, number: str) -> None:
    """Refuse a change that makes no sense in the schedule's state, saying why."""
    if row.state == WAITING:
        raise StaleAction(f"{number} is not approved yet; its releases start once it is.")
    if row.state in (ENDED, FINISHED):
        raise StaleAction(f"{number}'s releases are {row.state}; there is nothing to {action}.")
    if action == "pause" and row.state == PAUSED:
        raise StaleAction(f"{number}'s releases are already paused.")
    if action == "resume" and row.state == ACTIVE:
        raise StaleAction(f"{number}'s releases are not paused.")
