"""Tables of the scheduler besides the job queue: a person's notification preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from approvals.clock import utcnow


class NotificationPreference(SQLModel, table=True):
    """What a person chose about scheduled messages. No row means the defaults (digest on)."""

    __tablename__ = "notification_preference"

    person_id: str = Field(primary_key=True, max_length=80)
    digest: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
