"""Delegation windows: who may act for whom, when, and within what scope. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Callable

# Why a person may not take a step over (their approval limit, another stage they hold ...), or None if they may:
# the caller's controls, applied at every hop of a delegation chain (approvals.eligibility).
Barrier = Callable[[str], str | None]

MAX_CHAIN = 10


@dataclass(frozen=True)
class DelegationWindow:
    delegator: str
    delegate: str
    starts_at: datetime
    ends_at: datetime
    category: str | None = None
    max_amount: Decimal | None = None
    id: int | None = None

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def covers(self, at: datetime, category: str | None, amount: Decimal | None) -> bool:
        if not self.active(at):
            return False
        if self.category and category and self.category != category:
            return False
        if self.max_amount is not None and amount is not None and amount > self.max_amount:
            return False
        return True


@dataclass(frozen=True)
class DelegateResolution:
    acting: str  # who actually receives the work (the end of the chain)
    chain: tuple[str, ...]  # principal first, acting last
    note: str = ""
    windows: tuple[DelegationWindow, ...] = ()  # the window behind each hop of the chain, in order

    def window_ids(self) -> list[int]:
        """The delegations used, for the audit: exactly these windows put the step with `acting`."""
        return [w.id for w in self.windows if w.id is not None]


def in_force(
    windows: list[DelegationWindow] | tuple[DelegationWindow, ...],
    at: datetime,
    *,
    category: str | None = None,
    amount: Decimal | None = None,
) -> dict[str, DelegationWindow]:
    """The one window in force for each delegator. When several cover the moment (and the category and amount),
    the one that started last wins, and of two that started together the one made last (the higher id): a
    person who sets a new delegation over an older one means the new one."""
    chosen: dict[str, DelegationWindow] = {}
    for w in windows:
        if not w.covers(at, category, amount):
            continue
        held = chosen.get(w.delegator)
        if held is None or (w.starts_at, w.id or 0) > (held.starts_at, held.id or 0):
            chosen[w.delegator] = w
    return chosen


def resolve_delegate(
    principal: str,
    windows: list[DelegationWindow] | tuple[DelegationWindow, ...],
    at: datetime,
    *,
    category: str | None = None,
    amount: Decimal | None = None,
    requester: str | None = None,
    barrier: Barrier | None = None,
    name: Callable[[str], str] = str,
) -> DelegateResolution:
    """Follow active delegations from `principal` (A -> B -> C); stop before a loop, the requester, or anyone
    `barrier` names a reason for (a delegation never lends authority a control would refuse).

    The chain stops at the last eligible person and the note says why (people named by `name`).
    """
    chain = [principal]
    used: list[DelegationWindow] = []
    note = ""
    by_delegator = in_force(windows, at, category=category, amount=amount)
    current = principal
    while current in by_delegator and len(chain) <= MAX_CHAIN:
        window = by_delegator[current]
        nxt = window.delegate
        if nxt in chain:
            note = f"delegation loop at {name(nxt)} ignored"
            break
        if requester and nxt == requester:
            note = (
                f"{name(nxt)} is the requester and cannot approve their own request, so it stays with {name(current)}"
            )
            break
        reason = barrier(nxt) if barrier else None
        if reason:
            note = f"{reason}, so it stays with {name(current)}"
            break
        chain.append(nxt)
        used.append(window)
        current = nxt
    return DelegateResolution(chain[-1], tuple(chain), note, tuple(used))


def acting_for(
    actor: str,
    principal: str,
    windows: list[DelegationWindow] | tuple[DelegationWindow, ...],
    at: datetime,
    *,
    category: str | None = None,
    amount: Decimal | None = None,
    requester: str | None = None,
    barrier: Barrier | None = None,
) -> DelegateResolution | None:
    """How `actor` may act for `principal` now: the chain up to the actor (its windows name the delegations
    used), or None when no delegation in force, within the controls, reaches them."""
    resolution = resolve_delegate(
        principal, windows, at, category=category, amount=amount, requester=requester, barrier=barrier
    )
    if actor not in resolution.chain[1:]:
        return None
    hops = resolution.chain.index(actor)
    return DelegateResolution(actor, resolution.chain[: hops + 1], "", resolution.windows[:hops])


def may_act_for(
    actor: str,
    principal: str,
    windows: list[DelegationWindow] | tuple[DelegationWindow, ...],
    at: datetime,
    *,
    category: str | None = None,
    amount: Decimal | None = None,
    requester: str | None = None,
    barrier: Barrier | None = None,
) -> bool:
    """True if `actor` is the principal or someone in the principal's active delegation chain."""
    if actor == principal:
        return True
    found = acting_for(
        actor, principal, windows, at, category=category, amount=amount, requester=requester, barrier=barrier
    )
    return found is not None


def would_create_loop(new: DelegationWindow, existing: list[DelegationWindow]) -> list[str] | None:
    """The loop a new delegation would close (A -> B -> ... -> A) during its window, or None."""
    if new.delegate == new.delegator:
        return [new.delegator, new.delegator]
    overlapping = [w for w in existing if w.starts_at < new.ends_at and new.starts_at < w.ends_at]
    edges: dict[str, list[str]] = {}
    for w in overlapping + [new]:
        edges.setdefault(w.delegator, []).append(w.delegate)
    # depth-first from the new delegate looking for the delegator
    stack = [(new.delegate, [new.delegator, new.delegate])]
    while stack:
        node, path = stack.pop()
        for nxt in edges.get(node, []):
            if nxt == new.delegator:
                return path + [nxt]
            if nxt not in path:
                stack.append((nxt, path + [nxt]))
    return None
