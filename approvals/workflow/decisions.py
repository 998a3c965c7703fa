"""Approver and requester decisions: approve, reject, ask and answer, withdraw.

Each is decided once, here, on a snapshot read under the requisition's row lock (approvals/snapshot.py),
into a plan of its writes (approvals/plan.py) that the service's hooks add to and one flush writes
(ServiceBase._act). The words people see when an action is refused live here only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert

from approvals import groups
from approvals.clock import as_utc
from approvals.columns import table_of
from approvals.commands import (
    AnswerInfo,
    Approve,
    Reject,
    RequestInfo,
    Withdraw,
)
from approvals.delegation import Barrier, acting_for, may_act_for, resolve_delegate
from approvals.eligibility import handovers, why_not_hold
from approvals.errors import (
    NotAllowed,
    StaleAction,
)
from approvals.models import InfoRequest
from approvals.plan import Plan, StepRow
from approvals.policy.routing import money
from approvals.snapshot import Snapshot
from approvals.states import DECIDED_STEPS, State, StepState, label
from approvals.workflow.base import (  # noqa: F401
    COMMITTED_STATES,
    PENDING,
    WAITING,
    ActionResult,
    ServiceBase,
    _fingerprint,
)

# the last decision on a requisition that is no longer open, as a past participle ("rejected by Maria Lopez")
_DONE = {"approve": "approved", "auto_approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}
_INFO_COLUMNS = (
    "id",
    "requisition_id",
    "step_id",
    "asked_by",
    "question",
    "asked_at",
    "answer",
    "answered_by",
    "answered_at",
    "state",
)
_NEW_INFO = insert(table_of(InfoRequest)).inline().values({c: bindparam(c) for c in _INFO_COLUMNS})


class DecisionActions(ServiceBase):
    """Decisions on the current stage."""

    def _delegate_barrier(self, snap: Snapshot, step: StepRow) -> Barrier:
        """Why someone may not take `step` over as a delegate: the controls the step's own approver had to pass
        (approvals.eligibility), applied to the delegate themselves."""
        req = snap.req
        settings = snap.policy().spec.settings
        currency = snap.policy().currency
        limits = step.check_limits and settings.approval_limits == "escalate"
        kept: list[dict[int, tuple[str, dict[str, str]]]] = []  # read once, when a delegation is in play

        def why(person_id: str) -> str | None:
            if not kept:
                kept.append(handovers(snap.route(), snap.steps))
            return why_not_hold(
                self.directory.person(person_id),
                person_id,
                stage_index=step.stage_index,
                steps=snap.steps,
                requester=req.requester,
                amount=req.amount,
                limits=limits,
                one_stage_each=not settings.same_approver_across_stages,
                money=lambda amount: money(amount, currency),
                provisional=kept[0],
            )

        return why

    def _actor_step(self, snap: Snapshot, actor: str, now: datetime, verb: str) -> tuple[StepRow, list[int]]:
        """The pending step this actor may decide and the delegations that let them (none for their own step), or
        a clear refusal (stale, not yours, a delegation a control stops, SoD)."""
        req = snap.req
        steps = snap.stage_steps()
        if actor == req.requester:
            raise NotAllowed(
                f"You requested {req.number}, so you cannot {verb} it. It waits for "
                f"{', '.join(self._name(p) for p in _waiting_on(steps)) or 'the approvers'}."
            )
        # authority comes from being the approver or from a delegation active now; `acting` is only
        # who was told, and may be out of date once a delegation ends. The actor's own step wins
        # over one held for someone else, so delegations are read only when they have none.
        mine = [s for s in steps if s.state == PENDING and s.approver == actor]
        through: dict[int, list[int]] = {}  # step id -> the delegations that let the actor take it
        if not mine:
            windows = snap.delegations(now)
            for s in steps:
                if s.state != PENDING:
                    continue
                barrier = self._delegate_barrier(snap, s)
                found = acting_for(
                    actor, s.approver, windows, now, category=req.category, amount=req.amount, requester=req.requester
                )
                reason = next((r for p in found.chain[1:] if (r := barrier(p))), None) if found else None
                if found is not None and reason is None:
                    mine.append(s)
                    through[s.id] = found.window_ids()
                elif found is not None:
                    # a delegation reaches the actor, but a control the approver had to pass stops it
                    stays = resolve_delegate(
                        s.approver,
                        windows,
                        now,
                        category=req.category,
                        amount=req.amount,
                        requester=req.requester,
                        barrier=barrier,
                    ).acting
                    raise NotAllowed(
                        f"You cannot {verb} {req.number} for {self._name(s.approver)}: {reason}. "
                        f"It stays with {self._name(stays)}."
                    )
        if mine:
            done = next((s for s in steps if s.decided_by == actor and s.state in DECIDED_STEPS), None)
            if done is not None:
                # one person counts once in a stage, even when they hold a step for someone else too
                raise StaleAction(
                    f"You already {done.state} {req.number} at this stage "
                    f"({self._when(done.decided_at, actor)}); it needs another approver.",
                    actor,
                    _decided_at(done).isoformat(),
                )
            # prefer the actor's own step over one held for someone else
            mine.sort(key=lambda s: s.approver != actor)
            step = mine[0]
            self._check_separation(snap, actor, step)
            return step, through.get(step.id, [])
        decided = [s for s in steps if s.state not in (PENDING, WAITING) and s.decided_by]
        involved = [s for s in steps if actor in (s.approver, s.acting, s.decided_by)]
        if involved or decided:
            last = max(decided, key=_decided_at) if decided else None
            if last is not None:
                raise StaleAction(
                    f"{req.number} was already {last.state.replace('_', ' ')} by {self._name(last.decided_by)} "
                    f"at {self._when(last.decided_at, actor)}; nothing more is needed from you at this stage.",
                    last.decided_by,
                    _decided_at(last).isoformat(),
                )
        waiting = ", ".join(self._name(p) for p in _waiting_on(steps)) or "nobody"
        mine_before = next((s for s in snap.steps if s.stage_index < req.current_stage and s.decided_by == actor), None)
        if mine_before is not None:
            raise StaleAction(
                f"You already {mine_before.state.replace('_', ' ')} {req.number} at stage "
                f"'{mine_before.stage_name}' ({self._when(mine_before.decided_at, actor)}); it now waits "
                f"for {waiting}.",
                actor,
                _decided_at(mine_before).isoformat(),
            )
        self._stale_if_stage_passed(snap, actor, now, waiting)
        raise NotAllowed(f"You are not an approver of {req.number} at this stage; it waits for {waiting}.")

    def _stale_if_stage_passed(self, snap: Snapshot, actor: str, now: datetime, waiting: str) -> None:
        """The loser of a race on an earlier stage (an any-of or quorum stage someone else completed, so the
        requisition moved on): say who acted and when, not that they are no approver."""
        req = snap.req
        windows = snap.delegations(now)
        held = [
            s
            for s in snap.steps
            if s.stage_index < req.current_stage
            and (
                actor in (s.approver, s.acting)
                or may_act_for(
                    actor, s.approver, windows, now, category=req.category, amount=req.amount, requester=req.requester
                )
            )
        ]
        if not held:
            return
        stage = max(s.stage_index for s in held)
        deciders = [s for s in snap.steps if s.stage_index == stage and s.decided_by and s.state in DECIDED_STEPS]
        if not deciders:
            return
        last = max(deciders, key=_decided_at)
        when = self._when(last.decided_at, actor)
        raise StaleAction(
            f"{req.number} was already {last.state} by {self._name(last.decided_by)} at {when} "
            f"at stage '{last.stage_name}'; nothing more is needed from you. It now waits for {waiting}.",
            last.decided_by,
            _decided_at(last).isoformat(),
        )

    def _still_needed(self, tree: dict[str, Any], stage: list[StepRow], status: dict[int, str]) -> str:
        """What a stage of groups still needs, in people's names ("Maria Lopez and one of: ...")."""
        held = groups.holders(stage)
        return groups.describe(tree, lambda i: self._name(held.get(i)), status) or "nothing more"

    def _separate(self, snap: Snapshot, plan: Plan, later: list[StepRow]) -> None:
        """Separation of duties decided by who acted (settings.separation_of_duties: acted): a step kept
        provisionally for someone who has now approved an earlier stage goes to the person routing named for that
        case, at once, so cards and the chain stop naming them; someone who did not act keeps it."""
        kept = handovers(snap.route(), later)  # the provisional steps still with the approver routing planned
        for s in later:
            if s.id not in kept:
                continue
            person, fallback = kept[s.id]
            acted = next(
                (
                    o
                    for o in snap.steps
                    if o.stage_index < s.stage_index
                    and o.state == StepState.APPROVED
                    and person in (o.decided_by, o.approver)
                ),
                None,
            )
            if acted is None:
                continue
            why = (
                f"{self._name(person)} approved '{acted.stage_name}', so '{s.stage_name}' goes to "
                f"{self._name(fallback['acting'])}"
            )
            before = {"step": s.id, "approver": s.approver, "acting": s.acting}
            plan.set_step(
                s, approver=fallback["approver"], acting=fallback["acting"], explanation=f"{why}. {s.explanation}"[:600]
            )
            plan.audit(
                "separated",
                "policy",
                before,
                {"step": s.id, "approver": fallback["approver"], "acting": fallback["acting"], "reason": why},
            )

    def _check_separation(self, snap: Snapshot, actor: str, step: StepRow) -> None:
        # a person's authority counts once per requisition, whether they used it themselves or
        # through a delegate: neither the actor nor the person they act for may have approved before
        identities = {actor, step.approver}
        earlier = [
            s
            for s in snap.steps
            if s.stage_index < step.stage_index
            and s.state == StepState.APPROVED
            and (s.decided_by in identities or s.approver in identities)
        ]
        if not earlier or snap.policy().spec.settings.same_approver_across_stages:
            return
        who = "You" if actor in (earlier[0].decided_by, earlier[0].approver) else self._name(step.approver)
        raise NotAllowed(
            f"{who} already approved {snap.req.number} at stage '{earlier[0].stage_name}'; policy "
            "requires a different person for each stage. Ask an administrator to reassign this step."
        )

    def _stale_if_final(self, snap: Snapshot, verb: str, reader: str | None = None) -> None:
        req = snap.req
        if req.state in (State.PENDING_APPROVAL.value, State.NEEDS_INFO.value):
            return
        last = snap.last_decision()  # (action, actor, created_at)
        state = label(req.state)
        done = _DONE.get(last[0], "last acted on") if last else ""
        who = f"{done} by {self._name(last[1])} at {self._when(last[2], reader)}" if last else ""
        if not last:
            what = f"is already {state}"
        elif done == state:  # "is already rejected by Maria Lopez at ..."
            what = f"is already {who}"
        else:  # "was approved by Zoe Martin at ... and is now awaiting the purchase order"
            what = f"was {who} and is now {state}"
        raise StaleAction(
            f"{req.number} {what}; you cannot {verb} it now.",
            last[1] if last else None,
            as_utc(last[2]).isoformat() if last else None,
        )

    def approve(self, cmd: Approve) -> ActionResult:
        def decide(snap: Snapshot, plan: Plan, now: datetime) -> tuple[str, str]:
            req = snap.req
            self._stale_if_final(snap, "approve", cmd.actor)
            if req.state == State.NEEDS_INFO.value:
                raise StaleAction(
                    f"{req.number} is waiting for the requester's answer to a question; "
                    "approve it once they have answered."
                )
            step, through = self._actor_step(snap, cmd.actor, now, "approve")
            on_behalf = step.approver if cmd.actor != step.approver else None
            plan.set_step(
                step,
                state=StepState.APPROVED,
                decided_by=cmd.actor,
                on_behalf_of=on_behalf,
                decided_at=now,
                comment=cmd.comment,
            )
            plan.decision("approve", cmd.actor, step_id=step.id, on_behalf_of=on_behalf, comment=cmd.comment)
            plan.audit(
                "approved_step",
                cmd.actor,
                {"step": step.id, "state": "pending"},
                {"step": step.id, "state": "approved", "stage": step.stage_name, "comment": cmd.comment}
                | _delegations(through),
                on_behalf_of=on_behalf,
            )
            later = [s for s in snap.steps if s.stage_index > step.stage_index and s.state == WAITING]
            if any(s.mode == GROUP for s in later):  # a stage with provisional steps is planned as a tree
                self._separate(snap, plan, later)
            stage = snap.stage_steps()
            tree = _tree(snap, step)
            if tree is not None:
                status = groups.statuses(stage)
                if not groups.satisfied(tree, status):
                    plan.set(updated_at=now, version=req.version + 1)
                    return "recorded", (
                        f"Your approval of {req.number} is recorded; stage '{step.stage_name}' still needs "
                        f"{self._still_needed(tree, stage, status)}."
                    )
            else:
                approved = len({s.decided_by for s in stage if s.state == StepState.APPROVED})
                if approved < step.required:
                    plan.set(updated_at=now, version=req.version + 1)
                    return "recorded", (
                        f"Your approval of {req.number} is recorded; {step.required - approved} more "
                        f"approval(s) needed at stage '{step.stage_name}'."
                    )
            for other in stage:
                if other.state == PENDING:
                    plan.set_step(other, state=StepState.NOT_NEEDED, decided_at=now)
            nxt = snap.stage_steps(req.current_stage + 1)
            if nxt:
                before = req.current_stage
                plan.move("advance_stage", updated_at=now, current_stage=before + 1)
                for s in nxt:
                    plan.set_step(s, state=PENDING, activated_at=now)
                if nxt[0].mode == GROUP:
                    self._separate(snap, plan, nxt)
                plan.audit(
                    "stage_completed",
                    cmd.actor,
                    {"stage": before},
                    {"stage": req.current_stage, "waiting_on": [s.acting for s in nxt]},
                )
                names = ", ".join(self._name(s.acting) for s in nxt)
                return "advanced", (
                    f"{req.number} passed '{step.stage_name}' and is now with {names} ({nxt[0].stage_name})."
                )
            before_state = plan.move("approve", updated_at=now, decided_at=now)
            plan.audit("approved", cmd.actor, {"state": before_state}, {"state": req.state})
            return "approved", f"{req.number} is approved."

        return self._act(cmd, "approve", decide, lines=True)

    def reject(self, cmd: Reject) -> ActionResult:
        def decide(snap: Snapshot, plan: Plan, now: datetime) -> tuple[str, str]:
            req = snap.req
            self._stale_if_final(snap, "reject", cmd.actor)
            step, through = self._actor_step(snap, cmd.actor, now, "reject")
            on_behalf = step.approver if cmd.actor != step.approver else None
            plan.set_step(
                step,
                state=StepState.REJECTED,
                decided_by=cmd.actor,
                on_behalf_of=on_behalf,
                decided_at=now,
                comment=cmd.reason,
            )
            plan.decision("reject", cmd.actor, step_id=step.id, on_behalf_of=on_behalf, comment=cmd.reason)
            stage = snap.stage_steps()
            still_possible = sum(1 for s in stage if s.state in (StepState.APPROVED, PENDING))
            tree = _tree(snap, step)
            if tree is not None:
                # a member of a quorum group votes no; anywhere else a rejection stops the request (approvals.groups)
                where = groups.positions(stage).get(step.id)
                status = groups.statuses(stage)
                if where is not None and not groups.vetoes(tree, where) and groups.possible(tree, status):
                    plan.set(updated_at=now, version=req.version + 1)
                    plan.audit(
                        "rejected_step",
                        cmd.actor,
                        {"step": step.id},
                        {"step": step.id, "state": "rejected", "reason": cmd.reason} | _delegations(through),
                        on_behalf_of=on_behalf,
                    )
                    return "recorded", (
                        f"Your rejection of {req.number} is recorded; stage '{step.stage_name}' can still be "
                        f"approved by {self._still_needed(tree, stage, status)}."
                    )
            elif step.mode == "quorum" and still_possible >= step.required:
                plan.set(updated_at=now, version=req.version + 1)
                plan.audit(
                    "rejected_step",
                    cmd.actor,
                    {"step": step.id},
                    {"step": step.id, "state": "rejected", "reason": cmd.reason} | _delegations(through),
                    on_behalf_of=on_behalf,
                )
                return "recorded", f"Your rejection of {req.number} is recorded; the quorum can still approve it."
            for other in stage:
                if other.state == PENDING:
                    plan.set_step(other, state=StepState.NOT_NEEDED, decided_at=now)
            _cancel_waiting(snap, plan, now)
            before = plan.move("reject", updated_at=now, decided_at=now)
            _close_info_requests(snap, plan, now)
            plan.audit(
                "rejected",
                cmd.actor,
                {"state": before},
                {"state": req.state, "reason": cmd.reason, "stage": step.stage_name} | _delegations(through),
                on_behalf_of=on_behalf,
            )
            return "rejected", f"{req.number} is rejected by {self._name(cmd.actor)}: {cmd.reason}"

        return self._act(cmd, "reject", decide, info=True)

    # ---------------------------------------------------------------- info requests
    def request_info(self, cmd: RequestInfo) -> ActionResult:
        def decide(snap: Snapshot, plan: Plan, now: datetime) -> tuple[str, str]:
            req = snap.req
            self._stale_if_final(snap, "ask about", cmd.actor)
            step, through = self._actor_step(snap, cmd.actor, now, "ask about")
            before = plan.move("request_info", updated_at=now)
            info = snap.ask(step.id, cmd.actor)
            plan.insert(
                _NEW_INFO,
                {
                    "id": info.id,
                    "requisition_id": req.id,
                    "step_id": step.id,
                    "asked_by": cmd.actor,
                    "question": cmd.question,
                    "asked_at": now,
                    "answer": None,
                    "answered_by": None,
                    "answered_at": None,
                    "state": "open",
                },
            )
            plan.decision(
                "request_info",
                cmd.actor,
                step_id=step.id,
                on_behalf_of=step.approver if cmd.actor != step.approver else None,
                comment=cmd.question,
            )
            plan.audit(
                "info_requested",
                cmd.actor,
                {"state": before},
                {"state": req.state, "question": cmd.question, "step": step.id} | _delegations(through),
            )
            return "info_requested", f"{self._name(cmd.actor)} asked about {req.number}: {cmd.question}"

        return self._act(cmd, "request_info", decide)

    def answer_info(self, cmd: AnswerInfo) -> ActionResult:
        def decide(snap: Snapshot, plan: Plan, now: datetime) -> tuple[str, str]:
            req = snap.req
            if cmd.actor != req.requester:
                raise NotAllowed(
                    f"Only the requester, {self._name(req.requester)}, can answer questions on {req.number}."
                )
            info = snap.open_info()
            if info is None:
                raise StaleAction(f"There is no open question on {req.number}; it is {label(req.state)}.")
            before = plan.move("answer_info", updated_at=now)
            plan.set_info(info.id, answer=cmd.answer, answered_by=cmd.actor, answered_at=now, state="answered")
            plan.decision("answer_info", cmd.actor, step_id=info.step_id, comment=cmd.answer)
            plan.audit("info_answered", cmd.actor, {"state": before}, {"state": req.state, "answer": cmd.answer})
            return "answered", f"{req.number} is back with {self._name(info.asked_by)} with your answer."

        return self._act(cmd, "answer_info", decide, info=True)

    def withdraw(self, cmd: Withdraw, *, as_admin: bool = False) -> ActionResult:
        def decide(snap: Snapshot, plan: Plan, now: datetime) -> tuple[str, str]:
            req = snap.req
            if cmd.actor != req.requester and not as_admin:
                raise NotAllowed(f"Only {self._name(req.requester)} (the requester) can withdraw {req.number}.")
            before = plan.move("withdraw", updated_at=now)
            _cancel_waiting(snap, plan, now)
            _close_info_requests(snap, plan, now)
            plan.set(decided_at=now)
            plan.decision("withdraw", cmd.actor, comment=cmd.reason)
            plan.audit("withdrawn", cmd.actor, {"state": before}, {"state": req.state, "reason": cmd.reason})
            return "withdrawn", f"{req.number} is withdrawn."

        return self._act(cmd, "withdraw", decide, info=True)


