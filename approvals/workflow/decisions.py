"""Approver and requester decisions: approve, reject, ask and answer, withdraw."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from approvals.clock import as_utc
from approvals.commands import (
    AnswerInfo,
    Approve,
    Reject,
    RequestInfo,
    Withdraw,
)
from approvals.delegation import may_act_for
from approvals.errors import (
    NotAllowed,
    StaleAction,
)
from approvals.models import (
    ApprovalStep,
    Decision,
    InfoRequest,
    Requisition,
)
from approvals.states import State, label
from approvals.workflow.base import (  # noqa: F401
    COMMITTED_STATES,
    PENDING,
    WAITING,
    ActionResult,
    ServiceBase,
    _current_key,
    _fingerprint,
)
from approvals.workflow.fast_approve import try_fast_approve

# the last decision on a requisition that is no longer open, as a past participle ("rejected by Maria Lopez")
_DONE = {"approve": "approved", "auto_approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}


class DecisionActions(ServiceBase):
    """Decisions on the current stage."""

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
            done = next((s for s in steps if s.decided_by == actor and s.state in ("approved", "rejected")), None)
            if done is not None:
                # one person counts once in a stage, even when they hold a step for someone else too
                raise StaleAction(f"You already {done.state} {req.number} at this stage "
                                  f"({self._when(done.decided_at)}); it needs another approver.",
                                  actor, as_utc(done.decided_at).isoformat())  # type: ignore[union-attr]
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
        # a person's authority counts once per requisition, whether they used it themselves or
        # through a delegate: neither the actor nor the person they act for may have approved before
        identities = {actor, step.approver}
        earlier = [s for s in session.exec(select(ApprovalStep).where(
            ApprovalStep.requisition_id == req.id, ApprovalStep.round == req.round,
            ApprovalStep.stage_index < step.stage_index, ApprovalStep.state == "approved")).all()
            if s.decided_by in identities or s.approver in identities]
        if earlier:
            who = "You" if actor in (earlier[0].decided_by, earlier[0].approver) else self._name(step.approver)
            raise NotAllowed(f"{who} already approved {req.number} at stage '{earlier[0].stage_name}'; policy requires "
                             "a different person for each stage. Ask an administrator to reassign this step.")

    def _stale_if_final(self, session: Session, req: Requisition, verb: str) -> None:
        if req.state in (State.PENDING_APPROVAL.value, State.NEEDS_INFO.value):
            return
        last = session.exec(select(Decision).where(Decision.requisition_id == req.id)
                            .order_by(Decision.id.desc())).first()  # type: ignore[union-attr]
        state = label(req.state)
        done = _DONE.get(last.action, "last acted on") if last else ""
        who = f"{done} by {self._name(last.actor)} at {self._when(last.created_at)}" if last else ""
        if not last:
            what = f"is already {state}"
        elif done == state:  # "is already rejected by Maria Lopez at ..."
            what = f"is already {who}"
        else:  # "was approved by Zoe Martin at ... and is now awaiting the purchase order"
            what = f"was {who} and is now {state}"
        raise StaleAction(f"{req.number} {what}; you cannot {verb} it now.",
                          last.actor if last else None, as_utc(last.created_at).isoformat() if last else None)  # type: ignore[union-attr]

    def approve(self, cmd: Approve) -> ActionResult:
        postgres = self.engine.dialect.name == "postgresql"

        def body(session: Session, now: datetime) -> tuple[Requisition, str, str]:
            if postgres:
                keyed = _current_key.get()
                fast = try_fast_approve(self, session, cmd, now, keyed[2] if keyed else "")
                if fast is not None:
                    return fast
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
        approved = len({s.decided_by for s in steps if s.state == "approved"})
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
            return req, "advanced", (f"{req.number} passed '{step.stage_name}' and is now with {names} "
                                     f"({nxt[0].stage_name}).")
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
                raise NotAllowed(f"Only the requester, {self._name(req.requester)}, can answer questions on "
                                 f"{req.number}.")
            info = session.exec(select(InfoRequest).where(InfoRequest.requisition_id == req.id,
                                                          InfoRequest.state == "open")
                                .order_by(InfoRequest.id.desc())).first()  # type: ignore[union-attr]
            if info is None:
                raise StaleAction(f"There is no open question on {req.number}; it is {label(req.state)}.")
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
