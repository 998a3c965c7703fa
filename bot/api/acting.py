"""What an API token may do in a person's name, and what it may read.

A token acts as its own person; naming anyone else needs its act-as grant (approvals.credentials), and a
refusal is audited. A token reads what its person may see (approvals.visibility), or what its act-as grant
covers; admin and auditor tokens read everything. A requisition it may not see answers exactly like one that
does not exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fastapi import HTTPException, Request

from approvals.delegation import DelegationWindow
from approvals.errors import NotFound
from approvals.refusals import record_refusal
from approvals.views import RequisitionView
from approvals.visibility import active_windows, can_see
from approvals.workflow import ApprovalService
from bot.api.auth import Caller

MAX_KEY = 200


def scoped_key(caller: Caller, key: str | None) -> str | None:
    """The idempotency key as stored: prefixed with the token, so another client's key never collides."""
    if not key:
        return None
    scoped = f"api:{caller.token_id}:{key}"
    if len(scoped) > MAX_KEY:
        scoped = f"api:{caller.token_id}:#" + hashlib.sha256(key.encode()).hexdigest()
    return scoped


def vet_actor(
    request: Request, caller: Caller, *, actor: str, action: str, site: str | None, number: str | None = None
) -> None:
    """Refuse (403, audited) an actor the token may not name: not its own person and no act-as grant for them."""
    credential = caller.credential
    assert credential is not None
    if credential.may_act_as(actor, site):
        return
    if credential.act_as is None:
        reason = f"token {caller.name!r} may not act as {actor}: it was created without --act-as"
    else:
        reason = f"token {caller.name!r} may act only as {credential.act_as.describe()}, not as {actor}" + (
            f" at {site}" if site else ""
        )
    runtime = request.app.state.runtime
    record_refusal(
        runtime.engine,
        credential=credential,
        actor=actor,
        action=action,
        at=runtime.service.clock(),
        number=number,
        reason=reason,
    )
    raise HTTPException(403, f"This API token cannot act as {actor}. {reason}; ask an admin for a token with --act-as.")


def windows(svc: ApprovalService) -> list[DelegationWindow]:
    """The delegation windows active now, for the visibility check."""
    return active_windows(svc.delegations(), svc.clock())


def reader(svc: ApprovalService, caller: Caller) -> Callable[[RequisitionView], bool]:
    """Whether this token may read a requisition (see the module docstring)."""
    if caller.sees_everything:
        return lambda view: True
    credential = caller.credential
    assert credential is not None
    active = windows(svc)
    directory = svc.directory
    grant = credential.act_as

    def sees(view: RequisitionView) -> bool:
        if credential.person and can_see(credential.person, view, directory, active):
            return True
        if grant is None:
            return False
        if grant.sites and view.site not in grant.sites:
            return False
        if grant.people:
            return any(can_see(p, view, directory, active) for p in grant.people)
        return True

    return sees


def hidden(number: str) -> NotFound:
    """The answer for a requisition the caller may not see: word for word the one for a missing number."""
    return NotFound(f"There is no requisition {number}. Check the number (it looks like PR-1042).")


def visible(svc: ApprovalService, caller: Caller, number: str) -> RequisitionView:
    view = svc.view(number)
    if not reader(svc, caller)(view):
        raise hidden(number)
    return view
