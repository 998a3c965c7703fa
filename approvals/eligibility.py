"""Who may hold or decide an approval step once a route exists: one rule for a delegate taking a step over (when a
window starts and when they tap) and for an administrator's reassign. Pure: the caller passes the steps of the
requisition's round and the policy's settings.

Routing applies the same controls while it plans (approvals.policy.routing): the requester never approves, nobody
approves two stages unless the policy allows it, and on a stage that checks limits nobody approves more than their
own approval limit, whoever they act for.

Separation of duties decided by who acted (settings.separation_of_duties: acted) keeps some later steps only
provisionally: their holder keeps them unless they approve an earlier stage, and then the step goes to the person
routing named for that case (`handovers`). Such a step is not a part that person holds now: it does not stop them
holding a step elsewhere, since acting there hands it on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Protocol

from approvals import groups
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


class RoundStep(StepLike, Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def escalated_from(self) -> int | None: ...


def handovers(route: Mapping[str, Any] | None, steps: Iterable[RoundStep]) -> dict[int, tuple[str, dict[str, str]]]:
    """The round's steps still kept provisionally: step id -> (the person whose approval of an earlier stage hands
    the step on, who takes it then: {approver, approver_name, acting}).

    Only steps that have not started and are still with the approver routing planned count; a step with no one to
    hand it to is not listed (its holder is refused at their tap instead, and an administrator reassigns it)."""
    stages = list((route or {}).get("stages") or ())
    by_stage: dict[int, list[RoundStep]] = {}
    for s in steps:
        by_stage.setdefault(s.stage_index, []).append(s)
    out: dict[int, tuple[str, dict[str, str]]] = {}
    for index, stage in by_stage.items():
        planned = list(stages[index].get("steps") or ()) if 0 <= index < len(stages) else []
        if not any(p.get("provisional") for p in planned):
            continue
        where = groups.positions(stage)
        for s in stage:
            if s.id is None or s.escalated_from is not None:
                continue
            i = where.get(s.id)
            if i is None or i >= len(planned):
                continue
            info = planned[i]
            fallback = info.get("fallback")
            if not info.get("provisional") or not fallback or s.approver != info.get("approver"):
                continue
            if s.state not in (StepState.WAITING, StepState.PENDING):
                continue
            # the approver's own earlier approval hands it on; when only their delegate was on the earlier stage,
            # the delegate's (and the step goes back to the approver)
            person = info["acting"] if fallback["approver"] == info["approver"] else info["approver"]
            out[s.id] = (person, fallback)
    return out


def other_stage(
    person_id: str,
    stage_index: int,
    steps: Iterable[StepLike],
    provisional: Mapping[int, tuple[str, dict[str, str]]] | None = None,
) -> StepLike | None:
    """A step at another stage of the round that `person_id` holds, acts on or decided, if any.

    `provisional` (`handovers`): a later step kept for this person only until they approve an earlier stage is not
    held, since acting here hands it on."""
    for s in steps:
        if s.stage_index == stage_index or s.state not in _HELD:
            continue
        if person_id not in (s.approver, s.acting, s.decided_by):
            continue
        kept = provisional.get(getattr(s, "id", None) or -1) if provisional else None
        if kept is not None and kept[0] == person_id and s.stage_index > stage_index:
            continue
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
    provisional: Mapping[int, tuple[str, dict[str, str]]] | None = None,
) -> str | None:
    """Why `person_id` may not hold a step of stage `stage_index`, or None if they may.

    `limits`: the stage checks approval limits (the step's check_limits and the policy's approval_limits);
    `one_stage_each`: the policy wants a different person for each stage; `money` writes an amount as people read it;
    `provisional`: the round's provisional steps (`handovers`), which do not count as held.
    """
    if person is None:
        return f"{person_id} is not in the directory"
    if not person.active:
        return f"{person.name} has left"
    if person_id == requester:
        return f"{person.name} is the requester and cannot approve their own request"
    if one_stage_each:
        held = other_stage(person_id, stage_index, steps, provisional)
        if held is not None:
            return f"{person.name} is already an approver at stage '{held.stage_name}'"
    if limits and person.approval_limit < amount:
        return f"{person.name}'s approval limit {money(person.approval_limit)} is below {money(amount)}"
    return None
