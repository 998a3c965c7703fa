"""Administrator and scheduler actions: reassign and escalate.

Both put a new person on a step, so both apply the same eligibility rules routing does:
never the requester, never twice in one stage, never across stages unless the policy allows
it, and never above the person's approval limit where the stage checks limits.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from approvals import absences, jobqueue
from approvals.clock import as_utc
from approvals.commands import Escalate, MoveFromLeaver, Reassign
from approvals.db import transaction
from approvals.directory_store import Absence, pinned
from approvals.eligibility import handovers, other_stage
from approvals.errors import FieldError, NotAllowed, StaleAction, ValidationFailed
from approvals.models import ApprovalStep, Requisition
from approvals.policy.loader import LoadedPolicy
from approvals.policy.routing import money, resolve_people, route
from approvals.policy.schema import ApproverSpec
from approvals.policy.simulate import restore_facts
from approvals.states import OPEN_STEPS, State, StepState
from approvals.workflow.base import PENDING, WAITING, ActionResult, ServiceBase

# who takes a leaver's step when nobody above them in the reporting line may
LEAVER_FALLBACK_ROLE = "procurement_director"
LEAVER_TOLD_REQUESTER = "{number}: {why}."
LEAVER_TOLD_HOLDER = "{number} ({title}) now waits on you: {why}."
LEAVER_ALERT = "Needs you: {why}. Reassign it in the console, or fix the directory."


class AdminActions(ServiceBase):
    """Reassign and escalate."""

    def _why_not_approver(
        self, session: Session, req: Requisition, person_id: str, step: ApprovalStep, policy: LoadedPolicy
    ) -> str | None:
        """Why `person_id` may not take `step`, or None if they may."""
        person = self.directory.person(person_id)
        if person is None:
            return f"{person_id!r} is not in the directory"
        if not person.active:
            return f"{person.name} has left"
        if person_id == req.requester:
            return f"{person.name} is the requester"
        same_stage = session.exec(
            select(ApprovalStep).where(
                ApprovalStep.requisition_id == req.id,
                ApprovalStep.round == req.round,
                ApprovalStep.stage_index == step.stage_index,
                ApprovalStep.id != step.id,
            )
        ).all()
        if any(person_id in (s.approver, s.decided_by) and s.state != StepState.ESCALATED for s in same_stage):
            return f"{person.name} already holds a step at stage '{step.stage_name}'"
        if not policy.spec.settings.same_approver_across_stages:
            # their authority counts whether they used it themselves or through a delegate, and a step they hold at
            # another stage would make them approve twice (or leave that stage stuck waiting on them)
            round_steps = session.exec(
                select(ApprovalStep).where(ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round)
            ).all()
            # a later step kept for them only until they approve an earlier stage is handed on when they do
            held = other_stage(person_id, step.stage_index, round_steps, handovers(req.route, round_steps))
            if held is not None:
                if held.state == StepState.APPROVED:
                    return f"{person.name} already approved stage '{held.stage_name}'"
                return f"{person.name} is already an approver at stage '{held.stage_name}'"
        if (
            step.check_limits
            and policy.spec.settings.approval_limits == "escalate"
            and person.approval_limit < req.amount
        ):
            return (
                f"{person.name}'s approval limit {money(person.approval_limit, policy.currency)} is below "
                f"{money(req.amount, policy.currency)}"
            )
        return None

    def reassign(self, cmd: Reassign, *, as_manager: bool = False) -> ActionResult:
        """Move a pending step to another eligible person (audited): an administrator's action, or (`as_manager`) a
        manager's for a step waiting on someone below them in the reporting lines, and on nobody else."""

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            if as_manager and not self.directory.manages(cmd.actor, cmd.from_person):
                raise NotAllowed(
                    f"{self._name(cmd.from_person)} does not report to {self._name(cmd.actor)}: a manager moves "
                    "only their own team's steps. Ask an administrator."
                )
            req = self._lock(session, cmd.number)
            self._move(req, "reassign", now)
            if cmd.to_person not in self.directory.person_by_id:
                raise ValidationFailed([FieldError("to_person", f"unknown person {cmd.to_person!r}")])
            steps = [
                s
                for s in self._stage_steps(session, req)
                if s.state == PENDING and cmd.from_person in (s.approver, s.acting)
            ]
            if not steps:
                raise StaleAction(f"{self._name(cmd.from_person)} has no pending step on {req.number}.")
            step = steps[0]
            why_not = self._why_not_approver(session, req, cmd.to_person, step, self._pinned_policy(session, req))
            if why_not:
                raise NotAllowed(
                    f"Cannot reassign {req.number} to {self._name(cmd.to_person)}: {why_not}. Pick someone else."
                )
            before = {"approver": step.approver, "acting": step.acting}
            step.approver = step.acting = cmd.to_person
            step.explanation = (
                f"Reassigned from {self._name(before['approver'])} by {self._name(cmd.actor)}: {cmd.reason}"
            )[:600]
            step.activated_at = now
            session.add(step)
            self._audit(
                session,
                req,
                "reassigned",
                cmd.actor,
                now,
                cmd.surface,
                before,
                {"approver": cmd.to_person, "reason": cmd.reason, "step": step.id},
            )
            return req, "reassigned", f"{req.number} is now with {self._name(cmd.to_person)}."

        return self._run(cmd, "reassign", body)

    # ---------------------------------------------------------------- people who have left
    def has_left(self, person_id: str) -> bool:
        """Gone from the directory, or kept in it with `active: false`."""
        person = self.directory.person(person_id)
        return person is None or not person.active

    def stranded_steps(self) -> list[tuple[str, int, str]]:
        """(number, step id, who left) for every open step of an open requisition held by someone who has left:
        its approver, or the delegate acting on it."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(Requisition.number, ApprovalStep.id, ApprovalStep.approver, ApprovalStep.acting)
                .join(Requisition, col(Requisition.id) == col(ApprovalStep.requisition_id))
                .where(
                    col(ApprovalStep.state).in_(OPEN_STEPS),
                    col(Requisition.state).in_((State.PENDING_APPROVAL.value, State.NEEDS_INFO.value)),
                    ApprovalStep.round == Requisition.round,
                )
                .order_by(col(Requisition.id), col(ApprovalStep.id))
            ).all()
        out: list[tuple[str, int, str]] = []
        for number, step_id, approver, acting in rows:
            assert number is not None and step_id is not None
            if self.has_left(approver):
                out.append((number, step_id, approver))
            elif self.has_left(acting):
                out.append((number, step_id, acting))
        return out

    def leaver_target(
        self, session: Session, req: Requisition, step: ApprovalStep, leaver: str
    ) -> tuple[str | None, str]:
        """Who takes `leaver`'s step, and how to say why; (None, what was tried) when nobody may.

        A delegate who left hands the step back to its approver. An approver who left passes it to the nearest
        manager above them who may take it (routing's own rule: approvals.eligibility), else to the procurement
        director (LEAVER_FALLBACK_ROLE)."""
        gone = self._name(leaver)
        if leaver != step.approver:
            return step.approver, f"{gone}, who was acting for {self._name(step.approver)}, has left"
        policy = self._pinned_policy(session, req)
        tried: list[str] = []
        chain = [
            (m, "their manager" if i == 0 else "higher up their reporting line")
            for i, m in enumerate(self.directory.manager_chain(leaver))
        ]
        fallback = [
            (p.id, "the procurement director") for p in self.directory.people_with_role(LEAVER_FALLBACK_ROLE, None)
        ]
        for person_id, relation in chain + fallback:
            why_not = self._why_not_approver(session, req, person_id, step, policy)
            if why_not is None:
                return person_id, f"{gone} has left; the step moved to {self._name(person_id)} ({relation})"
            tried.append(why_not)
        return None, f"{gone} has left and nobody may take the step: " + ("; ".join(tried) or "no manager on record")

    def move_from_leaver(self, cmd: MoveFromLeaver) -> ActionResult:
        """Move one open step off someone who has left, audited as a reassignment; StaleAction when it no longer
        needs moving (another process moved it), NotAllowed when nobody may take it."""

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            step = session.get(ApprovalStep, cmd.step_id)
            if (
                step is None
                or step.requisition_id != req.id
                or step.state not in OPEN_STEPS
                or cmd.leaver not in (step.approver, step.acting)
                or not self.has_left(cmd.leaver)
            ):
                raise StaleAction(f"{req.number} has no open step left with {self._name(cmd.leaver)}.")
            target, why = self.leaver_target(session, req, step, cmd.leaver)
            if target is None:
                raise NotAllowed(f"{req.number}: {why}. Reassign it by hand, or fix the directory.")
            self._move(req, "reassign", now)
            before = {"approver": step.approver, "acting": step.acting}
            step.approver = step.acting = target
            step.explanation = why[:600]
            if step.state == PENDING:
                step.activated_at = now  # a new holder: reminders and the SLA start again for them
            session.add(step)
            self._audit(
                session,
                req,
                "reassigned",
                cmd.actor,
                now,
                cmd.surface,
                before,
                {"approver": target, "reason": why, "step": step.id, "left": cmd.leaver},
            )
            # the requester and the new holder are told why, through the scheduler's notices (quiet hours kept)
            for person, text in (
                (req.requester, LEAVER_TOLD_REQUESTER.format(number=req.number, why=why)),
                (target, LEAVER_TOLD_HOLDER.format(number=req.number, title=req.title, why=why)),
            ):
                jobqueue.enqueue(
                    session,
                    kind="notify",
                    key=f"leaver:{step.id}:{cmd.leaver}:{person}",
                    due_at=now,
                    now=now,
                    payload={"person": person, "kind": "reassigned", "text": text, "number": req.number},
                )
            return req, "reassigned", f"{req.number}: {why}."

        return self._run(cmd, "reassign", body)

    def move_from_leavers(self, *, actor: str = "directory") -> list[str]:
        """Every step stranded on someone who has left moves on (move_from_leaver); one line each for the log,
        saying where it went or why it could not."""
        report: list[str] = []
        for number, step_id, leaver in self.stranded_steps():
            try:
                result = self.move_from_leaver(
                    MoveFromLeaver(actor=actor, surface="scheduler", number=number, step_id=step_id, leaver=leaver)
                )
                report.append(result.message)
            except StaleAction:
                continue  # another replica moved it first
            except NotAllowed as exc:
                report.append(f"NOT MOVED: {exc.message}")
                self._alert_admins(number, step_id, leaver, exc.message)
        return report

    def re_resolve_steps(self, *, actor: str = "directory") -> list[str]:
        """After a directory change: for each requisition whose pinned policy says `on_directory_change:
        re-resolve`, a pending step of the current stage whose rule now names someone else moves to them (a
        reassignment, with the same eligibility checks), and so does a waiting step of a later stage. One line each,
        for the log."""
        report: list[str] = []
        directory = pinned(self.directory)
        now = self.clock()
        with Session(self.engine) as session:
            reqs = session.exec(select(Requisition).where(Requisition.state == State.PENDING_APPROVAL.value)).all()
            work: list[tuple[str, str, str, str]] = []
            waiting: list[tuple[str, int, str, str, str]] = []
            for req in reqs:
                policy = self._pinned_policy(session, req)
                if policy.spec.settings.on_directory_change != "re-resolve" or not req.number:
                    continue
                plan = route(restore_facts(dict(req.facts)), policy, directory, self._delegations(session, now), now)
                if req.current_stage >= len(plan.stages):
                    continue
                wanted = plan.approvers[req.current_stage]
                steps = self._stage_steps(session, req)
                holders = {s.approver for s in steps if s.state in OPEN_STEPS}
                free = [p for p in wanted if p not in holders]
                for step in steps:
                    if step.state == PENDING and step.approver not in wanted and free:
                        work.append((req.number, step.approver, free.pop(0), step.stage_name))
                # later stages have their steps already, waiting: they follow the directory too
                for index in range(req.current_stage + 1, len(plan.stages)):
                    later = self._stage_steps(session, req, index)
                    wanted = plan.approvers[index]
                    free = [p for p in wanted if p not in {s.approver for s in later}]
                    for step in later:
                        if step.state == WAITING and step.approver not in wanted and free:
                            assert step.id is not None
                            waiting.append((req.number, step.id, step.approver, free.pop(0), step.stage_name))
        for number, step_id, old, new, stage in waiting:
            reason = f"the directory changed: stage '{stage}' now resolves to {self._name(new)}"
            try:
                self._re_resolve_waiting(number, step_id, old, new, reason, actor)
                report.append(f"{number}: {self._name(old)} -> {self._name(new)} ({reason})")
            except (NotAllowed, StaleAction) as exc:
                report.append(f"{number}: kept with {self._name(old)} ({exc})")
        for number, old, new, stage in work:
            reason = f"the directory changed: stage '{stage}' now resolves to {self._name(new)}"
            try:
                self.reassign(
                    Reassign(
                        actor=actor, surface="scheduler", number=number, from_person=old, to_person=new, reason=reason
                    )
                )
                report.append(f"{number}: {self._name(old)} -> {self._name(new)} ({reason})")
            except (NotAllowed, StaleAction) as exc:
                report.append(f"{number}: kept with {self._name(old)} ({exc})")
        return report

    def _re_resolve_waiting(self, number: str, step_id: int, old: str, new: str, reason: str, actor: str) -> None:
        """A later stage's waiting step moves from `old` to `new` (re-resolve), with the checks a reassignment
        makes; StaleAction when it moved on meanwhile, NotAllowed when `new` may not hold it."""
        cmd = Reassign(actor=actor, surface="scheduler", number=number, from_person=old, to_person=new, reason=reason)

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, number)
            step = session.get(ApprovalStep, step_id)
            if step is None or step.requisition_id != req.id or step.state != WAITING or step.approver != old:
                raise StaleAction(f"{req.number} has no waiting step with {self._name(old)} any more.")
            self._move(req, "reassign", now)
            why_not = self._why_not_approver(session, req, new, step, self._pinned_policy(session, req))
            if why_not:
                raise NotAllowed(f"{self._name(new)} may not take it: {why_not}")
            before = {"approver": step.approver, "acting": step.acting}
            step.approver = step.acting = new
            step.explanation = f"Reassigned from {self._name(old)}: {reason}"[:600]
            session.add(step)
            self._audit(
                session,
                req,
                "reassigned",
                actor,
                now,
                cmd.surface,
                before,
                {"approver": new, "reason": reason, "step": step.id},
            )
            return req, "reassigned", f"{req.number} stage '{step.stage_name}' now waits for {self._name(new)}."

        self._run(cmd, "reassign", body)

    def skip_if_absent(self, number: str, step_id: int) -> str | None:
        """At a step's first reminder: its holder is out of office (automatic replies), nobody approves for them,
        and the pinned policy says `absence: skip`: the step moves to the nearest manager who may take it.
        Returns what was done, or None when the step stays."""
        now = self.clock()
        with Session(self.engine) as session:
            step = session.get(ApprovalStep, step_id)
            req = session.exec(select(Requisition).where(Requisition.number == number)).first()
            if step is None or req is None or step.state != PENDING:
                return None
            person = step.acting
            absence = session.get(Absence, person)
            if absence is None or not absences.out_at(absence, now) or absences.covered(session, person, now):
                return None
            if self._pinned_policy(session, req).spec.settings.absence != "skip":
                return None
        end = as_utc(absence.ends_at)
        until = f" until {end.astimezone(self.directory.zone_of(person)):%a %b %-d}" if end else ""
        reason = f"{self._name(person)} is out of office{until} and named nobody to approve for them"
        for manager in self.directory.manager_chain(person):
            try:
                self.reassign(
                    Reassign(
                        actor="scheduler",
                        surface="scheduler",
                        number=number,
                        from_person=person,
                        to_person=manager,
                        reason=reason,
                    )
                )
            except NotAllowed:
                continue
            except StaleAction:
                return None
            return f"{number}: {reason}; the step moved to {self._name(manager)}"
        return None

    def _alert_admins(self, number: str, step_id: int, leaver: str, why: str) -> None:
        """A step nobody may take: the procurement directors are told, once per step and leaver, to reassign it."""
        admins = [p.id for p in self.directory.people_with_role(LEAVER_FALLBACK_ROLE, None)]
        now = self.clock()
        with transaction(self.engine) as session:
            for person in admins:
                jobqueue.enqueue(
                    session,
                    kind="notify",
                    key=f"leaver-alert:{step_id}:{leaver}:{person}",
                    due_at=now,
                    now=now,
                    payload={
                        "person": person,
                        "kind": "leaver_alert",
                        "text": LEAVER_ALERT.format(why=why),
                        "number": number,
                    },
                )

    def escalate(self, cmd: Escalate, *, as_admin: bool = False) -> ActionResult:
        """Escalate the pending steps of the current stage to their policy target (admins may name a person).

        Only an administrator or the scheduler (which passes as_admin) may escalate: it hands
        approval power to someone new.
        """
        if not as_admin:
            raise NotAllowed("Only an administrator or the SLA scheduler can escalate a requisition.")

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            assert req.id is not None, "a locked requisition is a stored row"
            self._move(req, "escalate", now)
            policy = self._pinned_policy(session, req)
            moved: list[str] = []
            notes: list[str] = []
            pending = [s for s in self._stage_steps(session, req) if s.state == PENDING]
            # in "add" mode the original step stays open beside its escalation: only the newest link of
            # each chain climbs further, or every level would escalate the first approver again
            superseded = {s.escalated_from for s in pending if s.escalated_from}
            for step in [s for s in pending if s.id not in superseded]:
                target, passed_over = self._escalation_target(session, req, step, policy, cmd.to_person)
                notes.extend(passed_over)
                if target is None:
                    continue
                new = ApprovalStep(
                    requisition_id=req.id,
                    round=req.round,
                    stage_index=step.stage_index,
                    stage_name=step.stage_name,
                    mode=step.mode,
                    required=step.required,
                    approver=target,
                    acting=target,
                    state=PENDING,
                    rule_id=step.rule_id,
                    explanation=(
                        f"Escalated from {self._name(step.approver)}: {cmd.reason}"
                        + (f" ({'; '.join(passed_over)})" if passed_over else "")
                        + f". {step.explanation}"
                    )[:600],
                    sla_hours=step.sla_hours,
                    escalate_to=step.escalate_to,
                    escalation=step.escalation,
                    check_limits=step.check_limits,
                    escalated_from=step.id,
                    activated_at=now,
                )
                if step.escalation == "reassign" or step.mode != "any":
                    # all-of and quorum stages keep their count right by replacing, not adding
                    step.state, step.decided_at = StepState.ESCALATED, now
                    session.add(step)
                session.add(new)
                session.flush()
                moved.append(target)
                self._audit(
                    session,
                    req,
                    "escalated",
                    cmd.actor,
                    now,
                    cmd.surface,
                    {"approver": step.approver, "step": step.id},
                    {"approver": target, "mode": step.escalation, "reason": cmd.reason, "passed_over": passed_over},
                )
            if not moved:
                detail = f" ({'; '.join(notes)})" if notes else ""
                raise StaleAction(
                    f"{req.number} has no step that can be escalated further{detail}; "
                    "ask an administrator to reassign it."
                )
            return req, "escalated", f"{req.number} is escalated to {', '.join(self._name(p) for p in moved)}."

        return self._run(cmd, "escalate", body)

    def _escalation_target(
        self, session: Session, req: Requisition, step: ApprovalStep, policy: LoadedPolicy, to_person: str | None
    ) -> tuple[str | None, list[str]]:
        """The first eligible person for this step's escalation, and who was passed over and why."""
        if to_person:
            candidates = [to_person]
        elif step.escalate_to:
            spec = ApproverSpec.model_validate(step.escalate_to)
            candidates = [
                p.id
                for p in resolve_people(
                    spec, dict(req.facts), self.directory, approver=step.approver, escalations=policy.spec.escalations
                )
            ]
        else:
            candidates = []
        # with no eligible target, keep climbing the target's (or the approver's) manager chain
        start = candidates[-1] if candidates else step.approver
        candidates += [m for m in self.directory.manager_chain(start) if m not in candidates]
        passed_over: list[str] = []
        for person in candidates:
            if person == step.approver:
                continue
            why_not = self._why_not_approver(session, req, person, step, policy)
            if why_not is None:
                return person, passed_over
            passed_over.append(why_not)
        return None, passed_over
