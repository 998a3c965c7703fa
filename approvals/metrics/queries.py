"""Process metrics, each one SQL query (SQLAlchemy Core) over our own tables, equal on PostgreSQL and SQLite.

Every metric reads a half-open time window ``[start, end)`` and a scope (sites, cost
centers, or everything). Definitions, stated once here and in docs/console.md:

* cycle time: requisition submitted -> purchase order created in the ERP; the window is
  when the PO was created; by site, category, supplier or month (of the PO).
* step turnaround: a step activated -> decided by a person (approved or rejected), for
  steps decided in the window; by stage name or by the person who decided.
* touchless: of the requisitions submitted in the window, those approved with no approval
  step at all (the policy approved them).
* SLA adherence: of the steps finished in the window whose stage has an escalation target
  (the scheduler measures their SLA in business hours and escalates when it runs out),
  those never escalated.
* escalation / info-request rate: of the requisitions submitted in the window, those with at
  least one escalated step / question to the requester.
* exceptions: per site, requisitions submitted in the window that were stopped by a hard
  stop (by rule), rejected, asked for information, escalated, or dead-lettered by the ERP.
* ERP recovery: requisitions whose PO was dead-lettered in the window, how many got their PO
  since, and the time from the first failure to the PO.
* delegation usage: of the steps decided in the window, those decided on someone's behalf.
* open commitments: spend approved or in flight per cost center, in the policy currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Engine, String, and_, case, cast, exists, func, literal, or_, select, text
from sqlalchemy.sql.expression import ColumnElement

from approvals import jobqueue
from approvals.columns import table_of
from approvals.metrics.sql import as_int, between, elapsed_seconds, month_of, percentiles
from approvals.models import ApprovalStep, AuditEvent, Delegation, InfoRequest, Requisition
from approvals.outbox import CREATE_PO, ErpPurchaseOrder
from approvals.states import StepState

R = table_of(Requisition)
S = table_of(ApprovalStep)
A = table_of(AuditEvent)
PO = table_of(ErpPurchaseOrder)
INFO = table_of(InfoRequest)
DELEG = table_of(Delegation)
JOB = table_of(jobqueue.Job)

APPROVED_STATES = ("approved", "po_pending", "po_created")
IN_APPROVAL = ("submitted", "pending_approval", "needs_info")
APPROVED_NOT_ORDERED = ("approved", "po_pending")
DECIDED_BY_PERSON = ("approved", "rejected")
FINISHED_STEP = (StepState.APPROVED, StepState.REJECTED, StepState.ESCALATED)
CycleBy = Literal["all", "site", "category", "supplier", "month"]
StepBy = Literal["all", "stage", "approver"]


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


@dataclass(frozen=True)
class Scope:
    """Whose requisitions count: everything, or those of some sites or cost centers (either matches)."""

    sites: frozenset[str] = frozenset()
    cost_centers: frozenset[str] = frozenset()
    everything: bool = False

    @classmethod
    def all(cls) -> "Scope":
        return cls(everything=True)

    @property
    def empty(self) -> bool:
        return not self.everything and not self.sites and not self.cost_centers

    def label(self) -> str:
        if self.everything:
            return "all sites"
        parts = sorted(self.sites) + sorted(self.cost_centers)
        return ", ".join(parts) if parts else "nothing"

    def steps(self) -> Any:
        """What step queries read: the steps alone, or joined to their requisition when the scope needs it."""
        return S if self.everything else S.join(R, R.c.id == S.c.requisition_id)

    def where(self, req: Any = R) -> ColumnElement[bool]:
        if self.everything:
            return literal(True)
        tests = []
        if self.sites:
            tests.append(req.c.site.in_(sorted(self.sites)))
        if self.cost_centers:
            tests.append(req.c.cost_center.in_(sorted(self.cost_centers)))
        return or_(*tests) if tests else literal(False)


@dataclass(frozen=True)
class Distribution:
    """How long something took in one group: count, median and 90th percentile (nearest rank), in seconds."""

    key: str
    count: int
    median_seconds: int
    p90_seconds: int

    @property
    def median_hours(self) -> float:
        return self.median_seconds / 3600

    @property
    def p90_hours(self) -> float:
        return self.p90_seconds / 3600


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class ExceptionCount:
    kind: str  # stopped:<rule>, rejected, info_requested, escalated, erp_failed
    site: str
    count: int


@dataclass(frozen=True)
class ErpRecovery:
    failed: int  # requisitions whose PO was dead-lettered in the window
    recovered: int  # ...that have their PO now
    time_to_recover: Distribution | None  # first failure -> PO created, for the recovered
    failing_now: int  # create-PO jobs dead or waiting for a retry at this moment (any window)


@dataclass(frozen=True)
class DelegationUsage:
    decided: int  # steps decided by a person in the window
    on_behalf: int  # ...of which by a delegate
    by_pair: list[tuple[str, str, int]] = field(default_factory=list)  # (delegator, delegate, steps)
    active_now: int = 0  # delegation windows open at the window's end


@dataclass(frozen=True)
class Commitment:
    cost_center: str
    in_approval: Decimal
    approved_not_ordered: Decimal
    ordered: Decimal

    @property
    def total(self) -> Decimal:
        return self.in_approval + self.approved_not_ordered + self.ordered


def _dialect(engine: Engine) -> str:
    return engine.dialect.name


# For these reads on PostgreSQL, in their own transaction only: JIT compiling costs more than it saves
# on queries of a few hundred milliseconds, and percentile sorts of a 90-day window fit in 32 MB.
_PG_READ_SETTINGS = text("SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true)")


def _rows(engine: Engine, query: Any) -> list[Any]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(_PG_READ_SETTINGS)
        return list(conn.execute(query).all())


def _distributions(engine: Engine, base: Any, keys: list[str]) -> list[Distribution]:
    q = percentiles(base, keys, "seconds", _dialect(engine))
    out = [
        Distribution(str(r[0]) if keys else "all", as_int(r.n), as_int(r.p50), as_int(r.p90))
        for r in _rows(engine, q)
        if r.n
    ]
    return sorted(out, key=lambda d: d.key)


# ---------------------------------------------------------------------------------- durations


def _requisition_of_each_po(dialect: str) -> tuple[Any, Any]:
    """POs joined to their requisition's facts, looked up one by one through the covering index.

    A window holds a small share of all POs, so one index lookup per PO beats reading the whole
    requisition table into a hash, but PostgreSQL's cost model often prefers the hash. A LATERAL
    subquery behind ``OFFSET 0`` (which the planner never flattens) makes the lookup the plan.
    SQLite always joins by nested loop, so it takes the plain join.
    """
    facts = (R.c.submitted_at, R.c.site, R.c.category, R.c.supplier, R.c.cost_center)
    if dialect != "postgresql":
        return PO.join(R, R.c.number == PO.c.requisition_number), R
    req = select(*facts).where(R.c.number == PO.c.requisition_number).offset(0).lateral("req")
    return PO.join(req, literal(True)), req


def cycle_time(engine: Engine, window: Window, scope: Scope, by: CycleBy = "all") -> list[Distribution]:
    """Submitted -> PO created, for POs created in the window, per group."""
    joined, req = _requisition_of_each_po(_dialect(engine))
    key = {
        "site": req.c.site,
        "category": req.c.category,
        "supplier": req.c.supplier,
        "month": month_of(PO.c.created_at),
    }.get(by)
    cols = [key.label("key")] if key is not None else []
    base = (
        select(*cols, elapsed_seconds(PO.c.created_at, req.c.submitted_at).label("seconds"))
        .select_from(joined)
        .where(between(PO.c.created_at, window.start, window.end), req.c.submitted_at.is_not(None), scope.where(req))
        .subquery("cycle")
    )
    return _distributions(engine, base, ["key"] if cols else [])


def step_turnaround(engine: Engine, window: Window, scope: Scope, by: StepBy = "all") -> list[Distribution]:
    """Activated -> decided, for steps a person approved or rejected in the window."""
    key = {"stage": S.c.stage_name, "approver": S.c.decided_by}.get(by)
    cols = [key.label("key")] if key is not None else []
    base = (
        select(*cols, elapsed_seconds(S.c.decided_at, S.c.activated_at).label("seconds"))
        .select_from(scope.steps())
        .where(
            between(S.c.decided_at, window.start, window.end),
            S.c.state.in_(DECIDED_BY_PERSON),
            S.c.activated_at.is_not(None),
            S.c.decided_by.is_not(None),
            scope.where(),
        )
        .subquery("turnaround")
    )
    return _distributions(engine, base, ["key"] if cols else [])


# ---------------------------------------------------------------------------------- rates


def _submitted(window: Window, scope: Scope) -> ColumnElement[bool]:
    return and_(between(R.c.submitted_at, window.start, window.end), scope.where())


def _has_steps() -> Any:
    return exists().where(S.c.requisition_id == R.c.id)


def touchless(engine: Engine, window: Window, scope: Scope) -> Rate:
    """Requisitions submitted in the window that the policy approved with no approval step."""
    hit = and_(R.c.state.in_(APPROVED_STATES), ~_has_steps())
    q = select(func.count(), func.coalesce(func.sum(case((hit, 1), else_=0)), 0)).where(_submitted(window, scope))
    total, n = _rows(engine, q)[0]
    return Rate(as_int(n), as_int(total))


def _escalated_from(step: Any = S) -> Any:
    later = S.alias("later")
    return exists().where(later.c.escalated_from == step.c.id)


def _has_escalation_target(step: Any = S) -> ColumnElement[bool]:
    # a JSON column may hold SQL NULL or the JSON value null; neither is a target
    return and_(step.c.escalate_to.is_not(None), cast(step.c.escalate_to, String) != "null")


def sla_adherence(engine: Engine, window: Window, scope: Scope, by: StepBy = "all") -> list[tuple[str, Rate]]:
    """Steps with an enforced SLA whose clock stopped in the window, and how many were never escalated.

    A clock stops when the step is decided (approved, rejected, replaced by its escalation) or,
    for a step that stays open beside its escalation (any-of stages add the next level), when
    the escalation happened.
    """
    key = {"stage": S.c.stage_name, "approver": S.c.approver}.get(by)
    cols = [key] if key is not None else []
    late = or_(S.c.state == StepState.ESCALATED, _escalated_from())
    common = (S.c.activated_at.is_not(None), _has_escalation_target(), scope.where())
    decided = (
        select(*cols, func.count(), func.sum(case((late, 0), else_=1)))
        .select_from(scope.steps())
        .where(between(S.c.decided_at, window.start, window.end), or_(S.c.state.in_(FINISHED_STEP), late), *common)
    )
    # escalations are few: start from those in the window, then look at the step each came from
    later = S.alias("later")
    escalated_in_window = select(later.c.escalated_from).where(
        later.c.escalated_from.is_not(None), between(later.c.activated_at, window.start, window.end)
    )
    still_open = (
        select(*cols, func.count(), literal(0))
        .select_from(scope.steps())
        .where(S.c.state == StepState.PENDING, S.c.id.in_(escalated_in_window), *common)
    )
    totals: dict[str, list[int]] = {}
    for query in (decided, still_open):
        if cols:
            query = query.group_by(*cols)
        for r in _rows(engine, query):
            k, total, met = (str(r[0]), r[1], r[2]) if cols else ("all", r[0], r[1])
            acc = totals.setdefault(k, [0, 0])
            acc[0] += as_int(met)
            acc[1] += as_int(total)
    return sorted((k, Rate(met, total)) for k, (met, total) in totals.items() if total)


# What happened to a requisition happened after it was submitted, so for requisitions submitted
# since `start` only escalations, questions and ERP failures since `start` can concern them: each
# set below is read from an index range, not from all of history.


def _escalated_ids(start: datetime) -> Any:
    return (
        select(S.c.requisition_id.label("id"))
        .where(S.c.escalated_from.is_not(None), S.c.activated_at >= start)
        .distinct()
        .subquery("esc")
    )


def _asked_ids(start: datetime) -> Any:
    return select(INFO.c.requisition_id.label("id")).where(INFO.c.asked_at >= start).distinct().subquery("asked")


def _erp_failed_numbers(start: datetime) -> Any:
    return (
        select(A.c.requisition_number.label("number"))
        .where(A.c.kind == "po_failed", A.c.at >= start)
        .distinct()
        .subquery("erp_failed")
    )


def escalation_and_info_rates(engine: Engine, window: Window, scope: Scope) -> tuple[Rate, Rate]:
    """Of the requisitions submitted in the window: escalated at least once, asked for information."""
    # escalations and questions are a few percent of all requisitions: their distinct ids are joined
    # once (a hash on PostgreSQL), instead of one index probe per requisition in the window
    esc, asked = _escalated_ids(window.start), _asked_ids(window.start)
    q = (
        select(func.count(), func.count(esc.c.id), func.count(asked.c.id))
        .select_from(R.outerjoin(esc, esc.c.id == R.c.id).outerjoin(asked, asked.c.id == R.c.id))
        .where(_submitted(window, scope))
    )
    total, esc, info = _rows(engine, q)[0]
    return Rate(as_int(esc), as_int(total)), Rate(as_int(info), as_int(total))


# ---------------------------------------------------------------------------------- exceptions


def exceptions(engine: Engine, window: Window, scope: Scope) -> list[ExceptionCount]:
    """Per site, requisitions submitted in the window that left the happy path, by kind (one can count twice)."""
    stop_rule = R.c.route["rule_id"].as_string()
    esc, asked, failed = _escalated_ids(window.start), _asked_ids(window.start), _erp_failed_numbers(window.start)
    flags = {
        "rejected": R.c.state == "rejected",
        "info_requested": asked.c.id.is_not(None),
        "escalated": esc.c.id.is_not(None),
        "erp_failed": failed.c.number.is_not(None),
    }
    joined = (
        R.outerjoin(esc, esc.c.id == R.c.id)
        .outerjoin(asked, asked.c.id == R.c.id)
        .outerjoin(failed, failed.c.number == R.c.number)
    )
    q = (
        select(
            R.c.site,
            *(func.coalesce(func.sum(case((test, 1), else_=0)), 0).label(name) for name, test in flags.items()),
        )
        .select_from(joined)
        .where(_submitted(window, scope))
        .group_by(R.c.site)
    )
    stops = (
        select(R.c.site, func.coalesce(stop_rule, "policy"), func.count())
        .where(_submitted(window, scope), R.c.state == "stopped")
        .group_by(R.c.site, stop_rule)
    )
    out = [
        ExceptionCount(name, r.site, as_int(getattr(r, name)))
        for r in _rows(engine, q)
        for name in flags
        if as_int(getattr(r, name))
    ]
    out += [ExceptionCount(f"stopped:{rule}", site, as_int(n)) for site, rule, n in _rows(engine, stops)]
    return sorted(out, key=lambda e: (e.kind, e.site))


def erp_recovery(engine: Engine, window: Window, scope: Scope) -> ErpRecovery:
    """Dead-lettered POs in the window, whether and how fast they got their PO."""
    first = (
        select(A.c.requisition_number.label("number"), func.min(A.c.at).label("failed_at"))
        .where(A.c.kind == "po_failed", between(A.c.at, window.start, window.end))
        .group_by(A.c.requisition_number)
        .subquery("first_failure")
    )
    scoped = (
        select(first.c.number, first.c.failed_at)
        .select_from(first.join(R, R.c.number == first.c.number))
        .where(scope.where())
        .subquery("scoped")
    )
    counts = select(func.count(), func.count(PO.c.id)).select_from(
        scoped.outerjoin(PO, PO.c.requisition_number == scoped.c.number)
    )
    failed, recovered = _rows(engine, counts)[0]
    base = (
        select(elapsed_seconds(PO.c.created_at, scoped.c.failed_at).label("seconds"))
        .select_from(scoped.join(PO, PO.c.requisition_number == scoped.c.number))
        .where(PO.c.created_at >= scoped.c.failed_at)
        .subquery("recovery")
    )
    dist = _distributions(engine, base, [])
    now_failing = select(func.count()).where(JOB.c.kind == CREATE_PO, JOB.c.state.in_((jobqueue.DEAD, jobqueue.FAILED)))
    return ErpRecovery(
        as_int(failed), as_int(recovered), dist[0] if dist else None, as_int(_rows(engine, now_failing)[0][0])
    )


# ---------------------------------------------------------------------------------- delegation and budget


def delegation_usage(engine: Engine, window: Window, scope: Scope) -> DelegationUsage:
    """Steps decided in the window, and those decided by a delegate, per (delegator, delegate)."""
    where = and_(
        between(S.c.decided_at, window.start, window.end),
        S.c.state.in_(DECIDED_BY_PERSON),
        S.c.decided_by.is_not(None),
        scope.where(),
    )
    joined = scope.steps()
    totals = select(func.count(), func.count(S.c.on_behalf_of)).select_from(joined).where(where)
    decided, on_behalf = _rows(engine, totals)[0]
    pairs = (
        select(S.c.on_behalf_of, S.c.decided_by, func.count())
        .select_from(joined)
        .where(where, S.c.on_behalf_of.is_not(None))
        .group_by(S.c.on_behalf_of, S.c.decided_by)
    )
    active = select(func.count()).where(
        DELEG.c.cancelled_at.is_(None), DELEG.c.starts_at <= window.end, DELEG.c.ends_at > window.end
    )
    by_pair = sorted(((a, b, as_int(n)) for a, b, n in _rows(engine, pairs)), key=lambda p: (-p[2], p[0], p[1]))
    return DelegationUsage(as_int(decided), as_int(on_behalf), by_pair, as_int(_rows(engine, active)[0][0]))


def open_commitments(engine: Engine, scope: Scope) -> list[Commitment]:
    """Spend in approval, approved but not ordered, and ordered, per cost center (policy currency)."""
    # grouped by (state, cost_center), the order of ix_requisition_commitments: an index-only scan
    # that aggregates as it reads, no per-row CASE; the three buckets are added up here
    q = (
        select(R.c.state, R.c.cost_center, func.sum(R.c.amount))
        .where(R.c.state.in_(IN_APPROVAL + APPROVED_STATES), scope.where())
        .group_by(R.c.state, R.c.cost_center)
    )
    buckets: dict[str, list[Decimal]] = {}
    for state, cc, amount in _rows(engine, q):
        parts = buckets.setdefault(cc, [Decimal(0), Decimal(0), Decimal(0)])
        parts[0 if state in IN_APPROVAL else 1 if state in APPROVED_NOT_ORDERED else 2] += Decimal(str(amount or 0))
    return [Commitment(cc, *parts) for cc, parts in sorted(buckets.items())]
