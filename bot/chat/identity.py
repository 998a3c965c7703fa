"""Who a chat platform user is in the company directory, and where to message a person directly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from approvals.clock import Clock, as_utc, utcnow
from approvals.directory import Directory, Person
from bot.chat.models import ChatAddress, ChatIdentity

# A directory field that carries the platform's own user id, per surface.
_ID_FIELDS = {"slack": "slack_user_id", "teams": "teams_object_id"}


class Identities:
    """Maps (surface, tenant, external user id) to a directory person.

    Order: the directory's own platform id field; a cached resolution younger than `ttl`; the
    person's e-mail as the platform reports it (`email` is called only then, as it may cost an API
    call). A miss is cached too, so an unknown user does not cost a lookup on every message.
    """

    def __init__(
        self, engine: Engine, directory: Directory, *, ttl: timedelta = timedelta(hours=12), clock: Clock = utcnow
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.ttl = ttl
        self.clock = clock
        self._people: tuple[Person, ...] | None = None
        self._by_platform_id: dict[str, dict[str, Person]] = {}
        self._by_email: dict[str, Person] = {}
        self._index()

    def _index(self) -> None:
        """The lookups, built again when the directory is a new version (a sync, an activation): a leaver's
        platform id must stop resolving to the person they were."""
        people = self.directory.people
        if people is self._people:
            return
        self._by_platform_id = {
            name: {getattr(p, attr): p for p in people if getattr(p, attr)} for name, attr in _ID_FIELDS.items()
        }
        self._by_email = {p.email.lower(): p for p in people if p.email}
        self._people = people

    def person_for(
        self, surface: str, external_id: str, *, tenant: str = "", email: Callable[[], str | None] | None = None
    ) -> Person | None:
        """The directory person behind a platform user; None for someone unknown or who has left (`active: false`):
        a leaver's chat account that still works must not request or approve as them."""
        person = self._resolve(surface, external_id, tenant, email)
        return person if person is not None and person.active else None

    def _resolve(
        self, surface: str, external_id: str, tenant: str, email: Callable[[], str | None] | None
    ) -> Person | None:
        self._index()
        known = self._by_platform_id.get(surface, {}).get(external_id)
        if known is not None:
            return known
        with Session(self.engine) as session:
            row = session.exec(
                select(ChatIdentity).where(
                    ChatIdentity.surface == surface,
                    ChatIdentity.tenant == tenant,
                    ChatIdentity.external_id == external_id,
                )
            ).first()
            if row is not None and (row.linked_by or as_utc(row.resolved_at) > self.clock() - self.ttl):
                return self.directory.person(row.person_id) if row.person_id else None
        address = (email() or "").strip().lower() if email else ""
        person = self._by_email.get(address) if address else None
        self._remember(surface, tenant, external_id, person.id if person else None)
        return person

    def external_id_for(self, surface: str, person: Person) -> str | None:
        """The platform user id we know for a person (directory field first, then a cached resolution)."""
        attr = _ID_FIELDS.get(surface)
        if attr and getattr(person, attr, None):
            return str(getattr(person, attr))
        with Session(self.engine) as session:
            row = session.exec(
                select(ChatIdentity)
                .where(ChatIdentity.surface == surface, ChatIdentity.person_id == person.id)
                .order_by(ChatIdentity.resolved_at.desc())
            ).first()  # type: ignore[attr-defined]
            return row.external_id if row else None

    def _remember(self, surface: str, tenant: str, external_id: str, person_id: str | None) -> None:
        with Session(self.engine) as session:
            row = session.exec(
                select(ChatIdentity).where(
                    ChatIdentity.surface == surface,
                    ChatIdentity.tenant == tenant,
                    ChatIdentity.external_id == external_id,
                )
            ).first()
            if row is None:
                row = ChatIdentity(
                    surface=surface, tenant=tenant, external_id=external_id[:200], resolved_at=self.clock()
                )
            row.person_id, row.resolved_at = person_id, self.clock()
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # another replica resolved the same user at the same moment
                session.rollback()


class Addresses:
    """Direct-conversation addresses per (surface, person), remembered from inbound traffic.

    Addresses found are cached in memory for `ttl` seconds: every card post needs one, and it changes
    rarely (a DM reopened, a new conversation reference). A stale one heals itself: the post fails
    with "channel not found", the surface opens the conversation again and remembers it. A miss is
    not cached, so a person who installs the app on another replica is reached at once."""

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, ttl: float = 300.0) -> None:
        self.engine = engine
        self.clock = clock
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

    def get(self, surface: str, person_id: str) -> dict[str, Any] | None:
        cached = self._cache.get((surface, person_id))
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return dict(cached[1])
        with Session(self.engine) as session:
            row = session.exec(
                select(ChatAddress).where(ChatAddress.surface == surface, ChatAddress.person_id == person_id)
            ).first()
            if row is None:
                return None
            address = dict(row.address)
        self._cache[(surface, person_id)] = (time.monotonic(), address)
        return dict(address)

    def remember(self, surface: str, person_id: str, address: dict[str, Any]) -> None:
        """Store (or refresh) where `person_id` talks to us on `surface`; a no-op when unchanged."""
        self._cache.pop((surface, person_id), None)
        with Session(self.engine) as session:
            row = session.exec(
                select(ChatAddress).where(ChatAddress.surface == surface, ChatAddress.person_id == person_id)
            ).first()
            if row is not None and row.address == address:
                return
            if row is None:
                row = ChatAddress(surface=surface, person_id=person_id, address=address, updated_at=self.clock())
            row.address, row.updated_at = dict(address), self.clock()
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()


def link(
    engine: Engine, *, surface: str, tenant: str, external_id: str, person_id: str, by: str, at: datetime
) -> ChatIdentity:
    """Link a platform user to a person by hand (an administrator, in the console): it holds until linked again."""
    with Session(engine) as session:
        row = session.exec(
            select(ChatIdentity).where(
                ChatIdentity.surface == surface, ChatIdentity.tenant == tenant, ChatIdentity.external_id == external_id
            )
        ).first()
        if row is None:
            row = ChatIdentity(surface=surface, tenant=tenant, external_id=external_id[:200], resolved_at=at)
        row.person_id, row.resolved_at, row.linked_by = person_id, at, by[:120]
        session.add(row)
        session.commit()
        session.refresh(row)
        return row
