"""Loading and saving a person's conversation, with an optimistic version check, and expiring drafts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from approvals.clock import as_utc
from approvals.conversation import ChatConversation
from approvals.db import transaction


class Crossed(Exception):
    """Another message from the same person changed the conversation first."""


class ConversationStore:
    def __init__(self, engine: Engine, surface: str) -> None:
        self.engine = engine
        self.surface = surface

    def load(self, person: str) -> ChatConversation:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.exec(
                select(ChatConversation).where(
                    ChatConversation.surface == self.surface, ChatConversation.person == person
                )
            ).first()
            if row is not None:
                session.expunge(row)
                return row
        return ChatConversation(surface=self.surface, person=person, draft={}, version=-1)

    def save(self, row: ChatConversation, *, now: datetime, ttl: timedelta) -> None:
        """Write the row if nobody changed it since it was loaded; raise Crossed otherwise."""
        # a draft waiting on procurement to add its supplier waits as long as that takes: its requester is
        # brought back to it when the supplier is created (bot/intake/new_suppliers.py), never told it expired
        waiting = bool((row.draft or {}).get("supplier_request"))
        expires = now + ttl if row.state != "idle" and not waiting else None
        values = {
            "state": row.state,
            "draft": row.draft,
            "question": row.question,
            "notice": row.notice,
            "updated_at": now,
            "expires_at": expires,
        }
        with transaction(self.engine) as session:
            if row.version < 0:
                fresh = ChatConversation(surface=self.surface, person=row.person, version=0, **values)
                session.add(fresh)
                try:
                    session.flush()
                except IntegrityError as exc:
                    raise Crossed() from exc
                row.id, row.version = fresh.id, 0
            else:
                done = session.execute(
                    update(ChatConversation)
                    .where(
                        ChatConversation.id == row.id,  # type: ignore[arg-type]
                        ChatConversation.version == row.version,
                    )  # type: ignore[arg-type]
                    .values(version=row.version + 1, **values)
                )
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    raise Crossed()
                row.version += 1
        row.expires_at = expires

    def expire_due(self, now: datetime, notice_for: "callable") -> list[tuple[str, str]]:  # type: ignore[valid-type]
        """Discard drafts nobody answered in time; each owner gets a notice, returned and kept for their next visit."""
        out: list[tuple[str, str]] = []
        with transaction(self.engine) as session:
            rows = session.exec(
                select(ChatConversation)
                .where(
                    ChatConversation.surface == self.surface,
                    ChatConversation.state != "idle",
                    ChatConversation.expires_at <= now,
                )
                .with_for_update()
            ).all()  # type: ignore[operator]
            for row in rows:
                text = notice_for(row)
                row.state, row.draft, row.question, row.notice = "idle", {}, None, text
                row.expires_at, row.version, row.updated_at = None, row.version + 1, now
                session.add(row)
                out.append((row.person, text))
        return out

    @staticmethod
    def is_expired(row: ChatConversation, now: datetime) -> bool:
        expires = as_utc(row.expires_at)
        return row.state != "idle" and expires is not None and expires <= now
