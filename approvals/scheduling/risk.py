"""SLA risk on a schedule: estimate every pending step, keep the estimates, act once on the risky ones.

A scheduler tick makes sure there is one `sla_risk` row per `EVERY` minutes; running it loads the
last `HISTORY_DAYS` of decided steps (approvals/sla_risk.py fits the model on them), estimates each
pending step of a requisition waiting on approvers, and rewrites `step_risk` (what the console's
"At risk" page lists). A step whose chance of being late reaches the threshold, with time still
left, is acted on once per activation, in one transaction:

* the approver's next reminder (the step's own reminder chain, approvals/scheduling/plan.py) is
  moved to now, so they are nudged before the usual first reminder; a used-up chain gets one more;
* the requester is told it is likely to be late and why (a notice, so every surface and the
  web-chat inbox get it);
* an `sla_at_risk` audit event records the chance, the reasons and what was done.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, or_
from sqlmodel import Session, col, select

from approvals import audit, jobqueue
from approvals.clock import as_utc
from approvals.db import transaction
from approvals.directory import Directory
from approvals.models import ApprovalStep, Delegation, Requisition
from approvals.scheduling import text
from approvals.scheduling.calendar import Calendars
from approvals.scheduling.models import StepRisk
from approvals.scheduling.plan import enqueue_notice, remind_key, sla_deadline
from approvals.sla_risk import DEFAULT_THRESHOLD, MODEL_VERSION, OpenStep, PastStep, Predictor, Risk, Situation
from approvals.states import StepState

HISTORY_DAYS = 90
EVERY = timedelta(minutes=30)  # how often the estimates are redone
KIND = "sla_risk"
AUDIT_KIND = "sla_at_risk"
HELD = (StepState.APPROVED, StepState.REJECTED, StepState.ESCALATED)  # steps that left their holder


@dataclass(frozen=True)
class RiskRun:
    estimated: int
    at_risk: int
    alerted: list[str]  # requisition numbers acted on this run


def run_key(now: datetime) -> str:
    """One row per EVERY minutes (replicas enqueue the same key)."""
    slot = int(as_utc(now).timestamp() // EVERY.total_seconds())
    return f"{KIND}:{slot}"


def _activated(step: ApprovalStep) -> datetime:
    assert step.activated_at is not None, "only steps that were active are loaded"
    return as_utc(step.activated_at)


def _hours(calendars: Calendars, person: str, start: datetime, end: datetime) -> float:
    return calendars.for_person(person).between(start, end).total_seconds() / 3600


def load(session: Session, calendars: Calendars, now: datetime) -> tuple[list[PastStep], list[OpenStep], dict]:
    """The decided history, the open steps and each holder's situation (queue, idle, snooze, away)."""
    since = now - timedelta(days=HISTORY_DAYS)
    rows = session.exec(
        select(ApprovalStep, Requisition)
        .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
        .where(col(ApprovalStep.activated_at).is_not(None))
        .where(
            # decided in the window, or pending however old (a step forgotten for months is the riskiest)
            or_(
                (col(ApprovalStep.activated_at) >= since) & col(ApprovalStep.state).in_(HELD),
                col(ApprovalStep.state) == StepState.PENDING,
            )
        )
    ).all()
    spans: dict[str, list[tuple[datetime, datetime | None]]] = {}
    last_decision: dict[str, datetime] = {}
    for step, _ in rows:
        start = _activated(step)
        end = as_utc(step.decided_at) if step.state != StepState.PENDING else None
        if step.state == StepState.PENDING or end is not None:
            spans.setdefault(step.acting, []).append((start, end))
        if end is not None and step.state != StepState.ESCALATED:
            last_decision[step.acting] = max(end, last_decision.get(step.acting, end))
    starts = {p: sorted(s for s, _ in v) for p, v in spans.items()}
    ends = {p: sorted(e for _, e in v if e is not None) for p, v in spans.items()}

    def queue_at(person: str, at: datetime) -> int:
        # steps that arrived before `at` and had not left by then
        return bisect.bisect_left(starts.get(person, []), at) - bisect.bisect_right(ends.get(person, []), at)

    past: list[PastStep] = []
    open_steps: list[OpenStep] = []
    for step, req in rows:
        start = _activated(step)
        if step.state != StepState.PENDING:
            decided = as_utc(step.decided_at)
            if decided is None:
                continue
            past.append(
                PastStep(
                    step.acting,
                    start,
                    _hours(calendars, step.acting, start, decided),
                    step.stage_name,
                    Decimal(req.amount),
                    max(0, queue_at(step.acting, start)),
                )
            )
        elif req.state == "pending_approval" and step.id is not None:
            open_steps.append(
                OpenStep(
                    step.id,
                    req.number or "",
                    step.acting,
                    step.approver,
                    step.stage_name,
                    Decimal(req.amount),
                    start,
                    sla_deadline(calendars, step),
                    float(step.sla_hours),
                    req.requester,
                )
            )
    situations = _situations(session, calendars, open_steps, spans, last_decision, now)
    return past, open_steps, situations


