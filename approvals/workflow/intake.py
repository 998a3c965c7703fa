"""Submitting, routing and amending requisitions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from approvals import audit, recurring
from approvals.commands import (
    Amend,
    SubmitDraft,
    SubmitRequisition,
)
from approvals.directory_store import pinned
from approvals.errors import (
    NotAllowed,
)
from approvals.history import recent_averages
from approvals.models import (
    ApprovalStep,
    Decision,
    PolicyVersion,
    Requisition,
    RequisitionLine,
)
from approvals.policy.loader import LoadedPolicy
from approvals.policy.routing import StagePlan, money, route
from approvals.policy_store import active_policy
from approvals.requisition import (
    RequisitionDraft,
    ResolvedLine,
    build_facts,
    dominant,
    resolve_lines,
    to_policy_currency,
)
from approvals.states import State
from approvals.workflow.base import (  # noqa: F401
    COMMITTED_STATES,
    PENDING,
    WAITING,
    ActionResult,
    ServiceBase,
    _fingerprint,
)


class IntakeActions(ServiceBase):
    """Submit, route, amend."""

    def submit(self, cmd: SubmitRequisition) -> ActionResult:
        """Create a requisition and route it (or keep it as a draft)."""
        if cmd.actor != cmd.draft.requester:
            raise NotAllowed("A requisition is submitted by its requester; ask them to submit it.")
        with Session(self.engine) as session:
            _, policy = active_policy(session)
        draft = recurring.dated(cmd.draft, self.clock(), self.directory)  # first release: today unless said
        self._check_draft(draft, policy)

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            version_row, policy = active_policy(session)
            req, lines = self._create(session, draft, policy, version_row, now, cmd.surface)
            self._audit(
                session,
                req,
                "created",
                cmd.actor,
                now,
                cmd.surface,
                after={
                    "state": req.state,
                    "total": req.total,
                    "currency": req.currency,
                    "supplier": req.supplier,
                    "site": req.site,
                    "cost_center": req.cost_center,
                },
            )
            if cmd.as_draft:
                return req, "draft", f"{req.number} is saved as a draft."
            return self._submit_and_route(
                session, req, policy, version_row, cmd.actor, now, cmd.surface, known=(draft, lines)
            )

        return self._run(cmd, "submit", body)

    def submit_draft(self, cmd: SubmitDraft) -> ActionResult:
        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            req = self._lock(session, cmd.number)
            if cmd.actor != req.requester:
                raise NotAllowed(f"Only {self._name(req.requester)} can submit {req.number}.")
            version_row, policy = active_policy(session)
            return self._submit_and_route(session, req, policy, version_row, cmd.actor, now, cmd.surface)

        return self._run(cmd, "submit_draft", body)

    def _create(
        self,
        session: Session,
        draft: RequisitionDraft,
        policy: LoadedPolicy,
        version_row: PolicyVersion,
        now: datetime,
        surface: str,
    ) -> tuple[Requisition, list[ResolvedLine]]:
        """The stored requisition and its resolved lines; the routing facts are built once, when it is routed."""
        lines = resolve_lines(draft, self.directory)
        category, item_type = dominant(lines)
        title = lines[0].description if len(lines) == 1 else f"{lines[0].description} and {len(lines) - 1} more"
        req = Requisition(
            title=title[:200],
            requester=draft.requester,
            site=draft.site,
            cost_center=draft.cost_center,
            supplier=draft.supplier,
            currency=draft.currency,
            total=draft.total,
            amount=to_policy_currency(draft.total, draft.currency, policy),
            category=category,
            item_type=item_type,
            urgency=draft.urgency,
            recurring=draft.recurring,
            need_by=draft.need_by,
            justification=draft.justification,
            state=State.DRAFT.value,
            policy_version_id=version_row.id,
            surface=surface,
            created_at=now,
            updated_at=now,
        )
        session.add(req)
        session.flush()
        req.number = f"PR-{1000 + (req.id or 0)}"
        self._write_lines(session, req, lines)
        if draft.schedule is not None:
            recurring.save(session, req, draft.schedule, now)
        return req, lines

    def _draft_of(self, session: Session, req: Requisition, lines: list[Any] | None = None) -> RequisitionDraft:
        if lines is None:
            rows = session.exec(
                select(RequisitionLine)
                .where(RequisitionLine.requisition_id == req.id)
                .order_by(col(RequisitionLine.line_no))
            ).all()
            lines = [
                {
                    "description": r.description,
                    "quantity": r.quantity,
                    "unit_price": r.unit_price,
                    "unit": r.unit,
                    "sku": r.sku,
                    "category": r.category,
                    "item_type": r.item_type,
                }
                for r in rows
            ]
        return RequisitionDraft(
            requester=req.requester,
            site=req.site,
            cost_center=req.cost_center,
            supplier=req.supplier,
            currency=req.currency,
            lines=lines,
            urgency=req.urgency,
            recurring=req.recurring,
            need_by=req.need_by,
            justification=req.justification,
            schedule=recurring.stored_draft(session, req.id),
        )

    def _submit_and_route(
        self,
        session: Session,
        req: Requisition,
        policy: LoadedPolicy,
        version_row: PolicyVersion,
        actor: str,
        now: datetime,
        surface: str,
        known: tuple[RequisitionDraft, list[ResolvedLine]] | None = None,
    ) -> tuple[Requisition, str, str]:
        before, _ = self._move(req, "submit", now)
        req.submitted_at = now
        req.policy_version_id = version_row.id
        self._audit(session, req, "submitted", actor, now, surface, {"state": before}, {"state": req.state})
        return self._route(session, req, policy, actor, now, surface, known)

    def _route(
        self,
        session: Session,
        req: Requisition,
        policy: LoadedPolicy,
        actor: str,
        now: datetime,
        surface: str,
        known: tuple[RequisitionDraft, list[ResolvedLine]] | None = None,
    ) -> tuple[Requisition, str, str]:
        """Route a stored requisition. `known`: the draft and resolved lines it was just created from, so a
        submit neither reads its lines back nor resolves them twice."""
        draft, lines = known if known is not None else (self._draft_of(session, req), None)
        committed = self.committed_spend(session, req.cost_center, req.id)
        history = recent_averages(session, req.requester, req.id)
        directory = pinned(self.directory)  # one directory version for the whole route, recorded with it
        facts = build_facts(draft, directory, policy, committed, lines, history)
        plan = route(facts, policy, directory, self._delegations(session, now), now)
        req.facts = audit.jsonable({k: v for k, v in facts.items()})
        req.amount = facts["amount"]
        req.directory_version_id = directory.version_id
        req.route = {
            **plan.to_dict(),
            "policy_label": policy.label,
            "policy_currency": policy.currency,
            "directory_version": directory.version_id,
            **recurring.route_entry(draft.schedule),
        }
        req.current_stage = 0
        before = req.state
        if plan.outcome == "stop":
            self._move(req, "stop", now)
            req.decided_at = now
            self._audit(
                session,
                req,
                "stopped",
                "policy",
                now,
                surface,
                {"state": before},
                {"state": req.state, "rule": plan.rule_id, "reason": plan.stop_reason},
            )
            return req, "stopped", f"{req.number} cannot go ahead: {plan.stop_reason}"
        if plan.outcome == "auto_approve":
            assert req.id is not None, "a requisition is routed once it is stored"
            self._move(req, "auto_approve", now)
            req.decided_at = now
            session.add(
                Decision(
                    requisition_id=req.id,
                    action="auto_approve",
                    actor="policy",
                    comment=plan.explanation,
                    surface=surface,
                    policy_version=policy.version,
                    created_at=now,
                )
            )
            self._audit(
                session,
                req,
                "auto_approved",
                "policy",
                now,
                surface,
                {"state": before},
                # who the policy tells, by id: the audit says who knew, not only the explanation's words
                {
                    "state": req.state,
                    "rule": plan.rule_id,
                    "explanation": plan.explanation,
                    "informed": list(plan.informed),
                },
            )
            return req, "auto_approved", f"{req.number} is approved automatically: {plan.explanation}."
        self._move(req, "route_to_approvers", now)
        self._create_steps(session, req, plan.stages, now)
        first = plan.stages[0]
        names = ", ".join(self._name(s.acting) for s in first.steps)
        self._audit(
            session,
            req,
            "routed",
            "policy",
            now,
            surface,
            {"state": before},
            {
                "state": req.state,
                "rule": plan.rule_id,
                "stages": plan.approvers,
                "explanation": plan.explanation,
                "notes": list(plan.notes),
                "informed": [list(stage.informed) for stage in plan.stages],  # by stage: told as it starts
            },
        )
        return req, "routed", f"{req.number} is with {names} ({first.name})."

    def _create_steps(self, session: Session, req: Requisition, stages: tuple[StagePlan, ...], now: datetime) -> None:
        assert req.id is not None, "steps are created for a stored requisition"
        for stage in stages:
            for step in stage.steps:
                session.add(
                    ApprovalStep(
                        requisition_id=req.id,
                        round=req.round,
                        stage_index=stage.index,
                        stage_name=stage.name,
                        mode=stage.mode,
                        required=stage.required,
                        approver=step.approver,
                        acting=step.acting,
                        state=PENDING if stage.index == 0 else WAITING,
                        rule_id=stage.rule_id,
                        explanation=step.explanation[:600],
                        sla_hours=stage.sla_hours,
                        escalate_to=stage.escalate_to,
                        escalation=stage.escalation,
                        check_limits=stage.check_limits,
                        activated_at=now if stage.index == 0 else None,
                    )
                )

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
            committed = self.committed_spend(session, req.cost_center, req.id)
            history = recent_averages(session, req.requester, req.id)
            facts = build_facts(draft, self.directory, policy, committed, history=history)
            # the tolerance is measured from the amount last routed and approved, so small amendments
            # cannot add up past it; a different category or item type is a different request
            routed = req.facts
            old_amount, new_amount = Decimal(str(routed.get("amount", req.amount))), facts["amount"]
            tolerance = policy.spec.settings.amend_tolerance
            increase = new_amount - old_amount
            changed_kind = (facts["category"], facts["item_type"]) != (routed.get("category"), routed.get("item_type"))
            needs_approval = (
                req.state == State.PENDING_APPROVAL.value
                or changed_kind
                or (increase > old_amount * tolerance.percent / 100 and increase > tolerance.amount)
            )
            for old_line in session.exec(select(RequisitionLine).where(RequisitionLine.requisition_id == req.id)).all():
                session.delete(old_line)
            session.flush()
            self._write_lines(session, req, resolve_lines(draft, self.directory))
            before = {"total": req.total, "amount": req.amount, "category": req.category, "state": req.state}
            req.total, req.amount = draft.total, new_amount
            req.category, req.item_type = facts["category"], facts["item_type"]
            self._audit(
                session,
                req,
                "amended",
                cmd.actor,
                now,
                cmd.surface,
                before,
                {"total": req.total, "amount": new_amount, "reason": cmd.reason},
            )
            cur = policy.currency
            if not needs_approval:
                return (
                    req,
                    "amended",
                    (
                        f"{req.number} is amended to {money(new_amount, cur)}; within the "
                        "tolerance, so it stays approved."
                    ),
                )
            self._cancel_waiting(session, req, now)
            self._close_info_requests(session, req, now)
            self._move(req, "resubmit", now)
            req.round += 1
            req.decided_at = None
            session.flush()
            req, outcome, message = self._route(session, req, policy, cmd.actor, now, cmd.surface)
            why = "its category or item type changed" if changed_kind else "beyond the tolerance"
            return (
                req,
                f"reapproval_{outcome}",
                (
                    f"{req.number} changed from {money(old_amount, cur)} to "
                    f"{money(new_amount, cur)}, {why}, so it goes back "
                    f"for approval. {message}"
                ),
            )

        return self._run(cmd, "amend", body)
