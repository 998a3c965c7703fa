"""The notice inbox: notices for people no chat platform reaches, kept in the database until they are shown.

A person who uses only the web chat has no Slack thread or Teams chat to receive a reminder or a "PO
created" in. Their notices land here, once per (person, notice key): a notice job delivered again after a
crash, by this process or another replica, finds its row and writes nothing. The web chat shows a person's
unshown notices when they connect and while their live stream is open; `take_unshown` marks each one shown
by exactly one reader, so two browsers or two replicas never show it twice.

Each notice is also an unread item until the person opens it or marks it read (`unread`, `mark_read`): the web
chat lists them with their count. Besides the scheduler's and the ERP's notices, the web chat's in-transaction
hook (bot/chat/unread.py) keeps here, with each action, what Slack and Teams users learn from their cards and
threads: a request waiting for their approval, a decision or a question on their own request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Engine,
    Index,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    select as core_select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel, col, select

from approvals.columns import table_of, timestamp_field
from approvals.db import transaction
from approvals.notices import Notice


class InboxNoticeBase(SQLModel):
    """One notice to one person, as delivered (the fields of `approvals.notices.Notice`)."""

    person_id: str = Field(max_length=80)
    key: str = Field(max_length=200)  # the notice's own key: one row per (person, key)
    kind: str = Field(max_length=40)
    text: str = Field(sa_type=Text)
    number: str | None = Field(default=None, max_length=20)
    numbers: list[str] = Field(default_factory=list, sa_type=JSON)
    actions: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    card: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # a card an edge drew for it (Notice.card)


class InboxNotice(InboxNoticeBase, table=True):
    __tablename__ = "inbox_notice"
    __table_args__ = (
        UniqueConstraint("person_id", "key", name="uq_inbox_notice_person_key"),
        Index("ix_inbox_notice_unshown", "person_id", "shown_at"),
        Index("ix_inbox_notice_unread", "person_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp_field(nullable=False)
    shown_at: datetime | None = timestamp_field(default=None)  # when a web chat showed it; None: still waiting
    read_at: datetime | None = timestamp_field(default=None)  # when the person opened it or marked it read


_TABLE = table_of(InboxNotice)


def _insert(dialect: str) -> Any:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(_TABLE).on_conflict_do_nothing(index_elements=["person_id", "key"])


def row(*, person_id: str, notice: Notice, now: datetime) -> dict[str, Any]:
    """A kept notice's columns (for `deliver`, or `insert_statement` in an action's plan)."""
    return {
        "person_id": person_id,
        "key": notice.key,
        "kind": notice.kind,
        "text": notice.text,
        "number": notice.number,
        "numbers": list(notice.numbers),
        "actions": [dict(a) for a in notice.actions],
        "card": notice.card,
        "created_at": now,
        "shown_at": None,
        "read_at": None,
    }


# a notice written with an action (approvals.plan rows): its key is new with the action, so a plain INSERT
PLAN_INSERT = (
    insert(_TABLE)
    .inline()
    .values({c: bindparam(c) for c in ("person_id", "key", "kind", "text", "number", "numbers", "actions")})
    .values(created_at=bindparam("created_at"), shown_at=bindparam("shown_at"), read_at=bindparam("read_at"))
)


def deliver(engine: Engine, *, person_id: str, notice: Notice, now: datetime) -> int:
    """Keep `notice` for `person_id` unless it is kept already; the row's id either way."""
    values = row(person_id=person_id, notice=notice, now=now)
    with transaction(engine) as session:
        session.execute(_insert(engine.dialect.name).values(values))
        row_id = session.exec(
            select(InboxNotice.id).where(InboxNotice.person_id == person_id, InboxNotice.key == notice.key)
        ).one()
    assert row_id is not None
    return row_id


_UNSHOWN = select(InboxNotice.id).where(
    InboxNotice.person_id == bindparam("person"), col(InboxNotice.shown_at).is_(None)
)
_TAKE = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)), _TABLE.c.shown_at.is_(None))
    .values(shown_at=bindparam("now"))
    .returning(
        _TABLE.c.id,
        _TABLE.c.kind,
        _TABLE.c.text,
        _TABLE.c.key,
        _TABLE.c.number,
        _TABLE.c.numbers,
        _TABLE.c.actions,
        _TABLE.c.card,
    )
)


def take_unshown(engine: Engine, *, person_id: str, now: datetime) -> list[Notice]:
    """The person's notices not shown yet, oldest first, each marked shown by this call and no other."""
    with engine.connect() as conn:  # a read first: an open stream asks often and mostly finds nothing
        ids: list[int] = list(conn.execute(_UNSHOWN, {"person": person_id}).scalars())
    if not ids:
        return []
    with transaction(engine) as session:
        rows = session.execute(_TAKE, {"ids": ids, "now": now}).all()
    return [_notice(r) for r in sorted(rows, key=lambda r: r.id)]


@dataclass(frozen=True)
class Unread:
    """One unread item as the web chat lists it."""

    id: int
    notice: Notice
    at: datetime


def unread(engine: Engine, *, person_id: str, limit: int = 50) -> tuple[int, list[Unread]]:
    """How many notices the person has not read, and the newest `limit` of them, newest first."""
    waiting = (_TABLE.c.person_id == person_id, _TABLE.c.read_at.is_(None))
    with engine.connect() as conn:
        count = int(conn.execute(core_select(func.count()).select_from(_TABLE).where(*waiting)).scalar_one())
        if not count:
            return 0, []
        rows = conn.execute(core_select(_TABLE).where(*waiting).order_by(_TABLE.c.id.desc()).limit(limit)).all()
    return count, [Unread(r.id, _notice(r), r.created_at) for r in rows]


def _notice(r: Any) -> Notice:
    return Notice(r.kind, r.text, r.key, r.number, tuple(r.numbers or ()), tuple(r.actions or ()), card=r.card)


def mark_read(engine: Engine, *, person_id: str, ids: list[int] | None, now: datetime) -> int:
    """Mark the person's items `ids` read (None: all of them); another person's ids are left alone. How many."""
    stmt = update(_TABLE).where(_TABLE.c.person_id == person_id, _TABLE.c.read_at.is_(None))
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(_TABLE.c.id.in_(ids))
    with transaction(engine) as session:
        return int(session.execute(stmt.values(read_at=now)).rowcount or 0)  # type: ignore[attr-defined]


def kept_for(engine: Engine, *, person_id: str) -> list[InboxNotice]:
    """Every notice kept for the person, shown or not, oldest first (for `procurebot` reads and tests)."""
    with transaction(engine) as session:
        return list(
            session.exec(
                select(InboxNotice).where(InboxNotice.person_id == person_id).order_by(col(InboxNotice.id))
            ).all()
        )