def _situations(
    session: Session,
    calendars: Calendars,
    open_steps: list[OpenStep],
    spans: dict[str, list[tuple[datetime, datetime | None]]],
    last_decision: dict[str, datetime],
    now: datetime,
) -> dict[int, Situation]:
    people = sorted({s.person for s in open_steps})
    waiting = {p: sum(1 for _, end in spans.get(p, []) if end is None) for p in people}
    oldest = {p: min((s.activated_at for s in open_steps if s.person == p), default=now) for p in people}
    snoozed: set[int] = set()
    for job in session.exec(
        select(jobqueue.Job).where(
            col(jobqueue.Job.kind) == "remind", col(jobqueue.Job.state).in_((jobqueue.DUE, jobqueue.FAILED))
        )
    ).all():
        if (job.payload or {}).get("snoozed_at"):
            snoozed.add(int(job.payload["step"]))
    away: dict[str, Delegation] = {}
    if people:
        for d in session.exec(
            select(Delegation).where(
                col(Delegation.delegator).in_(people),
                col(Delegation.cancelled_at).is_(None),
                col(Delegation.ends_at) > now,
            )
        ).all():
            known = away.get(d.delegator)
            if known is None or as_utc(d.starts_at) < as_utc(known.starts_at):
                away[d.delegator] = d
    out: dict[int, Situation] = {}
    for s in open_steps:
        since = max(oldest[s.person], last_decision.get(s.person, oldest[s.person]))
        out_of_office = away.get(s.person)
        starts = as_utc(out_of_office.starts_at) if out_of_office is not None else None
        away_from = starts if starts is not None and starts < s.deadline else None
        out[s.step_id] = Situation(
            queue=max(0, waiting[s.person] - 1),
            idle_hours=_hours(calendars, s.person, since, now) if since < now else 0.0,
            snoozed=s.step_id in snoozed,
            away_from=away_from,
            away_until=as_utc(out_of_office.ends_at) if away_from and out_of_office else None,
        )
    return out


def estimate(engine: Engine, directory: Directory, calendars: Calendars, now: datetime) -> list[tuple[OpenStep, Risk]]:
    """Every pending step's risk now, riskiest first (read only: the console and the scheduler use it)."""
    with Session(engine) as session:
        past, open_steps, situations = load(session, calendars, now)
    predictor = Predictor(past, calendar_for=calendars.for_person, name_of=_namer(directory))
    found = [(s, predictor.assess(s, situations[s.step_id], now)) for s in open_steps]
    return sorted(found, key=lambda x: (-x[1].probability, x[1].hours_left))


