"""Delegation windows: who may act for whom, when, and within what scope. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

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


def resolve_delegate(
    principal: str,
    windows: list[DelegationWindow] | tuple[DelegationWindow, ...],
    at: datetime,
    *,
    category: str | None = None,
    amount: Decimal | None = None,
    requester: str | None = None,
) -> DelegateResolution:
    """Follow active delegations from `principal` (A -> B -> C); stop before a loop or the requester.

    A delegate can never be the requester: the chain stops at the last eligible person and the
    note says why.
    """
    chain = [principal]
    note = ""
    by_delegator: dict[str, DelegationWindow] = {}
    for w in windows:
        if w.covers(at, category, amount):
            # the most recently started window wins when several overlap
            held = by_delegator.get(w.delegator)
            if held is None or w.starts_at > held.starts_at:
                by_delegator[w.delegator] = w
    current = principal
    while current in by_delegator and len(chain) <= MAX_CHAIN:
        nxt = by_delegator[current].delegate
        if nxt in chain:
            note = f"delegation loop at {nxt} ignored"
            break
        if requester and nxt == requester:
            note = f"{nxt} is the requester and cannot approve their own request, so it stays with {current}"
            break
        chain.append(nxt)
        current = nxt
    return DelegateResolution(chain[-1], tuple(chain), note)


def may_act_for(
    actor: str,
    principal: str,
    windows: list[DelegationWindow] | tuple[DelegationWindow, ...],
    at: datetime,
    *,
    category: str | None = None,
    amount: Decimal | None = None,
    requester: str | None = None,
) -> bool:
    """True if `actor` is the principal or someone in the principal's active delegation chain."""
    if actor == principal:
        return True
    resolution = resolve_delegate(principal, windows, at, category=category, amount=amount, requester=requester)
    return actor in resolution.chain[1:]


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