GROUP = "group"  # the mode of a stage decided by its tree of groups (approvals.groups)


def _route_stage(snap: Snapshot, index: int) -> dict[str, Any] | None:
    stages = snap.route().get("stages") or []
    return stages[index] if 0 <= index < len(stages) else None


def _tree(snap: Snapshot, step: StepRow) -> dict[str, Any] | None:
    """The stage's tree of groups when routing planned one; the route is read only for such a stage."""
    if step.mode != GROUP:
        return None
    entry = _route_stage(snap, step.stage_index)
    return entry.get("group") if entry else None


def _decided_at(step: StepRow) -> datetime:
    """When a decided step was decided: every decision (approve, reject, escalate, not needed) stamps the time."""
    assert step.decided_at is not None, f"step {step.id} is {step.state} without a time"
    return as_utc(step.decided_at)


def _waiting_on(steps: list[StepRow]) -> list[str]:
    return [s.acting for s in steps if s.state == PENDING]


def _cancel_waiting(snap: Snapshot, plan: Plan, now: datetime) -> None:
    """Every step of the round still to decide is cancelled (the requisition is closed)."""
    for s in snap.steps:
        if s.state in (PENDING, WAITING):
            plan.set_step(s, state=StepState.CANCELLED, decided_at=now)


def _close_info_requests(snap: Snapshot, plan: Plan, now: datetime) -> None:
    for info in snap.open_infos():
        plan.set_info(info.id, state="closed", answered_at=now)


def _delegations(ids: list[int]) -> dict[str, list[int]]:
    """For an audit event: the exact delegations an actor acted through, when they acted for someone else."""
    return {"delegations": ids} if ids else {}
