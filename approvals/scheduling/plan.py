"""What becomes due when an action commits: written in the action's own transaction.

`Planner` is an in-transaction hook of the approval service. When an action leaves steps
pending (routed, advanced to the next stage, escalated, reassigned, re-routed after an
amendment) it writes, with the action, each step's reminder chain and the stage's escalation;
an escalation also writes its notices; a question to the requester writes its expiry; a draft
its expiry. The action and its due work commit together or not at all, and the dedupe keys
make a replayed hook harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from approvals import jobqueue
from approvals.clock import as_utc
from approvals.directory import Directory
from approvals.models import ApprovalStep
from approvals.plan import Plan
from approvals.policy.schema import RemindersSpec
from approvals.scheduling import text
from approvals.scheduling.calendar import Calendars, WorkingHours
from approvals.states import StepState

# every kind of row the scheduler claims
KINDS = (
    "remind",
    "escalate",
    "notify",
    "delegation_start",
    "delegation_end",
    "info_expire",
    "draft_expire",
    "digest_plan",
    "digest",
    "weekly_summary",
    "sla_risk",
    "recurring_release",
)
STEP_ACTIVATED = frozenset({"routed", "advanced", "escalated", "reassigned", "reapproval_routed"})
# a stage begins: the people the policy informs on it are told (an escalation or a reassignment starts none)
STAGE_STARTED = frozenset({"routed", "advanced", "reapproval_routed"})
# a stage ends: the people it informs are told how, if the policy asks (inform_when: start_and_end)
STAGE_ENDED = {"advanced": "approved", "approved": "approved", "rejected": "rejected", "withdrawn": "withdrawn"}
# whether a policy (by content hash) asks to tell anyone how a stage ended: most never do, and then a decision
# never reads its route for it
_ENDS_TOLD: dict[str, bool] = {}


def _tells_ends(policy: Any) -> bool:
    told = _ENDS_TOLD.get(policy.content_hash)
    if told is None:
        stages = [st for rule in policy.rules for st in rule.spec.stages or ()]
        stages += [o.spec.stage for o in policy.overlays if getattr(o.spec, "stage", None) is not None]
        told = _ENDS_TOLD[policy.content_hash] = any(st.inform_when == "start_and_end" for st in stages)
    return told


@dataclass(frozen=True)
class SchedulerConfig:
    hours: WorkingHours = field(default_factory=WorkingHours)
    batch: int = 500  # rows one tick claims at most
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    info_expire_hours: Decimal = Decimal(40)  # business hours a question may stay unanswered
    draft_expire_days: int = 30
    weekly_summary: bool = False  # last week's figures to procurement leads every Monday (the server turns it on)
    sla_risk: bool = False  # estimate pending steps' SLA risk every half hour, act on the risky ones (server: on)
    risk_threshold: float = 0.5  # the chance of being late at which a step is acted on (approvals/sla_risk.py)


def _activated_at(step: ApprovalStep) -> datetime:
    """When the step became active: reminders, escalations and SLAs are only ever scheduled for an active step."""
    assert step.activated_at is not None, f"step {step.id} was never active, so it has no reminder or SLA"
    return as_utc(step.activated_at)


def remind_key(step: ApprovalStep) -> str:
    # a step activated again (reassigned) starts a new chain
    return f"remind:{step.id}:{int(_activated_at(step).timestamp())}"


def escalate_key(req_id: int, round_: int, stage: int, level: int) -> str:
    return f"escalate:{req_id}:{round_}:{stage}:{level}"


def sla_deadline(calendars: Calendars, step: ApprovalStep) -> datetime:
    """When the step's SLA runs out: its SLA in the approver's business hours from activation."""
    return calendars.for_person(step.approver).add(_activated_at(step), step.sla_hours)


def notice(
    calendars: Calendars,
    *,
    key: str,
    person: str,
    kind: str,
    message: str,
    now: datetime,
    number: str | None = None,
    numbers: list[str] | None = None,
) -> dict[str, Any]:
    """A notice as its own job (the keywords of jobqueue.enqueue and Plan.enqueue), due when the person's quiet
    hours allow."""
    return {
        "kind": "notify",
        "key": key,
        "due_at": calendars.for_person(person).next_not_quiet(now),
        "payload": {"person": person, "kind": kind, "text": message, "number": number, "numbers": numbers or []},
    }


def enqueue_notice(
    session: Session,
    calendars: Calendars,
    *,
    key: str,
    person: str,
    kind: str,
    message: str,
    now: datetime,
    number: str | None = None,
    numbers: list[str] | None = None,
) -> bool:
    """`notice`, written in the caller's transaction."""
    return jobqueue.enqueue(
        session,
        now=now,
        **notice(
            calendars, key=key, person=person, kind=kind, message=message, now=now, number=number, numbers=numbers
        ),
    )


