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
from sqlmodel import Session, col, select

from approvals import audit, credentials, recurring, wire
from approvals.audit import Event
from approvals.clock import Clock, as_utc, utcnow
from approvals.db import transaction
from approvals.delegation import DelegationWindow
from approvals.directory import Directory
from approvals.directory_store import refresh
from approvals.errors import (
    ConflictingRetry,
    NotFound,
    ProcurebotError,
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
from approvals.plan import Plan, ReqRow, flush
from approvals.policy.loader import LoadedPolicy
from approvals.policy_store import policy_by_id
from approvals.requisition import (
    RequisitionDraft,
    ResolvedLine,
    validate_draft,
)
from approvals.snapshot import AlreadyDone, Snapshot, fetch
from approvals.states import State, StepState, next_state
from approvals.views import RequisitionView, build_view
from approvals.wire import CoreWire

# Spend that counts against a cost center's budget: approved, on its way to a PO, or still
# awaiting approval (reserved, so two requests in flight cannot both use the last dollars).
COMMITTED_STATES = (
    State.SUBMITTED.value,
    State.PENDING_APPROVAL.value,
    State.NEEDS_INFO.value,
    State.APPROVED.value,
    State.PO_PENDING.value,
    State.PO_CREATED.value,
)
PENDING, WAITING = StepState.PENDING, StepState.WAITING
log = logging.getLogger("procurebot.workflow")
# The idempotency key of the command running in this context, re-checked under the row lock.
_current_key: ContextVar[tuple[str, str, str] | None] = ContextVar("_current_key", default=None)
# The audit events of the action running in this context through the ORM (`_audit`), for its plan.
_events: ContextVar[list[Event] | None] = ContextVar("_events", default=None)


@dataclass(frozen=True)
class ActionResult:
    """What an action did. The requisition's full view is read on first use, after the commit."""

    number: str
    outcome: str
    message: str
    load_view: Callable[[], RequisitionView] = field(repr=False, compare=False)
    replayed: bool = False
    # for a replay: when the first of these commands was done, and on which surface (None before it was recorded)
    first_at: datetime | None = None
    first_surface: str | None = None

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


# Work that must commit or roll back with an action (an outbox row, reminders): it reads the action's plan
# and adds its own writes to it (approvals.plan).
InTransactionHook = Callable[[Plan], None]
AfterCommitListener = Callable[[Change], None]


class SessionReads:
    """A plan's reads for the actions that write through the ORM (submit, amend, reassign, escalate): what
    they have written so far is flushed before each read."""

    def __init__(self, session: Session, req: Requisition) -> None:
        self.session, self.req = session, req

    def lines(self) -> list[RequisitionLine]:
        return list(
            self.session.exec(
                select(RequisitionLine)
                .where(RequisitionLine.requisition_id == self.req.id)
                .order_by(col(RequisitionLine.line_no))
            ).all()
        )

    def stage_steps(self) -> list[ApprovalStep]:
        return list(
            self.session.exec(
                select(ApprovalStep)
                .where(
                    ApprovalStep.requisition_id == self.req.id,
                    ApprovalStep.round == self.req.round,
                    ApprovalStep.stage_index == self.req.current_stage,
                )
                .order_by(col(ApprovalStep.id))
            ).all()
        )

    def open_info(self) -> InfoRequest | None:
        return self.session.exec(
            select(InfoRequest)
            .where(InfoRequest.requisition_id == self.req.id, InfoRequest.state == "open")
            .order_by(col(InfoRequest.id).desc())
        ).first()

    def policy(self) -> LoadedPolicy:
        assert self.req.policy_version_id is not None
        return policy_by_id(self.session, self.req.policy_version_id)[1]

    def route(self) -> dict[str, Any]:
        return dict(self.req.route or {})


def _fingerprint(command: Any) -> str:
    # the surface is not part of what was asked: the same tap on a card in Slack and in Teams is one act
    payload = command.model_dump(mode="json", exclude={"idempotency_key", "surface"})
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
        # How a decision's statements travel on PostgreSQL: in one psycopg pipeline, or (False) one by one
        # through SQLAlchemy as on SQLite; both write the same rows (tests/core/test_plan_flushers.py).
        self.pipelined = engine.dialect.name == "postgresql"

    def view(self, number: str) -> RequisitionView:
        refresh(self.directory)
        with Session(self.engine) as session:
            return self.view_in(session, number)

    def view_in(self, session: Session, number: str) -> RequisitionView:
        """The requisition's view, read in the caller's session (which may go on to read more)."""
        req = session.exec(select(Requisition).where(Requisition.number == number)).first()
        if req is None:
            raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
        return build_view(session, req, self.directory)

    def _run(
        self, command: Any, name: str, body: Callable[[Session, datetime], tuple[Requisition, str, str]]
    ) -> ActionResult:
        refresh(self.directory)  # a newly activated directory version, looked for before the transaction opens
        key = command.idempotency_key
        fingerprint = _fingerprint(command)
        # A replay is found again under the row lock (see _lock); checking first as well spares a
        # retried submit a wasted insert, and on SQLite spares a replay the database write lock.
        if key and self._replay_before_lock(name):
            replay = self._replay(key, name, fingerprint)
            if replay:
                return replay
        token = _current_key.set((key, name, fingerprint) if key else None)
        events = _events.set([])
        try:
            with transaction(self.engine) as session:
                now = self.clock()
                req, outcome, message = body(session, now)
                assert req.id is not None and req.number is not None
                surface = credentials.surface_for(command.surface)
                change = Change(req.number, req.id, name, outcome, command.actor, surface, req.state, now)
                plan = Plan(
                    ReqRow.of(req),
                    now,
                    surface,
                    SessionReads(session, req),
                    change,
                    events=list(_events.get() or ()),
                )
                self._finish(plan, key, name, fingerprint, outcome, message)
                session.flush()  # the ORM's writes first: the plan's may update the same rows
                flush(CoreWire(session.connection()), [plan])
        except (IntegrityError, AlreadyDone, ProcurebotError):
            # Another process stored this key between our check and our commit, or acted under this key while
            # we waited for the lock and left us a refusal to decide: its result stands (see _act).
            replay = self._replay(key, name, fingerprint) if key else None
            if replay:
                return replay
            raise
        finally:
            _current_key.reset(token)
            _events.reset(events)
        return self._committed(change, message)

    def _act(
        self,
        command: Any,
        name: str,
        decide: Callable[[Snapshot, Plan, datetime], tuple[str, str]],
        *,
        lines: bool = False,
        info: bool = False,
    ) -> ActionResult:
        """An action decided on a snapshot (approvals.snapshot) into a plan (approvals.plan), in one
        transaction: fetch under the row lock, `decide` (which raises the user's refusal, or adds its writes to
        the plan and returns outcome and message), the hooks, the flush, the commit. On PostgreSQL that is two
        round trips (the row and the audit chain's head locked and read; then every write, the chained events
        and the COMMIT); `lines`/`info` read the requisition's lines or open question with the lock."""
        key = command.idempotency_key
        fingerprint = _fingerprint(command) if key else ""
        if key and self._replay_before_lock(name):
            replay = self._replay(key, name, fingerprint)
            if replay:
                return replay
        try:
            try:
                plan, message = self._decide_and_write(command, name, decide, key, fingerprint, lines, info)
            except wire.ConnectionLost:
                # the pooled connection was dead before anything was sent on it that could have been kept
                # (approvals.db, IDLE_PING_SECONDS): act once more, on a new one
                log.warning("the database connection for %s %s was gone; acting on a new one", name, command.number)
                plan, message = self._decide_and_write(
                    command, name, decide, key, fingerprint, lines, info, retry_lost=False
                )
        except (IntegrityError, AlreadyDone, ProcurebotError):
            # The lock statement reads the requisition's row as the winner of the lock left it, but on
            # PostgreSQL's read committed it sees the command log as of the moment it started: a retry of the
            # same tap that waited for the lock finds the step decided and its own key not yet logged, and
            # would answer "already approved". A refusal under a key is therefore re-checked against the
            # log in a fresh transaction; only a refusal with no logged twin reaches the person.
            replay = self._replay(key, name, fingerprint) if key else None
            if replay:
                return replay
            raise
        assert plan.change is not None
        return self._committed(plan.change, message)

    def _decide_and_write(
        self,
        command: Any,
        name: str,
        decide: Callable[[Snapshot, Plan, datetime], tuple[str, str]],
        key: str | None,
        fingerprint: str,
        lines: bool,
        info: bool,
        *,
        retry_lost: bool = True,
    ) -> tuple[Plan, str]:
        """`_act`'s one transaction. wire.ConnectionLost (when `retry_lost`) if the connection was found dead on
        the first round trip, which only locks and reads."""
        with wire.begin(self.engine, core=not self.pipelined) as w:
            now = self.clock()
            with wire.lost_on_first_trip(w, enabled=retry_lost):
                snap = fetch(
                    w, command.number, key=key, lines=lines and bool(self.in_transaction), info=info, chain=True
                )
            surface = credentials.surface_for(command.surface)
            plan = Plan(snap.req, now, surface, snap)
            outcome, message = decide(snap, plan, now)
            req = snap.req
            plan.change = Change(req.number, req.id, name, outcome, command.actor, surface, req.state, now)
            self._finish(plan, key, name, fingerprint, outcome, message)
            flush(w, [plan], head=snap.head)
            w.commit()
        return plan, message

    def _replay_before_lock(self, name: str) -> bool:
        """Whether to look a keyed command up before taking any lock: a retried submit is spared a wasted insert,
        and on SQLite a replay is spared the database's write lock. Elsewhere the replay is found under the row
        lock, in the same round trip."""
        return name == "submit" or self.engine.dialect.name == "sqlite"

    def _finish(self, plan: Plan, key: str | None, name: str, fingerprint: str, outcome: str, message: str) -> None:
        """What every action's plan gets once decided: the hooks' work, and its idempotency record."""
        for hook in self.in_transaction:
            hook(plan)
        if key:
            plan.log_command(key, name, fingerprint, outcome, message)

    def _committed(self, change: Change, message: str) -> ActionResult:
        for listener in self.after_commit:
            try:
                listener(change)
            except Exception:  # noqa: BLE001 - the action has committed; a listener must not undo the answer
                log.exception("after-commit listener failed for %s %s", change.command, change.number)
        number = change.number
        return ActionResult(number, change.outcome, message, lambda: self.view(number))

    def _replay(self, key: str, name: str, fingerprint: str) -> ActionResult | None:
        with Session(self.engine) as session:
            row = session.get(CommandLog, key)
            if row is None:
                return None
            if row.command != name or row.fingerprint != fingerprint:
                raise ConflictingRetry(
                    f"Idempotency key {key!r} was already used for a different {row.command} "
                    "command; use a new key for a new action."
                )
            number = row.result["number"]
            return ActionResult(
                number,
                row.result["outcome"],
                row.result["message"],
                lambda: self.view(number),
                replayed=True,
                first_at=as_utc(row.created_at),
                first_surface=row.result.get("surface"),
            )

    def _lock(self, session: Session, number: str) -> Requisition:
        req = session.exec(
            select(Requisition).where(Requisition.number == number.strip().upper()).with_for_update()
        ).first()
        if req is None:
            raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
        keyed = _current_key.get()
        if keyed and session.get(CommandLog, keyed[0]) is not None:
            # a retry of the same tap reached another replica, which acted while we waited for the lock
            raise AlreadyDone()
        return req

    def _name(self, person_id: str | None) -> str:
        p = self.directory.person(person_id or "")
        return p.name if p else (person_id or "someone")

    def _when(self, at: datetime | None, reader: str | None = None) -> str:
        """A moment as `reader` reads it, in their own time zone ("09:00 CST on Mon Nov 23"); UTC for nobody."""
        at = as_utc(at)
        if at is None:
            return "earlier"
        if reader is None:
            return at.strftime("%Y-%m-%d %H:%M UTC")
        return at.astimezone(self.directory.zone_of(reader)).strftime("%H:%M %Z on %a %b %d")

    def _delegations(self, session: Session, now: datetime) -> list[DelegationWindow]:
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

    def _audit(
        self,
        session: Session,
        req: Requisition,
        kind: str,
        actor: str,
        now: datetime,
        surface: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        on_behalf_of: str | None = None,
    ) -> None:
        """An audit event of the running action (`_run`): chained, with the plan's, when the plan is written."""
        event = Event(
            kind,
            actor,
            now,
            credentials.surface_for(surface),
            on_behalf_of,
            req.number,
            req.route.get("policy_label"),
            before,
            credentials.stamp(after),
        )
        pending = _events.get()
        if pending is None:  # outside an action: written at once
            audit.append(CoreWire(session.connection()), [event])
        else:
            pending.append(event)

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
        assert req.id is not None, "lines are written for a stored (flushed) requisition"
        for i, line in enumerate(lines, start=1):
            session.add(
                RequisitionLine(
                    requisition_id=req.id,
                    line_no=i,
                    description=line.description,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    unit=line.unit,
                    category=line.category,
                    item_type=line.item_type,
                    total=line.total,
                )
            )

    def committed_spend(self, session: Session, cost_center: str, exclude_id: int | None = None) -> Decimal:
        """Spend approved or in flight on the cost center, read under its lock so budget checks serialize."""
        if session.get_bind().dialect.name == "postgresql":
            # one cost center at a time across processes; SQLite's BEGIN IMMEDIATE already serializes
            session.exec(select(func.pg_advisory_xact_lock(func.hashtext("budget:" + cost_center))))
        query = select(func.coalesce(func.sum(Requisition.amount), 0)).where(
            Requisition.cost_center == cost_center, col(Requisition.state).in_(COMMITTED_STATES)
        )
        if exclude_id is not None:
            query = query.where(Requisition.id != exclude_id)
        # a recurring requisition counts the releases made and still to come: skipped and ended ones are dropped
        dropped = recurring.dropped_spend(session, cost_center, COMMITTED_STATES, exclude_id)
        return Decimal(str(session.exec(query).one())) - dropped

    def _stage_steps(self, session: Session, req: Requisition, stage: int | None = None) -> list[ApprovalStep]:
        stage = req.current_stage if stage is None else stage
        return list(
            session.exec(
                select(ApprovalStep)
                .where(
                    ApprovalStep.requisition_id == req.id,
                    ApprovalStep.round == req.round,
                    ApprovalStep.stage_index == stage,
                )
                .order_by(col(ApprovalStep.id))
            ).all()
        )

    def _waiting_on(self, session: Session, req: Requisition) -> list[str]:
        return [s.acting for s in self._stage_steps(session, req) if s.state == PENDING]

    def _cancel_waiting(self, session: Session, req: Requisition, now: datetime) -> None:
        for s in session.exec(
            select(ApprovalStep).where(
                ApprovalStep.requisition_id == req.id,
                ApprovalStep.round == req.round,
                col(ApprovalStep.state).in_((PENDING, WAITING)),
            )
        ).all():
            s.state, s.decided_at = "cancelled", now
            session.add(s)

    def _close_info_requests(self, session: Session, req: Requisition, now: datetime) -> None:
        for info in session.exec(
            select(InfoRequest).where(InfoRequest.requisition_id == req.id, InfoRequest.state == "open")
        ).all():
            info.state, info.answered_at = "closed", now
            session.add(info)
