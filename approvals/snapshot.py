"""What a decision reads, in one function for both databases: the requisition under its row lock, the
steps of its round, whether the command already ran, and, when asked, its lines and open question.

`fetch` sends every read at once (one round trip on a PostgreSQL pipeline) and returns a `Snapshot`,
which is also the plan's `reads` for the in-transaction hooks. The rarer reads (the last decision
for a stale tap, active delegations, the pinned policy) are sent when first asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, and_, bindparam, exists, func, select

from approvals import audit
from approvals.clock import as_utc
from approvals.columns import table_of
from approvals.delegation import DelegationWindow
from approvals.errors import NotFound
from approvals.models import (
    ApprovalStep,
    CommandLog,
    Decision,
    Delegation,
    InfoRequest,
    PolicyVersion,
    Requisition,
    RequisitionLine,
)
from approvals.plan import LineRow, ReqRow, StepRow
from approvals.policy_store import policy_for
from approvals.wire import Sent, Wire

R = table_of(Requisition)
S = table_of(ApprovalStep)
L = table_of(RequisitionLine)
I = table_of(InfoRequest)  # noqa: E741
D = table_of(Delegation)
PV = table_of(PolicyVersion)
C = table_of(CommandLog)
DEC = table_of(Decision)
_NUMBER: BindParameter[str] = bindparam("number")


def lock_statement(*extra: Any) -> Any:
    """The requisition's row lock: a ReqRow's columns, its policy's content hash, whether the command's key
    (`key`) is logged already, and `extra` columns of the caller's."""
    return (
        select(
            R.c.id,
            R.c.number,
            R.c.state,
            R.c.requester,
            R.c.current_stage,
            R.c.round,
            R.c.version,
            R.c.policy_version_id,
            R.c.route["policy_label"].as_string(),
            R.c.route["policy_version"].as_string(),
            R.c.title,
            R.c.category,
            R.c.amount,
            R.c.supplier,
            R.c.currency,
            R.c.site,
            R.c.cost_center,
            R.c.need_by,
            R.c.justification,
            select(PV.c.content_hash).where(PV.c.id == R.c.policy_version_id).scalar_subquery(),
            exists().where(C.c.key == bindparam("key")),
            *extra,
        )
        .where(R.c.number == _NUMBER)
        .with_for_update(of=R)
    )


_LOCK = lock_statement()
_REQ_COLUMNS = 19  # the lock's first columns are a ReqRow's; then the policy's content hash, then "key logged"
# sent right after the lock, so they read the requisition as the lock holder sees it
_STEPS = (
    select(
        S.c.id,
        S.c.stage_index,
        S.c.stage_name,
        S.c.mode,
        S.c.required,
        S.c.approver,
        S.c.acting,
        S.c.state,
        S.c.decided_by,
        S.c.decided_at,
        S.c.activated_at,
        S.c.escalate_to,
        S.c.escalated_from,
        S.c.sla_hours,
        S.c.explanation,
        S.c.on_behalf_of,
        S.c.comment,
        S.c.check_limits,
    )
    .select_from(S.join(R, and_(R.c.id == S.c.requisition_id, R.c.round == S.c.round)))
    .where(R.c.number == _NUMBER)
    .order_by(S.c.id)
)
# the steps and the audit chain's head under its lock, in one statement (fetch's `chain`): sent last, so the head,
# which every action in the company waits on, is held from as late as possible
_STEP_ROWS = _STEPS.order_by(None).subquery("step")
_STEPS_AND_HEAD = audit.lock_head_with(_STEP_ROWS, _STEP_ROWS.c.id)
_LINES = (
    select(L.c.line_no, L.c.description, L.c.quantity, L.c.unit_price, L.c.unit, L.c.sku)
    .select_from(L.join(R, R.c.id == L.c.requisition_id))
    .where(R.c.number == _NUMBER)
    .order_by(L.c.line_no)
)
_OPEN_INFO = (
    select(I.c.id, I.c.step_id, I.c.asked_by)
    .select_from(I.join(R, R.c.id == I.c.requisition_id))
    .where(R.c.number == _NUMBER, I.c.state == "open")
    .order_by(I.c.id.desc())
)
# the id the next question will have: drawn from PostgreSQL's sequence, or SQLite's next rowid (its writers are
# serialized, so nobody else takes it meanwhile), so hooks can refer to it before it is written
_NEXT_INFO_ID = {
    "postgresql": select(func.nextval(func.pg_get_serial_sequence("info_request", "id"))),
    "sqlite": select(func.coalesce(func.max(I.c.id), 0) + 1),
}
_LAST_DECISION = (
    select(
        DEC.c.action,
        DEC.c.actor,
        DEC.c.created_at,
    )
    .where(DEC.c.requisition_id == bindparam("rid"))
    .order_by(DEC.c.id.desc())
    .limit(1)
)
_DELEGATIONS = select(
    D.c.delegator, D.c.delegate, D.c.starts_at, D.c.ends_at, D.c.category, D.c.max_amount, D.c.id
).where(D.c.cancelled_at.is_(None), D.c.ends_at > bindparam("now"))
_ROUTE = select(R.c.route).where(R.c.id == bindparam("rid"))
_POLICY = select(PV.c.source, PV.c.filename, PV.c.version).where(PV.c.id == bindparam("id"))


class Info(NamedTuple):
    id: int
    step_id: int | None
    asked_by: str


class AlreadyDone(Exception):
    """The command's idempotency key is already logged: another process did it while we waited for the lock."""


