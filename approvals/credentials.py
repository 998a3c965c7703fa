"""Who made the call: the credential behind an action, and what it may do in someone's name.

Every surface authenticates something before it reaches the core: an API token, a Slack workspace and user,
a Teams tenant and user, a console session, the web chat's session. The edge names it in a `Credential`
and runs the action inside `acting(credential)`; the core then records it in every audit event the action
writes (in the event's data, under "credential"), and takes the surface from it, never from the request.

A credential acts as its own person. Acting as anyone else needs an `ActAs` grant, given when an API token
is created and optionally limited to sites or people (`permits`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from approvals import correlation

Kind = Literal["api_token", "slack", "teams", "console", "web", "cli"]
# the surface each kind of credential speaks through; the request body never chooses it
SURFACE: dict[str, str] = {
    "api_token": "api",
    "slack": "slack",
    "teams": "teams",
    "console": "console",
    "web": "web",
    "cli": "cli",
}


@dataclass(frozen=True)
class ActAs:
    """Permission to act in another person's name: everyone, or only at `sites`, or only as `people`
    (both given: both must hold)."""

    sites: tuple[str, ...] = ()
    people: tuple[str, ...] = ()

    def permits(self, person: str, site: str | None) -> bool:
        if self.people and person not in self.people:
            return False
        if self.sites and (site is None or site not in self.sites):
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.sites:
            parts.append("sites " + ",".join(self.sites))
        if self.people:
            parts.append("people " + ",".join(self.people))
        return "anyone" + (" (" + "; ".join(parts) + ")" if parts else "")


@dataclass(frozen=True)
class Credential:
    """What authenticated the caller. `id` is stable per credential (token id, workspace:user, tenant:user,
    session id); `person` is its own identity, if it has one; `act_as` its grant to act for others."""

    kind: Kind
    id: str
    name: str
    person: str | None = None
    act_as: ActAs | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def surface(self) -> str:
        return SURFACE[self.kind]

    @property
    def key_scope(self) -> str:
        """The prefix of this credential's idempotency keys: another credential's key never collides."""
        return f"{self.kind}:{self.id}:"

    def may_act_as(self, person: str, site: str | None) -> bool:
        """True when this credential may name `person` as the actor (on a requisition at `site`)."""
        if self.person is not None and person == self.person:
            return True
        return self.act_as is not None and self.act_as.permits(person, site)

    def record(self) -> dict[str, Any]:
        """The credential as the audit trail keeps it (never a secret)."""
        out: dict[str, Any] = {"kind": self.kind, "id": self.id, "name": self.name}
        if self.person is not None:
            out["person"] = self.person
        if self.act_as is not None:
            out["act_as"] = self.act_as.describe()
        out.update(self.extra)
        return out


_current: ContextVar[Credential | None] = ContextVar("procurebot_credential", default=None)


@contextmanager
def acting(credential: Credential | None) -> Iterator[None]:
    """Run the block's actions under `credential` (their audit events record it, their surface is its)."""
    token = _current.set(credential)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Credential | None:
    return _current.get()


def surface_for(claimed: str) -> str:
    """The surface to record: the running credential's, else what the in-process caller said."""
    credential = _current.get()
    return credential.surface if credential is not None else claimed


def stamp(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """An audit event's data with the running credential added under "credential", and the id of the request it
    came from under "request_id" (unchanged without either)."""
    credential = _current.get()
    request_id = correlation.current()
    if credential is None and request_id is None:
        return data
    out = dict(data or {})
    if credential is not None:
        out["credential"] = credential.record()
    if request_id is not None:
        out[correlation.PAYLOAD_KEY] = request_id
    return out
