"""An action's writes, decided before any is sent: the plan, and the one flush that writes it.

An action reads what it needs, decides in plain Python, and writes down what is to change as a
`Plan`: the steps it decides or activates, the decision row, the requisition's state, stage,
version and dates, the idempotency record, jobs to enqueue, audit events to append. The service's
in-transaction hooks (the ERP outbox, the chat fan-out, the reminder planner) see the plan, with
the requisition and its steps as the action leaves them (`req`, `reads`), and add to it. `flush`
then sends it through the transaction's wire (approvals/wire.py), which is the only thing that
differs between SQLite and PostgreSQL; every write is a Core statement defined here, or by the
audit chain and the job queue that own theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, Sequence

from sqlalchemy import bindparam, insert, update

from approvals import audit, credentials, jobqueue
from approvals.audit import Event
from approvals.columns import table_of
from approvals.models import ApprovalStep, CommandLog, Decision, InfoRequest, Requisition
from approvals.states import next_state
from approvals.wire import Sent, Wire


@dataclass(slots=True, eq=False)
class ReqRow:
    """The requisition as the action leaves it (the columns actions and hooks read)."""

    id: int
    number: str
    state: str
    requester: str
    current_stage: int
    round: int
    version: int
    policy_version_id: int | None
    policy_label: str | None  # route["policy_label"]: audit events carry it
    policy_version: str  # route["policy_version"]: decisions carry it
    title: str
    category: str
    amount: Decimal
    supplier: str
    currency: str
    site: str
    cost_center: str
    need_by: date | None
    justification: str
    updated_at: datetime | None = None  # as the action sets them (not read)
    decided_at: datetime | None = None

    @classmethod
    def of(cls, req: Requisition) -> "ReqRow":
        assert req.id is not None and req.number is not None
        return cls(
            req.id,
            req.number,
            req.state,
            req.requester,
            req.current_stage,
            req.round,
            req.version,
            req.policy_version_id,
            req.route.get("policy_label"),
            req.route.get("policy_version") or "",
            req.title,
            req.category,
            req.amount,
            req.supplier,
            req.currency,
            req.site,
            req.cost_center,
            req.need_by,
            req.justification,
            req.updated_at,
            req.decided_at,
        )


@dataclass(slots=True, eq=False)
class StepRow:
    """One approval step as the action leaves it (ApprovalStep's columns that actions and hooks read)."""

    id: int
    stage_index: int
    stage_name: str
    mode: str
    required: int
    approver: str
    acting: str
    state: str
    decided_by: str | None
    decided_at: datetime | None
    activated_at: datetime | None
    escalate_to: dict[str, Any] | None
    escalated_from: int | None
    sla_hours: Decimal
    explanation: str
    on_behalf_of: str | None
    comment: str | None
    check_limits: bool = True  # the stage's policy setting: whoever decides must be within their approval limit


@dataclass(slots=True, frozen=True)
class LineRow:
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit: str
    sku: str | None


class Reads(Protocol):
    """What a hook may read besides the plan: the action's own reads, or the session's for the actions that
    still write through the ORM (approvals/workflow/base.py)."""

    def lines(self) -> Sequence[Any]:
        """The requisition's lines in order (line_no, description, quantity, unit_price, unit, sku)."""
        ...

    def stage_steps(self) -> Sequence[Any]:
        """The current stage's steps, as the action leaves them, in id order."""
        ...

    def open_info(self) -> Any | None:
        """The newest open question to the requester (its id), if any."""
        ...

    def policy(self) -> Any:
        """The policy version the requisition is pinned to (LoadedPolicy)."""
        ...

    def route(self) -> dict[str, Any]:
        """The route the requisition was given (approvals.policy.routing.RoutePlan.to_dict): per stage its SLA,
        reminders, informed people."""
        ...


_REQS = table_of(Requisition)
_STEPS = table_of(ApprovalStep)
_INFOS = table_of(InfoRequest)
_DECISION_COLUMNS = (
    "requisition_id",
    "step_id",
    "action",
    "actor",
    "on_behalf_of",
    "comment",
    "surface",
    "policy_version",
    "created_at",
)
DECISION = insert(table_of(Decision)).inline().values({c: bindparam(c) for c in _DECISION_COLUMNS})
_COMMAND_COLUMNS = ("key", "command", "fingerprint", "requisition_id", "result", "created_at")
COMMAND = insert(table_of(CommandLog)).inline().values({c: bindparam(c) for c in _COMMAND_COLUMNS})
_UPDATES: dict[tuple[Any, tuple[str, ...]], Any] = {}


def _update(table: Any, columns: tuple[str, ...]) -> Any:
    """UPDATE `columns` of one row of `table` by id (`_id`); one statement per set of columns, built once."""
    stmt = _UPDATES.get((table, columns))
    if stmt is None:
        stmt = _UPDATES[(table, columns)] = (
            update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in columns})
        )
    return stmt


