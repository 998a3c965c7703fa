"""The approval workflow: typed commands in, one transaction each, audited, idempotent.

Every action locks the requisition row (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE
on SQLite) before it reads the steps, so two approvers tapping at once on any number of
processes give one decision; the other is told who acted. Every action may carry an
idempotency key: the same key returns the stored result and never acts twice.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from approvals import audit
from approvals.clock import Clock, as_utc, utcnow
from approvals.commands import (Amend, AnswerInfo, Approve, CancelDelegation, Escalate, Reassign, Reject,
                                RequestInfo, SetDelegation, SubmitDraft, SubmitRequisition, Withdraw)
from approvals.db import transaction
from approvals.delegation import DelegationWindow, may_act_for, would_create_loop
from approvals.directory import Directory
from approvals.errors import (ConflictingRetry, FieldError, NotAllowed, NotFound, StaleAction,
                              ValidationFailed)
from approvals.models import (ApprovalStep, CommandLog, Decision, Delegation, InfoRequest, PolicyVersion,
                              Requisition, RequisitionLine)
from approvals.policy.loader import LoadedPolicy
from approvals.policy.routing import RoutePlan, StagePlan, money, resolve_people, route
from approvals.policy.schema import ApproverSpec
from approvals.policy_store import active_policy, policy_by_id
from approvals.requisition import RequisitionDraft, build_facts, resolve_lines, validate_draft
from approvals.states import State, next_state
from approvals.views import RequisitionView, build_view

COMMITTED_STATES = (State.APPROVED.value, State.PO_PENDING.value, State.PO_CREATED.value)
PENDING, WAITING = "pending", "waiting"
# The idempotency key of the command running in this context, re-checked under the row lock.
_current_key: ContextVar[tuple[str, str, str] | None] = ContextVar("_current_key", default=None)


class _AlreadyDone(Exception):
    """Raised under the row lock when another process finished the same keyed command first."""


@dataclass(frozen=True)
class ActionResult:
    number: str
    outcome: str
    message: str
    requisition: RequisitionView
    replayed: bool = False


def _fingerprint(command: Any) -> str:
    payload = command.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class ApprovalService:
    """The one entry point every surface (API, web chat, Slack, Teams, CLI, scheduler) uses."""

    def __init__(self, engine: Engine, directory: Directory, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.directory = directory
        self.clock = clock

    # ---------------------------------------------------------------- plumbing
    def _run(self, command: Any, name: str, body: Callable[[Session, datetime], tuple[Requisition, str, str]]
             ) -> ActionResult:
        key = command.idempotency_key
        fingerprint = _fingerprint(command)
        if key:
            replay = self._replay(key, name, fingerprint)
            if replay:
                return replay
        token = _current_key.set((key, name, fingerprint) if key else None)
        try:
            with transaction(self.engine) as session:
                now = self.clock()
                req, outcome, message = body(session, now)
                if key:
                    session.add(CommandLog(key=key, command=name, fingerprint=fingerprint, requisition_id=req.id,
                                           result={"number": req.number, "outcome": outcome, "message": message},
                                           created_at=now))
                    session.flush()
                view = build_view(session, req, self.directory)
        except (IntegrityError, _AlreadyDone):
            # Another process stored this key between our check and our commit: its result stands.
            replay = self._replay(key, name, fingerprint) if key else None
            if replay:
                return replay
            raise
        finally:
            _current_key.reset(token)
        return ActionResult(view.number, outcome, message, view)

    def _replay(self, key: str, name: str, fingerprint: str) -> ActionResult | None:
        with Session(self.engine) as session:
            row = session.get(CommandLog, key)
            if row is None:
                return None
            if row.command != name or row.fingerprint != fingerprint:
                raise ConflictingRetry(f"Idempotency key {key!r} was already used for a different {row.command} "
                                       "command; use a new key for a new action.")
            req = session.get(Requisition, row.requisition_id)
            assert req is not None
            view = build_view(session, req, self.directory)
            return ActionResult(view.number, row.result["outcome"], row.result["message"], view, replayed=True)

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

    # ---------------------------------------------------------------- submit
    def _check_draft(self, draft: RequisitionDraft, policy: LoadedPolicy) -> None:
        errors = validate_draft(draft, self.directory, policy)
        if errors:
            raise ValidationFailed(errors)

    def committed_spend(self, session: Session, cost_center: str, exclude_id: int | None = None) -> Decimal:
        query = select(func.coalesce(func.sum(Requisition.amount), 0)).where(
            Requisition.cost_center == cost_center, Requisition.state.in_(COMMITTED_STATES))  # type: ignore[attr-defined]
        if exclude_id is not None:
            query = query.where(Requisition.id != exclude_id)
        return Decimal(str(session.exec(query).one()))

    def submit(self, cmd: SubmitRequisition) -> ActionResult:
        """Create a requisition and route it (or keep it as a draft)."""
        if cmd.actor != cmd.draft.requester:
            raise NotAllowed("A requisition is submitted by its requester; ask them to submit it.")
        with Session(self.engine) as session:
            _, policy = active_policy(session)
        self._check_draft(cmd.draft, policy)

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            version_row, policy = active_policy(session)
            req = self._create(session, cmd.draft, policy, version_row, now, cmd.surface)
            self._audit(session, req, "created", cmd.actor, now, cmd.surface,
                        after={"state": req.state, "total": req.total, "currency": req.currency,
                               "supplier": req.supplier, "site": req.site, "cost_center": req.cost_center})
            if cmd.as_draft:
                return req, "draft", f"{req.number} is saved as a draft."
            return self._submit_and_route(session, req, policy, version_row, cmd.actor, now, cmd.surface)

        return self._run(cmd, "submit", body)

    def submit_draft(self, cmd: SubmitDraft) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            if cmd.actor != req.requester:
                raise NotAllowed(f"Only {self._name(req.requester)} can submit {req.number}.")
            version_row, policy = active_policy(session)
            return self._submit_and_route(session, req, policy, version_row, cmd.actor, now, cmd.surface)

        return self._run(cmd, "submit_draft", body)

    def _create(self, session: Session, draft: RequisitionDraft, policy: LoadedPolicy,
                version_row: PolicyVersion, now: datetime, surface: str) -> Requisition:
        lines = resolve_lines(draft, self.directory)
        facts = build_facts(draft, self.directory, policy)
        title = lines[0].description if len(lines) == 1 else f"{lines[0].description} and {len(lines) - 1} more"
        req = Requisition(title=title[:200], requester=draft.requester, site=draft.site,
                          cost_center=draft.cost_center, supplier=draft.supplier, currency=draft.currency,
                          total=draft.total, amount=facts["amount"], category=facts["category"],
                          item_type=facts["item_type"], urgency=draft.urgency, recurring=draft.recurring,
                          need_by=draft.need_by, justification=draft.justification, state=State.DRAFT.value,
                          policy_version_id=version_row.id, surface=surface, created_at=now, updated_at=now)
        session.add(req)
        session.flush()
        req.number = f"PR-{1000 + (req.id or 0)}"
        for i, line in enumerate(lines, start=1):
            session.add(RequisitionLine(requisition_id=req.id, line_no=i, description=line.description,  # type: ignore[arg-type]
                                        sku=line.sku, quantity=line.quantity, unit_price=line.unit_price,
                                        unit=line.unit, category=line.category, item_type=line.item_type,
                                        total=line.total))
        return req

    def _draft_of(self, session: Session, req: Requisition, lines: list[Any] | None = None) -> RequisitionDraft:
        if lines is None:
            rows = session.exec(select(RequisitionLine).where(RequisitionLine.requisition_id == req.id)
                                .order_by(RequisitionLine.line_no)).all()
            lines = [{"description": r.description, "quantity": r.quantity, "unit_price": r.unit_price,
                      "unit": r.unit, "sku": r.sku, "category": r.category, "item_type": r.item_type} for r in rows]
        return RequisitionDraft(requester=req.requester, site=req.site, cost_center=req.cost_center,
                                supplier=req.supplier, currency=req.currency, lines=lines, urgency=req.urgency,  # type: ignore[arg-type]
                                recurring=req.recurring, need_by=req.need_by, justification=req.justification)

    def _submit_and_route(self, session: Session, req: Requisition, policy: LoadedPolicy,
                          version_row: PolicyVersion, actor: str, now: datetime, surface: str
                          ) -> tuple[Requisition, str, str]:
        before, _ = self._move(req, "submit", now)
        req.submitted_at = now
        req.policy_version_id = version_row.id
        self._audit(session, req, "submitted", actor, now, surface, {"state": before}, {"state": req.state})
        return self._route(session, req, policy, actor, now, surface)

    def _route(self, session: Session, req: Requisition, policy: LoadedPolicy, actor: str, now: datetime,
               surface: str) -> tuple[Requisition, str, str]:
        draft = self._draft_of(session, req)
        facts = build_facts(draft, self.directory, policy, self.committed_spend(session, req.cost_center, req.id))
        plan = route(facts, policy, self.directory, self._delegations(session, now), now)
        req.facts = audit.jsonable({k: v for k, v in facts.items()})
        req.amount = facts["amount"]
        req.route = {**plan.to_dict(), "policy_label": policy.label, "policy_currency": policy.currency}
        req.current_stage = 0
        before = req.state
        if plan.outcome == "stop":
            self._move(req, "stop", now)
            req.decided_at = now
            self._audit(session, req, "stopped", "policy", now, surface, {"state": before},
                        {"state": req.state, "rule": plan.rule_id, "reason": plan.stop_reason})
            return req, "stopped", f"{req.number} cannot go ahead: {plan.stop_reason}"
        if plan.outcome == "auto_approve":
            self._move(req, "auto_approve", now)
            req.decided_at = now
            session.add(Decision(requisition_id=req.id, action="auto_approve", actor="policy",  # type: ignore[arg-type]
                                 comment=plan.explanation, surface=surface, policy_version=policy.version,
                                 created_at=now))
            self._audit(session, req, "auto_approved", "policy", now, surface, {"state": before},
                        {"state": req.state, "rule": plan.rule_id, "explanation": plan.explanation})
            return req, "auto_approved", f"{req.number} is approved automatically: {plan.explanation}."
        self._move(req, "route_to_approvers", now)
        self._create_steps(session, req, plan.stages, now)
        first = plan.stages[0]
        names = ", ".join(self._name(s.acting) for s in first.steps)
        self._audit(session, req, "routed", "policy", now, surface, {"state": before},
                    {"state": req.state, "rule": plan.rule_id, "stages": plan.approvers,
                     "explanation": plan.explanation, "notes": list(plan.notes)})
        return req, "routed", f"{req.number} is with {names} ({first.name})."

    def _create_steps(self, session: Session, req: Requisition, stages: tuple[StagePlan, ...], now: datetime) -> None:
        for stage in stages:
            for step in stage.steps:
                session.add(ApprovalStep(
                    requisition_id=req.id, round=req.round, stage_index=stage.index, stage_name=stage.name,  # type: ignore[arg-type]
                    mode=stage.mode, required=stage.required, approver=step.approver, acting=step.acting,
                    state=PENDING if stage.index == 0 else WAITING, rule_id=stage.rule_id,
                    explanation=step.explanation[:600], sla_hours=stage.sla_hours, escalate_to=stage.escalate_to,
                    escalation=stage.escalation, activated_at=now if stage.index == 0 else None))

    # ---------------------------------------------------------------- decisions
    def _stage_steps(self, session: Session, req: Requisition, stage: int | None = None) -> list[ApprovalStep]:
        stage = req.current_stage if stage is None else stage
        return list(session.exec(select(ApprovalStep).where(
            ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round,
            ApprovalStep.stage_index == stage).order_by(ApprovalStep.id)).all())

    def _actor_step(self, session: Session, req: Requisition, actor: str, now: datetime, verb: str) -> ApprovalStep:
        """The pending step this actor may decide, or a clear refusal (stale, not yours, SoD)."""
        if actor == req.requester:
            raise NotAllowed(f"You requested {req.number}, so you cannot {verb} it. It waits for "
                             f"{', '.join(self._name(p) for p in self._waiting_on(session, req)) or 'the approvers'}.")
        steps = self._stage_steps(session, req)
        # authority comes from being the approver or from a delegation active now; `acting` is only
        # who was told, and may be out of date once a delegation ends. The actor's own step wins
        # over one held for someone else, so delegations are read only when they have none.
        mine = [s for s in steps if s.state == PENDING and s.approver == actor]
        if not mine:
            windows = self._delegations(session, now)
            mine = [s for s in steps if s.state == PENDING and may_act_for(
                actor, s.approver, windows, now, category=req.category, amount=req.amount, requester=req.requester)]
        if mine:
            # prefer the actor's own step over one held for someone else
            mine.sort(key=lambda s: s.approver != actor)
            step = mine[0]
            self._check_separation(session, req, actor, step)
            return step
        decided = [s for s in steps if s.state not in (PENDING, WAITING) and s.decided_by]
        involved = [s for s in steps if actor in (s.approver, s.acting, s.decided_by)]
        if involved or decided:
            last = max(decided, key=lambda s: as_utc(s.decided_at)) if decided else None  # type: ignore[arg-type,return-value]
            if last is not None:
                raise StaleAction(
                    f"{req.number} was already {last.state.replace('_', ' ')} by {self._name(last.decided_by)} "
                    f"at {self._when(last.decided_at)}; nothing more is needed from you at this stage.",
                    last.decided_by, as_utc(last.decided_at).isoformat())  # type: ignore[union-attr]
        waiting = ", ".join(self._name(p) for p in self._waiting_on(session, req)) or "nobody"
        mine_before = session.exec(select(ApprovalStep).where(
            ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round,
            ApprovalStep.stage_index < req.current_stage, ApprovalStep.decided_by == actor)).first()
        if mine_before is not None:
            raise StaleAction(f"You already {mine_before.state.replace('_', ' ')} {req.number} at stage "
                              f"'{mine_before.stage_name}' ({self._when(mine_before.decided_at)}); it now waits "
                              f"for {waiting}.", actor, as_utc(mine_before.decided_at).isoformat())  # type: ignore[union-attr]
        raise NotAllowed(f"You are not an approver of {req.number} at this stage; it waits for {waiting}.")

    def _check_separation(self, session: Session, req: Requisition, actor: str, step: ApprovalStep) -> None:
        if step.stage_index == 0:
            return  # no earlier stage to have approved in
        policy = self._pinned_policy(session, req)
        if policy.spec.settings.same_approver_across_stages:
            return
        earlier = session.exec(select(ApprovalStep).where(
            ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round,
            ApprovalStep.stage_index < step.stage_index, ApprovalStep.decided_by == actor,
            ApprovalStep.state == "approved")).first()
        if earlier is not None:
            raise NotAllowed(f"You already approved {req.number} at stage '{earlier.stage_name}'; policy requires "
                             "a different person for each stage. Ask an administrator to reassign this step.")

    def _waiting_on(self, session: Session, req: Requisition) -> list[str]:
        return [s.acting for s in self._stage_steps(session, req) if s.state == PENDING]

    def _stale_if_final(self, session: Session, req: Requisition, verb: str) -> None:
        if req.state in (State.PENDING_APPROVAL.value, State.NEEDS_INFO.value):
            return
        last = session.exec(select(Decision).where(Decision.requisition_id == req.id)
                            .order_by(Decision.id.desc())).first()  # type: ignore[union-attr]
        who = f" by {self._name(last.actor)} at {self._when(last.created_at)}" if last else ""
        raise StaleAction(f"{req.number} is already {req.state.replace('_', ' ')}{who}; you cannot {verb} it now.",
                          last.actor if last else None, as_utc(last.created_at).isoformat() if last else None)  # type: ignore[union-attr]

    def approve(self, cmd: Approve) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            self._stale_if_final(session, req, "approve")
            if req.state == State.NEEDS_INFO.value:
                raise StaleAction(f"{req.number} is waiting for the requester's answer to a question; "
                                  "approve it once they have answered.")
            step = self._actor_step(session, req, cmd.actor, now, "approve")
            on_behalf = step.approver if cmd.actor != step.approver else None
            self._decide_step(step, "approved", cmd.actor, on_behalf, cmd.comment, now)
            session.add(Decision(requisition_id=req.id, step_id=step.id, action="approve", actor=cmd.actor,  # type: ignore[arg-type]
                                 on_behalf_of=on_behalf, comment=cmd.comment, surface=cmd.surface,
                                 policy_version=req.route.get("policy_version", ""), created_at=now))
            self._audit(session, req, "approved_step", cmd.actor, now, cmd.surface,
                        {"step": step.id, "state": "pending"},
                        {"step": step.id, "state": "approved", "stage": step.stage_name, "comment": cmd.comment},
                        on_behalf_of=on_behalf)
            return self._after_approval(session, req, step, cmd.actor, now, cmd.surface)

        return self._run(cmd, "approve", body)

    def _decide_step(self, step: ApprovalStep, state: str, actor: str, on_behalf: str | None,
                     comment: str | None, now: datetime) -> None:
        step.state, step.decided_by, step.on_behalf_of = state, actor, on_behalf
        step.decided_at, step.comment = now, comment

    def _after_approval(self, session: Session, req: Requisition, step: ApprovalStep, actor: str, now: datetime,
                        surface: str) -> tuple[Requisition, str, str]:
        # this stage and the next in one read; the row lock keeps both as they are, and nothing
        # pending changes which rows match, so the flush can wait and send both audit events at once
        with session.no_autoflush:
            both = session.exec(select(ApprovalStep).where(
                ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round,
                ApprovalStep.stage_index.in_((req.current_stage, req.current_stage + 1)))  # type: ignore[attr-defined]
                .order_by(ApprovalStep.id)).all()
        steps = [s for s in both if s.stage_index == req.current_stage]
        approved = sum(1 for s in steps if s.state == "approved")
        if approved < step.required:
            left = step.required - approved
            req.updated_at, req.version = now, req.version + 1
            return req, "recorded", (f"Your approval of {req.number} is recorded; {left} more approval(s) needed "
                                     f"at stage '{step.stage_name}'.")
        for other in steps:
            if other.state == PENDING:
                other.state, other.decided_at = "not_needed", now
                session.add(other)
        nxt = [s for s in both if s.stage_index == req.current_stage + 1]
        if nxt:
            before = req.current_stage
            self._move(req, "advance_stage", now)
            req.current_stage += 1
            for s in nxt:
                s.state, s.activated_at = PENDING, now
                session.add(s)
            self._audit(session, req, "stage_completed", actor, now, surface, {"stage": before},
                        {"stage": req.current_stage, "waiting_on": [s.acting for s in nxt]})
            names = ", ".join(self._name(s.acting) for s in nxt)
            return req, "advanced", f"{req.number} passed '{step.stage_name}' and is now with {names} ({nxt[0].stage_name})."
        before_state, _ = self._move(req, "approve", now)
        req.decided_at = now
        self._audit(session, req, "approved", actor, now, surface, {"state": before_state}, {"state": req.state})
        return req, "approved", f"{req.number} is approved."

    def reject(self, cmd: Reject) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            self._stale_if_final(session, req, "reject")
            step = self._actor_step(session, req, cmd.actor, now, "reject")
            on_behalf = step.approver if cmd.actor != step.approver else None
            self._decide_step(step, "rejected", cmd.actor, on_behalf, cmd.reason, now)
            session.add(Decision(requisition_id=req.id, step_id=step.id, action="reject", actor=cmd.actor,  # type: ignore[arg-type]
                                 on_behalf_of=on_behalf, comment=cmd.reason, surface=cmd.surface,
                                 policy_version=req.route.get("policy_version", ""), created_at=now))
            steps = self._stage_steps(session, req)
            still_possible = sum(1 for s in steps if s.state in ("approved", PENDING))
            if step.mode == "quorum" and still_possible >= step.required:
                req.updated_at, req.version = now, req.version + 1
                self._audit(session, req, "rejected_step", cmd.actor, now, cmd.surface, {"step": step.id},
                            {"step": step.id, "state": "rejected", "reason": cmd.reason}, on_behalf_of=on_behalf)
                return req, "recorded", f"Your rejection of {req.number} is recorded; the quorum can still approve it."
            for other in steps:
                if other.state == PENDING:
                    other.state, other.decided_at = "not_needed", now
                    session.add(other)
            self._cancel_waiting(session, req, now)
            before, _ = self._move(req, "reject", now)
            req.decided_at = now
            self._close_info_requests(session, req, now)
            self._audit(session, req, "rejected", cmd.actor, now, cmd.surface, {"state": before},
                        {"state": req.state, "reason": cmd.reason, "stage": step.stage_name}, on_behalf_of=on_behalf)
            return req, "rejected", f"{req.number} is rejected by {self._name(cmd.actor)}: {cmd.reason}"

        return self._run(cmd, "reject", body)

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

    # ---------------------------------------------------------------- info requests
    def request_info(self, cmd: RequestInfo) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            self._stale_if_final(session, req, "ask about")
            step = self._actor_step(session, req, cmd.actor, now, "ask about")
            before, _ = self._move(req, "request_info", now)
            info = InfoRequest(requisition_id=req.id, step_id=step.id, asked_by=cmd.actor,  # type: ignore[arg-type]
                               question=cmd.question, asked_at=now)
            session.add(info)
            session.add(Decision(requisition_id=req.id, step_id=step.id, action="request_info", actor=cmd.actor,  # type: ignore[arg-type]
                                 on_behalf_of=step.approver if cmd.actor != step.approver else None,
                                 comment=cmd.question, surface=cmd.surface,
                                 policy_version=req.route.get("policy_version", ""), created_at=now))
            self._audit(session, req, "info_requested", cmd.actor, now, cmd.surface, {"state": before},
                        {"state": req.state, "question": cmd.question, "step": step.id})
            return req, "info_requested", (f"{self._name(cmd.actor)} asked about {req.number}: {cmd.question}")

        return self._run(cmd, "request_info", body)

    def answer_info(self, cmd: AnswerInfo) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            if cmd.actor != req.requester:
                raise NotAllowed(f"Only the requester, {self._name(req.requester)}, can answer questions on {req.number}.")
            info = session.exec(select(InfoRequest).where(InfoRequest.requisition_id == req.id,
                                                          InfoRequest.state == "open")
                                .order_by(InfoRequest.id.desc())).first()  # type: ignore[union-attr]
            if info is None:
                raise StaleAction(f"There is no open question on {req.number}; it is {req.state.replace('_', ' ')}.")
            before, _ = self._move(req, "answer_info", now)
            info.answer, info.answered_by, info.answered_at, info.state = cmd.answer, cmd.actor, now, "answered"
            session.add(info)
            session.add(Decision(requisition_id=req.id, step_id=info.step_id, action="answer_info", actor=cmd.actor,  # type: ignore[arg-type]
                                 comment=cmd.answer, surface=cmd.surface,
                                 policy_version=req.route.get("policy_version", ""), created_at=now))
            self._audit(session, req, "info_answered", cmd.actor, now, cmd.surface, {"state": before},
                        {"state": req.state, "answer": cmd.answer})
            return req, "answered", f"{req.number} is back with {self._name(info.asked_by)} with your answer."

        return self._run(cmd, "answer_info", body)

    # ---------------------------------------------------------------- withdraw, reassign, escalate
    def withdraw(self, cmd: Withdraw, *, as_admin: bool = False) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            if cmd.actor != req.requester and not as_admin:
                raise NotAllowed(f"Only {self._name(req.requester)} (the requester) can withdraw {req.number}.")
            before, _ = self._move(req, "withdraw", now)
            self._cancel_waiting(session, req, now)
            self._close_info_requests(session, req, now)
            req.decided_at = now
            session.add(Decision(requisition_id=req.id, action="withdraw", actor=cmd.actor, comment=cmd.reason,  # type: ignore[arg-type]
                                 surface=cmd.surface, policy_version=req.route.get("policy_version", ""),
                                 created_at=now))
            self._audit(session, req, "withdrawn", cmd.actor, now, cmd.surface, {"state": before},
                        {"state": req.state, "reason": cmd.reason})
            return req, "withdrawn", f"{req.number} is withdrawn."

        return self._run(cmd, "withdraw", body)

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

    # ---------------------------------------------------------------- amendments
    def amend(self, cmd: Amend) -> ActionResult:
        """Change the lines; above the policy tolerance it goes back for approval under its pinned policy."""

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            if cmd.actor != req.requester:
                raise NotAllowed(f"Only {self._name(req.requester)} (the requester) can amend {req.number}.")
            self._move(req, "amend", now)
            policy = self._pinned_policy(session, req)
            draft = self._draft_of(session, req, [line.model_dump() for line in cmd.lines])
            self._check_draft(draft, policy)
            facts = build_facts(draft, self.directory, policy, self.committed_spend(session, req.cost_center, req.id))
            old_amount, new_amount = req.amount, facts["amount"]
            tolerance = policy.spec.settings.amend_tolerance
            increase = new_amount - old_amount
            needs_approval = (req.state == State.PENDING_APPROVAL.value or
                              (increase > old_amount * tolerance.percent / 100 and increase > tolerance.amount))
            for old_line in session.exec(select(RequisitionLine).where(RequisitionLine.requisition_id == req.id)).all():
                session.delete(old_line)
            session.flush()
            for i, line in enumerate(resolve_lines(draft, self.directory), start=1):
                session.add(RequisitionLine(requisition_id=req.id, line_no=i, description=line.description,  # type: ignore[arg-type]
                                            sku=line.sku, quantity=line.quantity, unit_price=line.unit_price,
                                            unit=line.unit, category=line.category, item_type=line.item_type,
                                            total=line.total))
            before = {"total": req.total, "amount": old_amount, "state": req.state}
            req.total, req.amount = draft.total, new_amount
            self._audit(session, req, "amended", cmd.actor, now, cmd.surface, before,
                        {"total": req.total, "amount": new_amount, "reason": cmd.reason})
            cur = policy.currency
            if not needs_approval:
                return req, "amended", (f"{req.number} is amended to {money(new_amount, cur)}; within the "
                                        "tolerance, so it stays approved.")
            self._cancel_waiting(session, req, now)
            self._close_info_requests(session, req, now)
            self._move(req, "resubmit", now)
            req.round += 1
            req.decided_at = None
            session.flush()
            req, outcome, message = self._route(session, req, policy, cmd.actor, now, cmd.surface)
            return req, f"reapproval_{outcome}", (f"{req.number} changed from {money(old_amount, cur)} to "
                                                  f"{money(new_amount, cur)}, beyond the tolerance, so it goes back "
                                                  f"for approval. {message}")

        return self._run(cmd, "amend", body)

    # ---------------------------------------------------------------- delegations
    def set_delegation(self, cmd: SetDelegation, *, as_admin: bool = False) -> Delegation:
        if cmd.actor != cmd.delegator and not as_admin:
            raise NotAllowed("You can only set a delegation for yourself; an administrator can set one for others.")
        errors = []
        for fld in ("delegator", "delegate"):
            if getattr(cmd, fld) not in self.directory.person_by_id:
                errors.append(FieldError(fld, f"unknown person {getattr(cmd, fld)!r}"))
        if cmd.delegate == cmd.delegator:
            errors.append(FieldError("delegate", "you cannot delegate to yourself"))
        if cmd.category and cmd.category not in self.directory.category_by_code:
            errors.append(FieldError("category", f"unknown category {cmd.category!r}"))
        if errors:
            raise ValidationFailed(errors)
        new = DelegationWindow(cmd.delegator, cmd.delegate, as_utc(cmd.starts_at), as_utc(cmd.ends_at),  # type: ignore[arg-type]
                               cmd.category, cmd.max_amount)
        if cmd.idempotency_key:
            with Session(self.engine) as session:
                prior = session.get(CommandLog, cmd.idempotency_key)
                if prior is not None:
                    if prior.fingerprint != _fingerprint(cmd):
                        raise ConflictingRetry(f"Idempotency key {cmd.idempotency_key!r} was used for another command.")
                    row = session.get(Delegation, prior.result["delegation_id"])
                    assert row is not None
                    return row
        with transaction(self.engine) as session:
            now = self.clock()
            # the audit chain lock serializes delegation writers, so the loop check sees every window
            audit.lock_chain(session)
            existing = self._delegations(session, now)
            loop = would_create_loop(new, existing)
            if loop:
                raise ValidationFailed([FieldError("delegate", "this would make a delegation loop: "
                                                   + " -> ".join(self._name(p) for p in loop))])
            row = Delegation(delegator=cmd.delegator, delegate=cmd.delegate, starts_at=new.starts_at,
                             ends_at=new.ends_at, category=cmd.category, max_amount=cmd.max_amount,
                             reason=cmd.reason, created_by=cmd.actor, created_at=now)
            session.add(row)
            session.flush()
            audit.append_event(session, kind="delegation_set", actor=cmd.actor, at=now, surface=cmd.surface,
                               after={"id": row.id, "delegator": row.delegator, "delegate": row.delegate,
                                      "starts_at": row.starts_at, "ends_at": row.ends_at,
                                      "category": row.category, "max_amount": row.max_amount})
            if cmd.idempotency_key:
                session.add(CommandLog(key=cmd.idempotency_key, command="set_delegation",
                                       fingerprint=_fingerprint(cmd), result={"delegation_id": row.id},
                                       created_at=now))
            return row

    def cancel_delegation(self, cmd: CancelDelegation, *, as_admin: bool = False) -> Delegation:
        with transaction(self.engine) as session:
            now = self.clock()
            row = session.exec(select(Delegation).where(Delegation.id == cmd.delegation_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"There is no delegation {cmd.delegation_id}.")
            if cmd.actor not in (row.delegator, row.created_by) and not as_admin:
                raise NotAllowed("Only the person who delegated (or an administrator) can end this delegation.")
            if row.cancelled_at is not None:
                return row
            row.cancelled_at = now
            session.add(row)
            # work the delegate was holding goes back to the delegator
            for step in session.exec(select(ApprovalStep).where(ApprovalStep.approver == row.delegator,
                                                                ApprovalStep.acting == row.delegate,
                                                                ApprovalStep.state.in_((PENDING, WAITING)))).all():  # type: ignore[attr-defined]
                step.acting = step.approver
                session.add(step)
            audit.append_event(session, kind="delegation_cancelled", actor=cmd.actor, at=now, surface=cmd.surface,
                               before={"id": row.id, "delegator": row.delegator, "delegate": row.delegate})
            return row

    def delegations(self, *, person: str | None = None, include_ended: bool = False) -> list[Delegation]:
        with Session(self.engine) as session:
            query = select(Delegation).order_by(Delegation.starts_at)
            if person:
                query = query.where((Delegation.delegator == person) | (Delegation.delegate == person))
            if not include_ended:
                query = query.where(Delegation.cancelled_at == None, Delegation.ends_at > self.clock())  # noqa: E711
            return list(session.exec(query).all())

    # ---------------------------------------------------------------- reads
    def get(self, number: str) -> RequisitionView:
        with Session(self.engine) as session:
            req = session.exec(select(Requisition).where(Requisition.number == number.strip().upper())).first()
            if req is None:
                raise NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")
            return build_view(session, req, self.directory)

    def list(self, *, state: str | None = None, requester: str | None = None, site: str | None = None,
             supplier: str | None = None, cost_center: str | None = None, waiting_on: str | None = None,
             limit: int = 50, offset: int = 0) -> list[RequisitionView]:
        with Session(self.engine) as session:
            query = select(Requisition)
            for column, value in ((Requisition.state, state), (Requisition.requester, requester),
                                  (Requisition.site, site), (Requisition.supplier, supplier),
                                  (Requisition.cost_center, cost_center)):
                if value:
                    query = query.where(column == value)
            if waiting_on:
                sub = select(ApprovalStep.requisition_id).where(ApprovalStep.acting == waiting_on,
                                                                ApprovalStep.state == PENDING)
                query = query.where(Requisition.id.in_(sub))  # type: ignore[union-attr]
            query = query.order_by(Requisition.id.desc()).offset(offset).limit(min(limit, 500))  # type: ignore[union-attr]
            return [build_view(session, r, self.directory) for r in session.exec(query).all()]
