"""Administrator and scheduler actions: reassign and escalate."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from approvals.commands import (
    Escalate,
    Reassign,
)
from approvals.errors import (
    FieldError,
    NotAllowed,
    StaleAction,
    ValidationFailed,
)
from approvals.models import (
    ApprovalStep,
    Requisition,
)
from approvals.policy.loader import LoadedPolicy
from approvals.policy.routing import resolve_people
from approvals.policy.schema import ApproverSpec
from approvals.workflow.base import (  # noqa: F401
    COMMITTED_STATES,
    PENDING,
    WAITING,
    ActionResult,
    ServiceBase,
    _fingerprint,
)


class AdminActions(ServiceBase):
    """Reassign and escalate."""

    def _eligible_new_approver(self, session: Session, req: Requisition, person: str) -> None:
        if person not in self.directory.person_by_id:
            raise ValidationFailed([FieldError("to_person", f"unknown person {person!r}")])
        if person == req.requester:
            raise NotAllowed(f"{self._name(person)} is the requester of {req.number} and cannot approve it.")

    def reassign(self, cmd: Reassign) -> ActionResult:
        """Administrator action: move a pending step to another person (audited)."""

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            self._move(req, "reassign", now)
            self._eligible_new_approver(session, req, cmd.to_person)
            steps = [s for s in self._stage_steps(session, req)
                     if s.state == PENDING and cmd.from_person in (s.approver, s.acting)]
            if not steps:
                raise StaleAction(f"{self._name(cmd.from_person)} has no pending step on {req.number}.")
            step = steps[0]
            before = {"approver": step.approver, "acting": step.acting}
            step.approver = step.acting = cmd.to_person
            step.explanation = (f"Reassigned from {self._name(before['approver'])} by {self._name(cmd.actor)}: "
                                f"{cmd.reason}")[:600]
            step.activated_at = now
            session.add(step)
            self._audit(session, req, "reassigned", cmd.actor, now, cmd.surface, before,
                        {"approver": cmd.to_person, "reason": cmd.reason, "step": step.id})
            return req, "reassigned", f"{req.number} is now with {self._name(cmd.to_person)}."

        return self._run(cmd, "reassign", body)

    def escalate(self, cmd: Escalate) -> ActionResult:
        """Escalate every pending step of the current stage to its policy target (or a named person)."""

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            self._move(req, "escalate", now)
            policy = self._pinned_policy(session, req)
            moved: list[str] = []
            for step in [s for s in self._stage_steps(session, req) if s.state == PENDING]:
                target = self._escalation_target(req, step, policy, cmd.to_person)
                if target is None:
                    continue
                self._eligible_new_approver(session, req, target)
                new = ApprovalStep(
                    requisition_id=req.id, round=req.round, stage_index=step.stage_index,  # type: ignore[arg-type]
                    stage_name=step.stage_name, mode=step.mode, required=step.required, approver=target,
                    acting=target, state=PENDING, rule_id=step.rule_id,
                    explanation=(f"Escalated from {self._name(step.approver)}: {cmd.reason}. "
                                 f"{step.explanation}")[:600],
                    sla_hours=step.sla_hours, escalate_to=step.escalate_to, escalation=step.escalation,
                    escalated_from=step.id, activated_at=now)
                if step.escalation == "reassign" or step.mode == "all":
                    # an all-of stage keeps its count right by replacing, not adding
                    step.state, step.decided_at = "escalated", now
                    session.add(step)
                session.add(new)
                moved.append(target)
                self._audit(session, req, "escalated", cmd.actor, now, cmd.surface,
                            {"approver": step.approver, "step": step.id},
                            {"approver": target, "mode": step.escalation, "reason": cmd.reason})
            if not moved:
                raise StaleAction(f"{req.number} has no step that can be escalated further; "
                                  "ask an administrator to reassign it.")
            return req, "escalated", f"{req.number} is escalated to {', '.join(self._name(p) for p in moved)}."

        return self._run(cmd, "escalate", body)

    def _escalation_target(self, req: Requisition, step: ApprovalStep, policy: LoadedPolicy,
                           to_person: str | None) -> str | None:
        if to_person:
            return to_person
        if not step.escalate_to:
            chain = self.directory.manager_chain(step.approver)
            candidates = chain
        else:
            spec = ApproverSpec.model_validate(step.escalate_to)
            facts = dict(req.facts)
            candidates = [p.id for p in resolve_people(spec, facts, self.directory, approver=step.approver,
                                                       escalations=policy.spec.escalations)]
        for person in candidates:
            if person not in (req.requester, step.approver):
                return person
        return None