@dataclass(slots=True, eq=False)
class Plan:
    """The writes of one action on one requisition (see the module docstring)."""

    req: ReqRow
    at: datetime
    surface: str
    reads: Reads
    change: Any = None  # the committed action as listeners will see it (approvals.workflow.base.Change)
    req_values: dict[str, Any] = field(default_factory=dict)  # requisition columns to write
    step_values: dict[int, dict[str, Any]] = field(default_factory=dict)  # step id -> columns to write
    info_values: dict[int, dict[str, Any]] = field(default_factory=dict)  # info request id -> columns to write
    rows: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # (INSERT, row): decisions, the log...
    jobs: list[dict[str, Any]] = field(default_factory=list)  # jobqueue.row()s
    events: list[Event] = field(default_factory=list)  # chained in this order, after the head
    claims: dict[str, Sent] = field(default_factory=dict)  # key -> the new id of each job written claimed

    def set(self, **values: Any) -> None:
        """Change requisition columns (also on `req`, which hooks read)."""
        for column, value in values.items():
            setattr(self.req, column, value)
        self.req_values.update(values)

    def move(self, action: str, **values: Any) -> str:
        """The state machine's move for `action`, the version bumped, and any other columns; the old state back."""
        before = self.req.state
        self.set(state=next_state(before, action).value, version=self.req.version + 1, **values)
        return before

    def set_step(self, step: StepRow, **values: Any) -> None:
        for column, value in values.items():
            setattr(step, column, value)
        self.step_values.setdefault(step.id, {}).update(values)

    def set_info(self, info_id: int, **values: Any) -> None:
        self.info_values.setdefault(info_id, {}).update(values)

    def insert(self, stmt: Any, row: dict[str, Any]) -> None:
        self.rows.append((stmt, row))

    def decision(
        self,
        action: str,
        actor: str,
        *,
        step_id: int | None = None,
        on_behalf_of: str | None = None,
        comment: str | None = None,
    ) -> None:
        self.rows.append(
            (
                DECISION,
                {
                    "requisition_id": self.req.id,
                    "step_id": step_id,
                    "action": action,
                    "actor": actor,
                    "on_behalf_of": on_behalf_of,
                    "comment": comment,
                    "surface": self.surface,
                    "policy_version": self.req.policy_version,
                    "created_at": self.at,
                },
            )
        )

    def enqueue(
        self,
        *,
        kind: str,
        key: str,
        due_at: datetime | None = None,
        payload: dict[str, Any] | None = None,
        claimed_by: str | None = None,
        lease_until: datetime | None = None,
    ) -> None:
        """A job (unless one with `key` exists), due at `due_at` (default: the action's instant)."""
        self.jobs.append(
            jobqueue.row(
                kind=kind,
                key=key,
                due_at=due_at or self.at,
                now=self.at,
                payload=payload,
                claimed_by=claimed_by,
                lease_until=lease_until,
            )
        )

    def audit(
        self,
        kind: str,
        actor: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        *,
        on_behalf_of: str | None = None,
    ) -> None:
        self.events.append(
            Event(
                kind,
                actor,
                self.at,
                self.surface,
                on_behalf_of,
                self.req.number,
                self.req.policy_label,
                before,
                credentials.stamp(after),
            )
        )

    def log_command(self, key: str, command: str, fingerprint: str, outcome: str, message: str) -> None:
        """The idempotency record: the same key returns this result and never acts again."""
        self.rows.append(
            (
                COMMAND,
                {
                    "key": key,
                    "command": command,
                    "fingerprint": fingerprint,
                    "requisition_id": self.req.id,
                    "created_at": self.at,
                    # the surface too: a retry from another surface is told where the first one landed
                    "result": {
                        "number": self.req.number,
                        "outcome": outcome,
                        "message": message,
                        "surface": self.surface,
                    },
                },
            )
        )


def flush(wire: Wire, plans: Sequence[Plan], *, head: Sent | None = None) -> list[dict[str, Any]]:
    """Send every write of `plans`, in the caller's transaction; the audit events written come back.

    The writes go together (on PostgreSQL as one statement) with the lock of the audit chain's head, taken
    last and read as late as possible since every action in the company waits on it; the events then go
    with whatever the caller sends next (its COMMIT). A caller that locked the head already (`head`, from
    audit.lock_head: a batch, which holds it once for all its plans) gets writes and events in one go."""
    writes: list[tuple[Any, dict[str, Any]]] = []
    for plan in plans:
        for table, changes in ((_STEPS, plan.step_values), (_INFOS, plan.info_values)):
            for row_id, values in changes.items():
                writes.append((_update(table, tuple(values)), {**values, "_id": row_id}))
        writes.extend(plan.rows)
        if plan.req_values:
            writes.append((_update(_REQS, tuple(plan.req_values)), {**plan.req_values, "_id": plan.req.id}))
    keys: set[str] = set()
    claimed: list[tuple[Plan, dict[str, Any]]] = []
    for plan in plans:
        for job in plan.jobs:
            if job["dedupe_key"] in keys:
                continue  # the first of two jobs with one key wins, as it would written one after the other
            keys.add(job["dedupe_key"])
            if job["claimed_by"] is None:
                writes.append((jobqueue.insert_statement(wire.dialect), job))
            else:  # its writer goes on to do it, and needs its id
                claimed.append((plan, job))
    if claimed:
        ids = wire.send_each(jobqueue.insert_statement(wire.dialect, returning=True), [job for _, job in claimed])
        for (plan, job), sent in zip(claimed, ids):
            plan.claims[job["dedupe_key"]] = sent
    events = [event for plan in plans for event in plan.events]
    if not events:
        wire.send_together(writes)
        return []
    if head is None:
        return audit.write(wire, audit.lock_head(wire, after=writes), events)
    return audit.write(wire, head, events, after=writes)
