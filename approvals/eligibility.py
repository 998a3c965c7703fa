"""Who may hold or decide an approval step once a route exists: one rule for a delegate taking a step over (when a
window starts and when they tap) and for an administrator's reassign. Pure: the caller passes the steps of the
requisition's round and the policy's settings.

Routing applies the same controls while it plans (approvals.policy.routing): the requester never approves, nobody
approves two stages unless the policy allows it, and on a stage that checks limits nobody approves more than their
own approval limit, whoever they act for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Iterable, Protocol

from approvals.directory import Person
from approvals.states import StepState

# steps that give a person a part in a stage: their turn, a turn to come, or a decision they made
_HELD = (StepState.PENDING, StepState.WAITING, StepState.APPROVED, StepState.REJECTED)


class StepLike(Protocol):
    @property
    def stage_index(self) -> int: ...
    @property
    def stage_name(self) -> str: ...
    @property
    def approver(self) -> str: ...
    @property
    def acting(self) -> str: ...
    @property
    def decided_by(self) -> str | None: ...
    @property
    def state(self) -> str: ...


def other_stage(person_id: str, stage_index: int, steps: Iterable[StepLike]) -> StepLike | None:
    """A step at another stage of the round that `person_id` holds, acts on or decided, if any."""
    for s in steps:
        if s.stage_index != stage_index and s.state in _HELD and person_id in (s.approver, s.acting, s.decided_by):
            return s
    return None


def why_not_hold(
    person: Person | None,
    person_id: str,
    *,
    stage_index: int,
    steps: Iterable[StepLike],
    requester: str,
    amount: Decimal,
    limits: bool,
    one_stage_each: bool,
    money: Callable[[Decimal], str] = str,
) -> str | None:
    """Why `person_id` may not hold a step of stage `stage_index`, or None if they may.

    `limits`: the stage checks approval limits (the step's check_limits and the policy's approval_limits);
    `one_stage_each`: the policy wants a different person for each stage; `money` writes an amount as people read it.
    """
    if person is None:
        return f"{person_id} is not in the directory"
    if not person.active:
        return f"{person.name} has left"
    if person_id == requester:
        return f"{person.name} is the requester and cannot approve their own request"
    if one_stage_each:
        held = other_stage(person_id, stage_index, steps)
        if held is not None:
            return f"{person.name} is already an approver at stage '{held.stage_name}'"
    if limits and person.approval_limit < amount:
        return f"{person.name}'s approval limit {money(person.approval_limit)} is below {money(amount)}"
    return None
