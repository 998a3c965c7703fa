"""Conversation state of the chat assistant: one row per person per surface.

The draft a person is building lives here as JSON, so a restart (or another replica) picks
the conversation up where it was. Plain table; the conversation logic is in bot/intake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from approvals.clock import utcnow
from approvals.columns import timestamp_field


class ChatConversation(SQLModel, table=True):
    __tablename__ = "chat_conversation"
    __table_args__ = (
        UniqueConstraint("surface", "person", name="uq_chat_conversation_person"),
        Index("ix_chat_conversation_expires", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    surface: str = Field(max_length=20)
    person: str = Field(max_length=80)
    state: str = Field(default="idle", max_length=20)  # idle | collecting | confirming
    draft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    question: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    notice: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # shown on the next visit
    version: int = 0  # two messages from one person at once: the second sees a changed version
    updated_at: datetime = timestamp_field(default_factory=utcnow)
    expires_at: datetime | None = timestamp_field(default=None)
