"""Groups inside a stage: when the stage is satisfied, whether it still can be, and what it still needs.

A stage whose policy writes its approvers as groups ("the manager AND (the procurement director OR a senior
buyer)") carries a tree in its route (approvals.policy.routing.StagePlan.group), as plain data:

    {"mode": "all" | "any" | "quorum", "need": N, "name": str | None, "members": [node or step position]}

A member that is a number is a step position: the stage's N-th step as routing planned it (in id order, so the
N-th step written). An escalated step stands for the step it came from. One person counts once in a stage:
a step whose approver already approved another step of the stage counts as approved, as on a flat stage.

Rejections: a member of an any-of or all-of group who rejects stops the request (as on a flat stage); a member
of a quorum group only votes no, and the request is rejected once the tree can no longer be satisfied.

Pure: the callers (the decider, the views) pass the stage's steps.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Protocol

from approvals.states import StepState

APPROVED, OPEN, REJECTED, GONE = "approved", "open", "rejected", "gone"
_RANK = {APPROVED: 3, OPEN: 2, REJECTED: 1, GONE: 0}
Node = dict[str, Any]


class StepLike(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def approver(self) -> str: ...
    @property
    def acting(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def decided_by(self) -> str | None: ...
    @property
    def escalated_from(self) -> int | None: ...


def positions(steps: Iterable[StepLike]) -> dict[int, int]:
    """Step id -> the position it stands for: the stage's original steps in id order, escalations following
    the step they came from."""
    steps = list(steps)
    by_id = {s.id: s for s in steps if s.id is not None}
    roots = sorted(s.id for s in steps if s.escalated_from is None and s.id is not None)
    at = {sid: i for i, sid in enumerate(roots)}
    out: dict[int, int] = {}
    for s in steps:
        current, hops = s, 0
        while current.escalated_from is not None and current.escalated_from in by_id and hops < 50:
            current, hops = by_id[current.escalated_from], hops + 1
        if s.id is not None and current.id in at:
            out[s.id] = at[current.id]
    return out


def statuses(steps: Iterable[StepLike]) -> dict[int, str]:
    """Position -> approved, open, rejected or gone (escalated away, not needed, cancelled)."""
    steps = list(steps)
    where = positions(steps)
    approvers = {s.decided_by for s in steps if s.state == StepState.APPROVED and s.decided_by}
    out: dict[int, str] = {}
    for s in steps:
        if s.id is None or s.id not in where:
            continue
        if s.state == StepState.APPROVED:
            status = APPROVED
        elif s.state in (StepState.PENDING, StepState.WAITING):
            # one person counts once: their approval elsewhere in the stage covers this step too
            status = APPROVED if s.approver in approvers else OPEN
        elif s.state == StepState.REJECTED:
            status = REJECTED
        else:
            status = GONE
        i = where[s.id]
        if i not in out or _RANK[status] > _RANK[out[i]]:  # an escalation's approval counts for its step
            out[i] = status
    return out


def holders(steps: Iterable[StepLike]) -> dict[int, str]:
    """Position -> who holds it now (the acting person of its open step, else its approver), to name them."""
    steps = list(steps)
    where = positions(steps)
    out: dict[int, str] = {}
    for s in sorted(steps, key=lambda s: s.id or 0):
        if s.id is None or s.id not in where:
            continue
        if s.state in (StepState.PENDING, StepState.WAITING) or where[s.id] not in out:
            out[where[s.id]] = s.acting
    return out


def _count(node: Node, test: Callable[[Any], bool]) -> int:
    return sum(1 for m in node["members"] if test(m))


def satisfied(node: Node, status: dict[int, str]) -> bool:
    """The group has the approvals it needs."""

    def holds(m: Any) -> bool:
        return status.get(m) == APPROVED if isinstance(m, int) else satisfied(m, status)

    return _count(node, holds) >= node["need"]


def possible(node: Node, status: dict[int, str]) -> bool:
    """The group can still get the approvals it needs."""

    def can(m: Any) -> bool:
        return status.get(m) in (APPROVED, OPEN) if isinstance(m, int) else possible(m, status)

    return _count(node, can) >= node["need"]


def parent_mode(node: Node, position: int) -> str | None:
    """The mode of the innermost group holding step `position`."""
    for m in node["members"]:
        if m == position and isinstance(m, int):
            return str(node["mode"])
        if isinstance(m, dict):
            found = parent_mode(m, position)
            if found is not None:
                return found
    return None


def vetoes(node: Node, position: int) -> bool:
    """A rejection at `position` stops the request outright (any-of and all-of groups), rather than counting as one
    vote against (quorum groups)."""
    return parent_mode(node, position) != "quorum"


def minimum(node: Node) -> int:
    """The fewest approvals that satisfy the group (its members being different people)."""
    sizes = sorted(1 if isinstance(m, int) else minimum(m) for m in node["members"])
    return sum(sizes[: node["need"]])


def describe(node: Node, name: Callable[[int], str], status: dict[int, str] | None = None) -> str:
    """What the group still needs, in words: "Maria Lopez and one of: Dana Reyes or Sam Ortiz". With no statuses,
    the whole group as planned. Empty when it is satisfied. A group inside is put in parentheses unless it comes
    last, where the sentence ends with it anyway ("A, (one of: B or C) and 2 of: D, E, F")."""
    status = status if status is not None else {}
    if status and satisfied(node, status):
        return ""
    parts: list[tuple[str, bool]] = []  # (text, is a group)
    for m in node["members"]:
        if isinstance(m, int):
            if status.get(m, OPEN) == OPEN:
                parts.append((name(m), False))
        elif not (status and satisfied(m, status)) and (not status or possible(m, status)):
            text = describe(m, name, status)
            if text:
                parts.append((text, " of: " in f" {text}"))
    parts = list(dict.fromkeys(parts))
    if not parts:
        return ""
    texts = [f"({text})" if group and i < len(parts) - 1 else text for i, (text, group) in enumerate(parts)]
    if node["mode"] == "all" or len(texts) == 1 and node["mode"] != "quorum":
        return _join(texts, "and")
    if node["mode"] == "any":
        return "one of: " + _join(texts, "or")
    done = _count(node, lambda m: (status.get(m) == APPROVED) if isinstance(m, int) else satisfied(m, status))
    return f"{node['need'] - done} of: " + ", ".join(texts)


def provisional_note(who: str, stage: str, earlier: str, then: str | None) -> str:
    """How a plan and a card say that a step is kept provisionally (separation_of_duties: acted)."""
    after = f"it goes to {then}" if then else "an administrator must reassign it"
    return f"{who} takes '{stage}' unless they approve '{earlier}'; if they do, {after}"


def _join(parts: list[str], word: str) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {word} {parts[-1]}"
