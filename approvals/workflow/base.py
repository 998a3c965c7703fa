"""Plumbing every workflow action shares: one transaction, the row lock, idempotency, audit.

Every action locks the requisition row (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
on SQLite) before it reads the steps, so two approvers tapping at once on any number of
processes give one decision; the other is told who acted. Every action may carry an
idempotency key: the same key returns the stored result and never acts twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Callable

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from approvals import audit
from approvals.clock import Clock, as_utc, utcnow
from approvals.db import transaction
from approvals.delegation import DelegationWindow
from approvals.directory import Directory
from approvals.errors import (
    ConflictingRetry,
    NotFound,
    ValidationFailed,
)
from approvals.models import (
    ApprovalStep,
    CommandLog,
    Delegation,
    InfoRequest,
    Requisition,
    RequisitionLine,
)
from approvals.policy.loader import LoadedPolicy
from approvals.policy_store import policy_by_id
from approvals.requisition import (
    RequisitionDraft,
    ResolvedLine,
    validate_draft,
)
from approvals.states import State, next_state
from approvals.views import RequisitionView, build_view

# Spend that counts against a cost center's budget: approved, on its way to a PO, or still
# awaiting approval (reserved, so two requests in flight cannot both use the last dollars).
COMMITTED_STATES = (State.SUBMITTED.value, State.PENDING_APPROVAL.value, State.NEEDS_INFO.value,
                    State.APPROVED.value, State.PO_PENDING.value, State.PO_CREATED.value)
PENDING, WAITING = "pending", "waiting"
log = logging.getLogger("procurebot.workflow")
# The idempotency key of the command running in this context, re-checked under the row lock.
_current_key: ContextVar[tuple[str, str, str] | None] = ContextVar("_current_key", default=None)


class _AlreadyDone(Exception):
    """Raised under the row lock when another process finished the same keyed command first."""


@dataclass(frozen=True)
class ActionResult:
    """What an action did. The requisition's full view is read on first use, after the commit."""

    number: str
    outcome: str
    message: str
    load_view: Callable[[], RequisitionView] = field(repr=False, compare=False)
    replayed: bool = False

    @cached_property
    def requisition(self) -> RequisitionView:
        return self.load_view()


@dataclass(frozen=True)
class Change:
    """One committed action, for code that reacts to it (notifications, outbox, reminders)."""

    number: str
    requisition_id: int
    command: str
    outcome: str
    actor: str
    surface: str
    state: str
    at: datetime


HOOKS_DONE = "in_transaction_hooks_done"  # session.info key set by the approve hot path
InTransactionHook = Callable[[Session, Requisition, Change], None]
AfterCommitListener = Callable[[Change], None]


@dataclass
class FastWork:
    """An approval the PostgreSQL hot path (fast_approve) is about to write, offered to the in-transaction
    hooks so their work travels in the same pipeline instead of through the ORM afterwards.

    A hook's fast counterpart reads `change` and `requisition`, and only adds to this record: a new
    `state` (and `version`), rows for the job queue, audit events (chained after the decision's). It
    returns False, having added nothing, when it cannot do its work this way; then no hook's fast
    counterpart is used and every hook runs as usual."""

    change: Change  # the decision as the hooks would see it (its state: right after the decision)
    requisition: dict[str, Any]  # the requisition's columns as the path read them
    lines: Callable[[], list[dict[str, Any]]]  # its lines, read when first asked for
    state: str  # where the requisition ends up; a hook may move it on (approved -> po_pending)
    version: int
    jobs: list[dict[str, Any]] = field(default_factory=list)  # jobqueue.enqueue's keyword arguments
    # audit events as (kind, actor, before, after), chained after the decision's own
    audits: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)


FastHook = Callable[[FastWork], bool]


def _fingerprint(command: Any) -> str:
    payload = command.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()



