"""At-least-once platforms: remember each inbound event or action once, so a retry is recognised."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from approvals.clock import Clock, utcnow
from bot.chat.models import InboundEvent


def first_time(engine: Engine, surface: str, key: str, *, clock: Clock = utcnow) -> bool:
    """True the first time (surface, key) is seen, False for a repeat (a platform retry, a double tap).

    The unique constraint decides, so two replicas receiving the same retry agree.
    """
    with Session(engine) as session:
        session.add(InboundEvent(surface=surface, key=key[:200], received_at=clock()))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True


def forget_before(engine: Engine, cutoff: datetime | None = None, *, clock: Clock = utcnow) -> int:
    """Drop records older than the platforms' retry windows (a day is ample); returns how many."""
    cutoff = cutoff or clock() - timedelta(days=1)
    with Session(engine) as session:
        result = session.exec(delete(InboundEvent).where(InboundEvent.received_at < cutoff))  # type: ignore[call-overload]
        session.commit()
        return int(result.rowcount or 0)
