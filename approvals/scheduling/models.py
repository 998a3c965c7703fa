"""Tables of the scheduler besides the job queue: a person's notification preferences, pending steps' SLA risk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from approvals.clock import utcnow


class NotificationPreference(SQLModel, table=True):
    """What a person chose about scheduled messages. No row means the defaults (digest on)."""

    __tablename__ = "notification_preference"

    person_id: str = Field(primary_key=True, max_length=80)
    digest: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class StepRisk(SQLModel, table=True):
    """The latest SLA-risk estimate of a pending step (approvals/scheduling/risk.py rewrites these on a schedule).

    One row per pending step; a step no longer pending loses its row at the next estimate. `alerted_at` is set
    once, when the step first crossed the alert threshold: the earlier nudge and the requester's notice went out.
    """

    __tablename__ = "step_risk"

    step_id: int = Field(primary_key=True)
    requisition_number: str = Field(max_length=20, index=True)
    person: str = Field(max_length=80)  # who holds the step
    approver: str = Field(max_length=80)
    stage: str = Field(default="", max_length=80)
    probability: float
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hours_left: float
    deadline: datetime = Field(sa_type=DateTime(timezone=True))
    activated_at: datetime = Field(sa_type=DateTime(timezone=True))
    computed_at: datetime = Field(sa_type=DateTime(timezone=True))
    alerted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    model: str = Field(default="", max_length=40)
