"""Who may see a requisition: one pure check every surface and the API use.

A person sees a requisition when they requested it, approve or approved it (any step, any decision), act for
someone who does through an active delegation, or hold a role that covers it: procurement, finance,
executives, auditors and admins wherever their role applies; the site's managers and regional directors for
their own sites. Everyone else is told the same as for a number that does not exist (`hidden`), so numbers
cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from approvals.clock import as_utc
from approvals.delegation import DelegationWindow
from approvals.directory import Directory

# roles that see every requisition at the sites their grant covers (usually every site)
COVERING_ROLES = frozenset(
    {
        "buyer",
        "category_manager",
        "procurement",
        "procurement_director",
        "finance",
        "finance_controller",
        "ap_analyst",
        "cfo",
        "coo",
        "ceo",
        "auditor",
        "admin",
    }
)
# roles that see the requisitions of their own sites (their grant's sites)
SITE_ROLES = frozenset({"warehouse_manager", "site_manager", "branch_manager", "regional_ops_director"})


class _Step(Protocol):
    @property
    def approver(self) -> str: ...
    @property
    def acting(self) -> str: ...
    @property
    def decided_by(self) -> str | None: ...
    @property
    def on_behalf_of(self) -> str | None: ...


class _Decision(Protocol):
    @property
    def actor(self) -> str: ...
    @property
    def on_behalf_of(self) -> str | None: ...


class Viewable(Protocol):
    """What the check reads of a requisition (approvals.views.RequisitionView has it all)."""

    @property
    def requester(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def steps(self) -> Sequence[_Step]: ...
    @property
    def decisions(self) -> Sequence[_Decision]: ...


def active_windows(rows: Iterable[Any], at: datetime) -> list[DelegationWindow]:
    """The delegation windows of stored rows (approvals.models.Delegation) active at `at`."""
    out = []
    for r in rows:
        starts, ends = as_utc(r.starts_at), as_utc(r.ends_at)
        if r.cancelled_at is None and starts <= at < ends:
            out.append(DelegationWindow(r.delegator, r.delegate, starts, ends, r.category, r.max_amount, r.id))
    return out


def participants(view: Viewable) -> set[str]:
    """Everyone a requisition involves by name: its requester and every approver, actor and principal."""
    people = {view.requester}
    for step in view.steps:
        people.update(p for p in (step.approver, step.acting, step.decided_by, step.on_behalf_of) if p)
    for decision in view.decisions:
        people.update(p for p in (decision.actor, decision.on_behalf_of) if p)
    return people


def can_see(
    person: str,
    view: Viewable,
    directory: Directory,
    delegations: Iterable[DelegationWindow] = (),
    *,
    at: datetime | None = None,
) -> bool:
    """True when `person` may see the requisition `view`. `delegations`: the windows to honour (only those
    active at `at`, when given)."""
    involved = participants(view)
    if person in involved:
        return True
    for window in delegations:
        if window.delegate == person and window.delegator in involved and (at is None or window.active(at)):
            return True
    who = directory.person(person)
    if who is None:
        return False
    return any(
        grant.covers(view.site) and (grant.role in COVERING_ROLES or grant.role in SITE_ROLES) for grant in who.roles
    )