class ServiceBase:
    """Shared plumbing for the approval service (see approvals.workflow.service)."""

    def __init__(self, engine: Engine, directory: Directory, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.directory = directory
        self.clock = clock
        # Work that must commit or roll back with the action (an outbox row, a reminder row)...
        self.in_transaction: list[InTransactionHook] = []
        # ...and work that reacts once it has committed (live card updates). Listeners never fail an action.
        self.after_commit: list[AfterCommitListener] = []
        # The approve hot path's counterpart of an in-transaction hook (see FastWork), keyed by the hook.
        self.fast_hooks: dict[Any, FastHook] = {}

    def view(self, number: str) -> RequisitionView:
        with Session(self.engine) as session:
            return self.view_in(session, number)

    def view_in(self, session: Session, number: str) -> RequisitionView:
        """The requisition's view, read in the caller's session (which may go on to read more)."""
        req = session.exec(select(Requisition).where(Requisition.number == number)).first()
        if req is None:
            raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
        return build_view(session, req, self.directory)

    def _run(self, command: Any, name: str, body: Callable[[Session, datetime], tuple[Requisition, str, str]]
             ) -> ActionResult:
        key = command.idempotency_key
        fingerprint = _fingerprint(command)
        # A replay is found again under the row lock (see _lock); checking first as well spares a
        # retried submit a wasted insert, and on SQLite spares a replay the database write lock.
        if key and (name == "submit" or self.engine.dialect.name == "sqlite"):
            replay = self._replay(key, name, fingerprint)
            if replay:
                return replay
        token = _current_key.set((key, name, fingerprint) if key else None)
        try:
            with transaction(self.engine) as session:
                now = self.clock()
                req, outcome, message = body(session, now)
                assert req.id is not None and req.number is not None
                change = Change(req.number, req.id, name, outcome, command.actor, command.surface, req.state, now)
                if not session.info.pop(HOOKS_DONE, False):  # the hot path may have done their work already
                    for hook in self.in_transaction:
                        hook(session, req, change)
                if key and not session.info.pop("command_logged", False):
                    session.add(CommandLog(key=key, command=name, fingerprint=fingerprint, requisition_id=req.id,
                                           result={"number": req.number, "outcome": outcome, "message": message},
                                           created_at=now))
                    session.flush()
        except (IntegrityError, _AlreadyDone):
            # Another process stored this key between our check and our commit: its result stands.
            replay = self._replay(key, name, fingerprint) if key else None
            if replay:
                return replay
            raise
        finally:
            _current_key.reset(token)
        for listener in self.after_commit:
            try:
                listener(change)
            except Exception:  # noqa: BLE001 - the action has committed; a listener must not undo the answer
                log.exception("after-commit listener failed for %s %s", change.command, change.number)
        number = change.number
        return ActionResult(number, outcome, message, lambda: self.view(number))

    def _replay(self, key: str, name: str, fingerprint: str) -> ActionResult | None:
        with Session(self.engine) as session:
            row = session.get(CommandLog, key)
            if row is None:
                return None
            if row.command != name or row.fingerprint != fingerprint:
                raise ConflictingRetry(f"Idempotency key {key!r} was already used for a different {row.command} "
                                       "command; use a new key for a new action.")
            number = row.result["number"]
            return ActionResult(number, row.result["outcome"], row.result["message"], lambda: self.view(number),
                                replayed=True)

    def _lock(self, session: Session, number: str) -> Requisition:
        req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())
                           .with_for_update()).first()
        if req is None:
            raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
        keyed = _current_key.get()
        if keyed and session.get(CommandLog, keyed[0]) is not None:
            # a retry of the same tap reached another replica, which acted while we waited for the lock
            raise _AlreadyDone()
        return req

    def _name(self, person_id: str | None) -> str:
        p = self.directory.person(person_id or "")
        return p.name if p else (person_id or "someone")

    def _when(self, at: datetime | None) -> str:
        at = as_utc(at)
        return at.strftime("%Y-%m-%d %H:%M UTC") if at else "earlier"

    def _delegations(self, session: Session, now: datetime) -> list[DelegationWindow]:
        rows = session.exec(select(Delegation).where(Delegation.cancelled_at == None,  # noqa: E711
                                                     Delegation.ends_at > now)).all()
        return [DelegationWindow(r.delegator, r.delegate, as_utc(r.starts_at), as_utc(r.ends_at),  # type: ignore[arg-type]
                                 r.category, r.max_amount, r.id) for r in rows]

    def _audit(self, session: Session, req: Requisition, kind: str, actor: str, now: datetime, surface: str,
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
               on_behalf_of: str | None = None) -> None:
        audit.append_event(session, kind=kind, actor=actor, at=now, surface=surface, on_behalf_of=on_behalf_of,
                           requisition_number=req.number, policy_version=req.route.get("policy_label"),
                           before=before, after=after)

    def _move(self, req: Requisition, action: str, now: datetime) -> tuple[str, str]:
        before = req.state
        req.state = next_state(req.state, action).value
        req.updated_at = now
        req.version += 1
        return before, req.state

    def _pinned_policy(self, session: Session, req: Requisition) -> LoadedPolicy:
        assert req.policy_version_id is not None
        return policy_by_id(session, req.policy_version_id)[1]

    def _check_draft(self, draft: RequisitionDraft, policy: LoadedPolicy) -> None:
        errors = validate_draft(draft, self.directory, policy)
        if errors:
            raise ValidationFailed(errors)

    def _write_lines(self, session: Session, req: Requisition, lines: list[ResolvedLine]) -> None:
        for i, line in enumerate(lines, start=1):
            session.add(RequisitionLine(requisition_id=req.id, line_no=i, description=line.description,  # type: ignore[arg-type]
                                        sku=line.sku, quantity=line.quantity, unit_price=line.unit_price,
                                        unit=line.unit, category=line.category, item_type=line.item_type,
                                        total=line.total))

    def committed_spend(self, session: Session, cost_center: str, exclude_id: int | None = None) -> Decimal:
        """Spend approved or in flight on the cost center, read under its lock so budget checks serialize."""
        if session.get_bind().dialect.name == "postgresql":
            # one cost center at a time across processes; SQLite's BEGIN IMMEDIATE already serializes
            session.exec(select(func.pg_advisory_xact_lock(func.hashtext("budget:" + cost_center))))
        query = select(func.coalesce(func.sum(Requisition.amount), 0)).where(
            Requisition.cost_center == cost_center, Requisition.state.in_(COMMITTED_STATES))  # type: ignore[attr-defined]
        if exclude_id is not None:
            query = query.where(Requisition.id != exclude_id)
        return Decimal(str(session.exec(query).one()))

    def _stage_steps(self, session: Session, req: Requisition, stage: int | None = None) -> list[ApprovalStep]:
        stage = req.current_stage if stage is None else stage
        return list(session.exec(select(ApprovalStep).where(
            ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round,
            ApprovalStep.stage_index == stage).order_by(ApprovalStep.id)).all())

    def _waiting_on(self, session: Session, req: Requisition) -> list[str]:
        return [s.acting for s in self._stage_steps(session, req) if s.state == PENDING]

    def _cancel_waiting(self, session: Session, req: Requisition, now: datetime) -> None:
        for s in session.exec(select(ApprovalStep).where(ApprovalStep.requisition_id == req.id,
                                                         ApprovalStep.round == req.round,
                                                         ApprovalStep.state.in_((PENDING, WAITING)))).all():  # type: ignore[attr-defined]
            s.state, s.decided_at = "cancelled", now
            session.add(s)

    def _close_info_requests(self, session: Session, req: Requisition, now: datetime) -> None:
        for info in session.exec(select(InfoRequest).where(InfoRequest.requisition_id == req.id,
                                                           InfoRequest.state == "open")).all():
            info.state, info.answered_at = "closed", now
            session.add(info)
