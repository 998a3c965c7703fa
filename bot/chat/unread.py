"""The web chat's unread items: what Slack and Teams users learn from cards and threads, kept for everyone.

A Slack or Teams user learns from a new card that a request waits for their approval, and from a line in their
request's thread that it was approved, rejected or questioned. The web chat has no place to post those while
the person is away, so this in-transaction hook (dev mode, where the web chat runs: bot/runtime.py) writes them
with the action, as notices in the inbox (approvals/inbox.py): they commit with the action or not at all, and the
person finds them in their unread list, from any replica. Escalations, reminders, digests and PO notices come
from the scheduler and the ERP outbox through the same inbox.
"""

from __future__ import annotations

import uuid
from typing import Any

from approvals import inbox
from approvals.clock import as_utc
from approvals.directory import Directory
from approvals.notices import Notice
from approvals.plan import DECISION, Plan
from approvals.policy.routing import money
from approvals.states import StepState
from bot.chat import texts

# outcomes after which the current stage has steps that just became someone's to decide
_NEW_STEPS = frozenset({"routed", "advanced", "reapproval_routed", "reassigned", "answered"})


class UnreadItems:
    """In-transaction hook: one inbox notice per person the action concerns (never the person who acted)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def __call__(self, plan: Plan) -> None:
        change = plan.change
        if change is None:
            return
        for person, kind, text in self.items(plan):
            if person == change.actor or self.directory.person(person) is None:
                continue
            notice = Notice(kind, text, f"{change.command}:{plan.req.number}:{uuid.uuid4().hex}", plan.req.number)
            plan.rows.append((inbox.PLAN_INSERT, inbox.row(person_id=person, notice=notice, now=plan.at)))

    def items(self, plan: Plan) -> list[tuple[str, str, str]]:
        """(person, kind, words) for what the action tells each person it concerns."""
        req, change = plan.req, plan.change
        command, outcome = change.command, change.outcome
        actor = self._name(change.actor)
        decision = self._decision(plan)
        comment = decision.get("comment") if decision else None
        stage = plan.reads.stage_steps() if req.state not in ("draft", "withdrawn", "cancelled") else []
        pending = [s for s in stage if s.state == StepState.PENDING]
        waiting = ", ".join(dict.fromkeys(self._name(s.acting) for s in pending)) or "nobody"
        out: list[tuple[str, str, str]] = []
        if outcome in _NEW_STEPS:
            for step in pending:
                if outcome == "answered":
                    words = texts.unread_answered(self._name(req.requester), req.number, comment)
                    out.append((step.acting, "answer", words))
                    continue
                if step.activated_at is None or as_utc(step.activated_at) != as_utc(plan.at):
                    continue  # already waiting on them before this action: they were told then
                for_whom = self._name(step.approver) if step.approver != step.acting else None
                amount = money(req.amount, req.currency)
                words = texts.unread_waiting(req.number, req.title, amount, self._name(req.requester), for_whom)
                out.append((step.acting, "approval", words))
        if command == "approve":
            out.append((req.requester, "decision", texts.unread_approved(actor, req.number, outcome, waiting)))
        elif command == "reject":
            out.append((req.requester, "decision", texts.unread_rejected(actor, req.number, outcome, comment)))
        elif command == "request_info":
            out.append((req.requester, "question", texts.unread_question(actor, req.number, comment)))
        elif command == "reassign" and change.actor != "directory":
            out.append((req.requester, "decision", texts.unread_moved(req.number, waiting)))
        return out

    @staticmethod
    def _decision(plan: Plan) -> dict[str, Any] | None:
        """The decision row the action writes, if any (its comment: a reason, a question, an answer)."""
        return next((row for stmt, row in reversed(plan.rows) if stmt is DECISION), None)

    def _name(self, person_id: str) -> str:
        person = self.directory.person(person_id)
        return person.name if person else person_id