def _depth(step: ApprovalStep, by_id: dict[int, ApprovalStep]) -> int:
    depth, current = 0, step
    while current.escalated_from is not None and depth < 50:
        depth += 1
        parent = by_id.get(current.escalated_from)
        if parent is None:
            break
        current = parent
    return depth


def _stage_of(plan: Plan, index: int) -> dict[str, Any] | None:
    """The route's plan of stage `index` (its SLA, reminders, informed people), if the route recorded one."""
    stages = plan.reads.route().get("stages") or []
    return next((s for s in stages if isinstance(s, dict) and s.get("index") == index), None)


def _stage_reminders(plan: Plan, index: int) -> RemindersSpec:
    """The reminders of the stage as routed (a service level's or the stage's own), else the policy's settings."""
    settings = plan.reads.policy().spec.settings.reminders
    stage = _stage_of(plan, index)
    given = (stage or {}).get("reminders")
    if not given:
        return settings
    try:
        return RemindersSpec.model_validate({**settings.model_dump(), **given})
    except ValueError:  # a route recorded by another version of the code: the policy's settings still hold
        return settings


class Planner:
    """The service hook that writes due work with each action (see the module docstring)."""

    def __init__(
        self, directory: Directory, calendars: Calendars | None = None, config: SchedulerConfig | None = None
    ) -> None:
        self.directory = directory
        self.config = config or SchedulerConfig()
        self.calendars = calendars or Calendars(directory, self.config.hours)

    def __call__(self, plan: Plan) -> None:
        """In-transaction hook: the due work of the action (approvals.plan), added to its plan."""
        outcome, now = plan.change.outcome, plan.at
        if outcome in STEP_ACTIVATED:
            self._pending_steps(plan, now)
        if outcome in STAGE_ENDED and plan.req.policy_version_id is not None and _tells_ends(plan.reads.policy()):
            self._informed_of_end(plan, now, STAGE_ENDED[outcome])
        if outcome in STAGE_STARTED:
            self._informed(plan, now)
        if outcome == "escalated":
            self._escalation_notices(plan, now)
        if outcome == "info_requested":
            self._info_expiry(plan, now)
        if outcome == "draft":
            req = plan.req
            plan.enqueue(
                kind="draft_expire",
                key=f"draft_expire:{req.id}",
                due_at=now + timedelta(days=self.config.draft_expire_days),
                payload={"req": req.id, "number": req.number, "days": self.config.draft_expire_days},
            )

    def _pending_steps(self, plan: Plan, now: datetime) -> None:
        req, stage = plan.req, plan.reads.stage_steps()
        pending = [s for s in stage if s.state == StepState.PENDING and s.activated_at is not None]
        if not pending or req.policy_version_id is None:
            return
        reminders = _stage_reminders(plan, req.current_stage)
        for step in pending:
            if reminders.max > 0:
                due = self.calendars.for_person(step.acting).add(_activated_at(step), reminders.first_after_hours)
                plan.enqueue(
                    kind="remind",
                    key=remind_key(step),
                    due_at=due,
                    payload={"step": step.id, "n": 1, "max": reminders.max, "every": str(reminders.every_hours)},
                )
        escalating = [s for s in pending if s.escalate_to]
        if not escalating:
            return
        by_id = {s.id: s for s in stage if s.id is not None}
        level = max(_depth(s, by_id) for s in escalating)
        newest = [s for s in escalating if _depth(s, by_id) == level]
        due = max(sla_deadline(self.calendars, s) for s in newest)
        plan.enqueue(
            kind="escalate",
            key=escalate_key(req.id, req.round, req.current_stage, level + 1),
            due_at=due,
            payload={
                "req": req.id,
                "number": req.number,
                "round": req.round,
                "stage": req.current_stage,
                "level": level + 1,
                "steps": [s.id for s in newest],
                "sla_hours": str(newest[0].sla_hours),
            },
        )

    def _informed_of_end(self, plan: Plan, now: datetime, how: str) -> None:
        """The people a stage informs, told how it ended, when the policy asks (inform_when: start_and_end)."""
        req = plan.req
        index = req.current_stage - 1 if plan.change.outcome == "advanced" else req.current_stage
        stage = _stage_of(plan, index)
        if stage is None or not stage.get("inform_at_end"):
            return
        by = self._name(plan.change.actor)
        for person in [p for p in stage.get("informed") or () if self.directory.person(p) is not None]:
            plan.enqueue(
                **notice(
                    self.calendars,
                    key=f"notify:informed_end:{req.id}:{req.round}:{index}:{person}",
                    person=person,
                    kind="informed",
                    number=req.number,
                    now=now,
                    message=text.informed_end(req.number, req.title, str(stage.get("name", "")), how, by),
                )
            )

    def _informed(self, plan: Plan, now: datetime) -> None:
        """The people the policy informs on the stage that starts now: told once, never asked to act."""
        req = plan.req
        stage = _stage_of(plan, req.current_stage)
        if stage is None:
            return
        informed = [p for p in stage.get("informed") or () if self.directory.person(p) is not None]
        if not informed:
            return
        name = self._name
        waiting = ", ".join(name(s.acting) for s in plan.reads.stage_steps() if s.state == StepState.PENDING)
        for person in informed:
            plan.enqueue(
                **notice(
                    self.calendars,
                    key=f"notify:informed:{req.id}:{req.round}:{req.current_stage}:{person}",
                    person=person,
                    kind="informed",
                    number=req.number,
                    now=now,
                    message=text.informed(req.number, req.title, str(stage.get("name", "")), waiting),
                )
            )

    def _escalation_notices(self, plan: Plan, now: datetime) -> None:
        req, stage = plan.req, plan.reads.stage_steps()
        by_id = {s.id: s for s in stage}
        new = [s for s in stage if s.escalated_from is not None and as_utc(s.activated_at) == as_utc(now)]
        name = self._name
        for step in new:
            original = by_id.get(step.escalated_from)
            if original is None:
                continue
            prefix = f"Escalated from {name(original.approver)}: "
            reason = step.explanation.removeprefix(prefix).removesuffix(f". {original.explanation}")[:300]
            plan.enqueue(
                **notice(
                    self.calendars,
                    key=f"notify:escalated:{step.id}:{step.acting}",
                    person=step.acting,
                    kind="escalated",
                    number=req.number,
                    now=now,
                    message=text.escalated_to_you(req.number, req.title, name(original.approver), reason),
                )
            )
            plan.enqueue(
                **notice(
                    self.calendars,
                    key=f"notify:escalated:{step.id}:{original.acting}",
                    person=original.acting,
                    kind="escalated",
                    number=req.number,
                    now=now,
                    message=text.escalated_from_you(
                        req.number, name(step.acting), reason, original.state == StepState.PENDING
                    ),
                )
            )
        if new:
            people = ", ".join(name(s.acting) for s in new)
            reason = new[0].explanation.split(": ", 1)[-1].split(". ", 1)[0][:300]
            plan.enqueue(
                **notice(
                    self.calendars,
                    key=f"notify:escalated:{new[0].id}:{req.requester}",
                    person=req.requester,
                    kind="escalated",
                    number=req.number,
                    now=now,
                    message=text.escalated_requester(req.number, people, reason),
                )
            )

    def _info_expiry(self, plan: Plan, now: datetime) -> None:
        req, info = plan.req, plan.reads.open_info()
        if info is None:
            return
        hours = self.config.info_expire_hours
        due = self.calendars.for_person(req.requester).add(now, hours)
        plan.enqueue(
            kind="info_expire",
            key=f"info_expire:{info.id}",
            due_at=due,
            payload={"info": info.id, "req": req.id, "number": req.number, "hours": str(hours)},
        )

    def _name(self, person_id: str | None) -> str:
        p = self.directory.person(person_id or "")
        return p.name if p else (person_id or "someone")