def run(
    engine: Engine,
    directory: Directory,
    calendars: Calendars,
    now: datetime,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> RiskRun:
    """Estimate, store, and act once on each step that crossed the threshold (see the module docstring)."""
    found = estimate(engine, directory, calendars, now)
    name = _namer(directory)
    alerted: list[str] = []
    with transaction(engine) as session:
        stored = {r.step_id: r for r in session.exec(select(StepRisk)).all()}
        keep = {s.step_id for s, _ in found}
        gone = [i for i in stored if i not in keep]
        if gone:
            session.execute(delete(StepRisk).where(col(StepRisk.step_id).in_(gone)))
        for step, risk in found:
            row = stored.get(step.step_id)
            if row is None:
                row = StepRisk(
                    step_id=step.step_id,
                    requisition_number=step.number,
                    person=step.person,
                    approver=step.approver,
                    activated_at=step.activated_at,
                    probability=0.0,
                    hours_left=0.0,
                    deadline=step.deadline,
                    computed_at=now,
                )
            elif as_utc(row.activated_at) != step.activated_at:
                row.activated_at, row.alerted_at = step.activated_at, None  # active again (reassigned): a new SLA
            row.person, row.stage, row.deadline = step.person, step.stage, step.deadline
            row.probability, row.reasons, row.hours_left = risk.probability, list(risk.reasons), risk.hours_left
            row.computed_at, row.model = now, MODEL_VERSION
            if (
                risk.at_risk(threshold)
                and row.alerted_at is None
                and _alert(session, calendars, step, risk, now, threshold, name)
            ):
                row.alerted_at = now
                alerted.append(step.number)
            session.add(row)
    return RiskRun(len(found), sum(1 for _, r in found if r.at_risk(threshold)), alerted)


def _alert(
    session: Session,
    calendars: Calendars,
    step: OpenStep,
    risk: Risk,
    now: datetime,
    threshold: float,
    name: Any,
) -> bool:
    """The earlier nudge, the requester's notice and the audit event, in the caller's transaction; False when
    the step was decided (or moved on) since it was estimated."""
    held = session.get(ApprovalStep, step.step_id)
    req = session.get(Requisition, held.requisition_id) if held is not None else None
    if held is None or req is None or held.state != StepState.PENDING or req.state != "pending_approval":
        return False
    key = remind_key(held)
    cal = calendars.for_person(step.person)
    nudge_at = cal.next_working(now)
    row = jobqueue.get(session, key)
    nudged = False
    if row is not None and as_utc(row.due_at) > nudge_at:
        nudged = jobqueue.reschedule(
            session, key=key, due_at=nudge_at, now=now, payload={**(row.payload or {}), "early": True}
        )
    if not nudged and (row is None or row.state not in (jobqueue.DUE, jobqueue.FAILED, jobqueue.CLAIMED)):
        # the chain is used up (or there is none): one more reminder of its own
        payload = {"step": step.step_id, "n": 1, "max": 1, "every": "8", "early": True}
        if row is not None and row.payload:
            payload = {**row.payload, "n": row.payload.get("max", 1), "early": True}
        nudged = jobqueue.enqueue(session, kind="remind", key=f"{key}:risk", due_at=nudge_at, now=now, payload=payload)
    reasons = "; ".join(risk.reasons)
    enqueue_notice(
        session,
        calendars,
        key=f"notify:sla_risk:{key}:{req.requester}",
        person=req.requester,
        kind="sla_risk",
        number=req.number,
        now=now,
        message=text.likely_late(req.number or "", name(step.person), risk.probability, reasons, nudged),
    )
    audit.append_event(
        session,
        kind=AUDIT_KIND,
        actor="scheduler",
        at=now,
        surface="scheduler",
        requisition_number=req.number,
        policy_version=(req.route or {}).get("policy_label"),
        after={
            "step": step.step_id,
            "approver": step.person,
            "probability": risk.probability,
            "threshold": threshold,
            "reasons": list(risk.reasons),
            "deadline": step.deadline.isoformat(),
            "nudged_at": nudge_at.isoformat() if nudged else None,
            "requester_told": req.requester,
            "model": MODEL_VERSION,
        },
    )
    return True


def _namer(directory: Directory) -> Any:
    def name(person_id: str) -> str:
        p = directory.person(person_id)
        return p.name if p else person_id

    return name