class _StoredPolicy:
    """A policy version row for policy_for, whose text is read only if this process has not compiled it yet."""

    def __init__(self, wire: Wire, id_: int, content_hash: str) -> None:
        self.wire, self.id, self.content_hash = wire, id_, content_hash
        self._row: Any = None

    def _read(self, i: int) -> Any:
        if self._row is None:
            self._row = self.wire.send(_POLICY, {"id": self.id}).first()
        return self._row[i]

    @property
    def source(self) -> str:
        return self._read(0)

    @property
    def filename(self) -> str:
        return self._read(1)

    @property
    def version(self) -> str:
        return self._read(2)


class Snapshot:
    """The requisition as locked, the steps of its round (updated in place as the plan decides them), and the
    rest on demand. It is the plan's `reads` (approvals.plan.Reads)."""

    def __init__(
        self,
        wire: Wire,
        req: ReqRow,
        steps: list[StepRow],
        content_hash: str | None,
        lines: Sent | None,
        info: Sent | None,
        head: Sent | None = None,
    ) -> None:
        self.wire, self.req, self.steps = wire, req, steps
        self._content_hash, self._lines, self._info = content_hash, lines, info
        # the audit chain's head, locked with the row when the caller asked (fetch's `chain`), for flush
        self.head = head
        self._policy: Any = None
        self._infos: list[Info] | None = None
        self._route: dict[str, Any] | None = None

    def stage_steps(self, stage: int | None = None) -> list[StepRow]:
        stage = self.req.current_stage if stage is None else stage
        return [s for s in self.steps if s.stage_index == stage]

    def lines(self) -> list[LineRow]:
        if self._lines is None:
            self._lines = self.wire.send(_LINES, {"number": self.req.number})
        return [LineRow(*r) for r in self._lines.all()]

    def open_infos(self) -> list[Info]:
        """The open questions to the requester, newest first, as the action leaves them."""
        if self._infos is None:
            sent = self._info or self.wire.send(_OPEN_INFO, {"number": self.req.number})
            self._infos = [Info(*r) for r in sent.all()]
        return self._infos

    def open_info(self) -> Info | None:
        infos = self.open_infos()
        return infos[0] if infos else None

    def ask(self, step_id: int, asked_by: str) -> Info:
        """A new open question (its id drawn now, so hooks can name it before the plan writes it)."""
        info = Info(int(self.wire.send(_NEXT_INFO_ID[self.wire.dialect]).scalar()), step_id, asked_by)
        self.open_infos().insert(0, info)
        return info

    def policy(self) -> Any:
        if self._policy is None:
            assert self.req.policy_version_id is not None and self._content_hash is not None
            self._policy = policy_for(
                _StoredPolicy(
                    self.wire,
                    self.req.policy_version_id,
                    self._content_hash,
                )
            )
        return self._policy

    def route(self) -> dict[str, Any]:
        """The stored route, read when first asked for (only a hook that starts a stage needs it)."""
        if self._route is None:
            self._route = dict(self.wire.send(_ROUTE, {"rid": self.req.id}).scalar() or {})
        return self._route

    def last_decision(self) -> Any | None:
        """(action, actor, created_at) of the newest decision on the requisition."""
        return self.wire.send(_LAST_DECISION, {"rid": self.req.id}).first()

    def delegations(self, now: datetime) -> list[DelegationWindow]:
        return [
            DelegationWindow(r[0], r[1], as_utc(r[2]), as_utc(r[3]), r[4], r[5], r[6])
            for r in self.wire.send(_DELEGATIONS, {"now": now}).all()
        ]


def lock(wire: Wire, number: str, key: str | None = None, *, stmt: Any = _LOCK) -> Sent:
    """Send the requisition's row lock (`stmt`, from lock_statement); `req_row` makes its row a ReqRow (None: no
    such requisition)."""
    return wire.send(stmt, {"number": number, "key": key})


def req_row(row: Any) -> ReqRow:
    req = ReqRow(*row[:_REQ_COLUMNS])
    req.policy_version = req.policy_version or ""
    return req


def fetch(
    wire: Wire, number: str, *, key: str | None = None, lines: bool = False, info: bool = False, chain: bool = False
) -> Snapshot:
    """Lock the requisition `number` and read what deciding on it needs (see the module docstring).

    With `chain`, the audit chain's head is locked too, after the row and in the same round trip, so that the
    action's writes, its chained events and the COMMIT can then travel together (approvals.plan.flush): one
    round trip fewer, for a head held no longer than the action's own deciding. Row first, head second: the
    order every writer of the chain takes them in.

    NotFound when there is no such requisition; AlreadyDone when `key` is already logged."""
    params = {"number": number.strip().upper()}
    locked = lock(wire, params["number"], key)
    line_rows = wire.send(_LINES, params) if lines else None
    open_info = wire.send(_OPEN_INFO, params) if info else None
    steps = wire.send(_STEPS_AND_HEAD if chain else _STEPS, params)
    row = locked.first()
    if row is None:
        raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
    if row[_REQ_COLUMNS + 1]:
        raise AlreadyDone()
    head = None
    step_rows = steps.all()
    if chain:
        head = audit.head_of(step_rows)
        if step_rows:
            step_rows = [s[2:] for s in step_rows if s[2] is not None]  # a requisition of no steps: one row, the head
        else:  # the chain's head row is gone (verify_chain reports it; `audit.write` starts it again)
            step_rows = wire.send(_STEPS, params).all()
    return Snapshot(wire, req_row(row), [StepRow(*s) for s in step_rows], row[_REQ_COLUMNS], line_rows, open_info, head)
