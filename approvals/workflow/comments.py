"""Comments: anyone who may see a requisition says something about it, and the people involved hear it.

A comment changes no state and decides nothing: it is kept (approvals.comments), audited, and each person it
reaches gets a notice job that the scheduler delivers through the Notifier port (quiet hours respected), so
Slack, Teams and web-chat users all hear it the way they hear reminders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from approvals import jobqueue
from approvals.commands import AddComment
from approvals.comments import Comment, excerpt, find_mentions, informed_people, recipients
from approvals.delegation import DelegationWindow
from approvals.errors import FieldError, NotFound, ValidationFailed
from approvals.models import Delegation, Requisition
from approvals.views import RequisitionView, build_view
from approvals.visibility import active_windows, can_see
from approvals.workflow.base import ActionResult, ServiceBase


def _missing(number: str) -> NotFound:
    # word for word what a number that does not exist gets (approvals.workflow.reads), so numbers cannot be probed
    return NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")


class CommentActions(ServiceBase):
    """Comments on a requisition, and reading them back."""

    def comment(self, cmd: AddComment) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            assert req.id is not None and req.number is not None
            view = build_view(session, req, self.directory)
            windows = _windows(session, now)
            if not can_see(cmd.actor, view, self.directory, windows, at=now):
                raise _missing(cmd.number)
            mentions = find_mentions(cmd.text, self.directory)
            self._check_mentions(mentions.unknown, mentions.people, view, windows, now)
            comment = Comment(
                requisition_id=req.id,
                author=cmd.actor,
                body=cmd.text,
                mentions=list(mentions.people),
                surface=cmd.surface,
                created_at=now,
            )
            session.add(comment)
            session.flush()
            assert comment.id is not None
            reached = [
                p
                for p in recipients(cmd.actor, _involved(view, req.route), mentions.people)
                if can_see(p, view, self.directory, windows, at=now)
            ]
            author = self._name(cmd.actor)
            quoted = excerpt(cmd.text)
            for person in reached:
                mentioned = person in mentions.people
                text = (
                    f'{author} mentioned you on {req.number} "{view.title}": {quoted}'
                    if mentioned
                    else f'{author} commented on {req.number} "{view.title}": {quoted}'
                )
                jobqueue.enqueue(
                    session,
                    kind="notify",
                    key=f"notify:comment:{comment.id}:{person}",
                    due_at=now,
                    now=now,
                    payload={
                        "person": person,
                        "kind": "mention" if mentioned else "comment",
                        "text": text,
                        "number": req.number,
                        "numbers": [],
                    },
                )
            self._audit(
                session,
                req,
                "commented",
                cmd.actor,
                now,
                cmd.surface,
                after={
                    "comment_id": comment.id,
                    "comment": cmd.text,
                    "mentions": list(mentions.people),
                    "told": reached,
                },
            )
            told = f" {len(reached)} {'person was' if len(reached) == 1 else 'people were'} told." if reached else ""
            return req, "commented", f"Your comment is on {req.number}.{told}"

        return self._run(cmd, "comment", body)

    def _check_mentions(
        self,
        unknown: tuple[str, ...],
        people: tuple[str, ...],
        view: RequisitionView,
        windows: list[DelegationWindow],
        now: datetime,
    ) -> None:
        errors = [
            FieldError(
                "text",
                f"I don't know {name}. Mention people by their id (like @{self._example_id()}) or full name.",
            )
            for name in unknown
        ]
        for person in people:
            if not can_see(person, view, self.directory, windows, at=now):
                errors.append(
                    FieldError(
                        "text",
                        f"{self._name(person)} can't see {view.number}, so they can't be mentioned on it. "
                        "Ask procurement to add them, or remove the mention.",
                    )
                )
        if errors:
            raise ValidationFailed(errors)

    def _example_id(self) -> str:
        return self.directory.people[0].id if self.directory.people else "priya.nair"

    def comments(self, number: str, reader: str) -> list[Comment]:
        """The comments on a requisition, oldest first, for someone who may see it (else: not found)."""
        with Session(self.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
            if req is None:
                raise _missing(number)
            view = build_view(session, req, self.directory)
            now = self.clock()
            if not can_see(reader, view, self.directory, _windows(session, now), at=now):
                raise _missing(number)
            return _comments_of(session, req)

    def comments_on(self, number: str) -> list[Comment]:
        """The comments on a requisition, oldest first, for a caller that has made its own read check (the API's
        token rights, approvals.visibility for the person behind it)."""
        with Session(self.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
            if req is None:
                raise _missing(number)
            return _comments_of(session, req)


def _comments_of(session: Session, req: Requisition) -> list[Comment]:
    return list(session.exec(select(Comment).where(Comment.requisition_id == req.id).order_by(col(Comment.id))).all())


def _windows(session: Session, now: datetime) -> list[DelegationWindow]:
    """The delegation windows in force now, read in the action's own transaction."""
    rows = session.exec(
        select(Delegation).where(Delegation.cancelled_at == None, Delegation.ends_at > now)  # noqa: E711
    ).all()
    return active_windows(rows, now)


def _involved(view: RequisitionView, route: dict[str, Any] | None) -> list[str]:
    """The requester, everyone who has decided so far, everyone the current stage waits on, the informed."""
    people = [view.requester]
    for step in view.steps:
        if step.state == "pending":
            people.append(step.acting)
        if step.decided_by:
            people.append(step.decided_by)
    for decision in view.decisions:
        people.append(decision.actor)
    people.extend(informed_people(route))
    return people
