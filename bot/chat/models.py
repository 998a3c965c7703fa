"""Tables of the chat delivery layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from approvals.columns import timestamp_field


class ChatIdentity(SQLModel, table=True):
    """A platform user resolved to a directory person (cached: resolving may cost a platform call)."""

    __tablename__ = "chat_identity"
    __table_args__ = (UniqueConstraint("surface", "tenant", "external_id", name="uq_chat_identity_external"),)

    id: int | None = Field(default=None, primary_key=True)
    surface: str = Field(max_length=20)
    tenant: str = Field(default="", max_length=120)  # Slack team id, Entra tenant id
    external_id: str = Field(max_length=200)
    person_id: str | None = Field(default=None, max_length=80)  # None: looked up, nobody in the directory
    resolved_at: datetime = timestamp_field(nullable=False)
    # who linked this user to the person by hand (the console); a linked user never expires or resolves again
    linked_by: str | None = Field(default=None, max_length=120)


class ChatAddress(SQLModel, table=True):
    """Where a person can be messaged directly on a surface (a DM channel, a conversation reference)."""

    __tablename__ = "chat_address"
    __table_args__ = (UniqueConstraint("surface", "person_id", name="uq_chat_address_person"),)

    id: int | None = Field(default=None, primary_key=True)
    surface: str = Field(max_length=20)
    person_id: str = Field(max_length=80)
    address: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = timestamp_field(nullable=False)


class CardCopy(SQLModel, table=True):
    """One posted copy of a requisition's card, so any later change updates it in place.

    ``role`` is "approver" (the card with buttons in an approver's DM) or "requester" (the
    requester's card, whose message is also the root of the requisition's thread).
    """

    __tablename__ = "chat_card_copy"
    __table_args__ = (UniqueConstraint("surface", "number", "person_id", "role", name="uq_chat_card_copy"),)

    id: int | None = Field(default=None, primary_key=True)
    surface: str = Field(max_length=20)
    number: str = Field(max_length=20, index=True)
    person_id: str = Field(max_length=80)
    role: str = Field(max_length=20)
    address: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ref: str = Field(max_length=200)  # the platform's message id (Slack ts, Teams activity id)
    fingerprint: str = Field(default="", max_length=64)  # of the last rendered card: unchanged -> no call
    updated_at: datetime = timestamp_field(nullable=False)


class InboundEvent(SQLModel, table=True):
    """An inbound platform event or action already handled (platforms deliver at least once)."""

    __tablename__ = "chat_inbound_event"
    __table_args__ = (UniqueConstraint("surface", "key", name="uq_chat_inbound_event"),)

    id: int | None = Field(default=None, primary_key=True)
    surface: str = Field(max_length=20)
    key: str = Field(max_length=200)
    received_at: datetime = timestamp_field(nullable=False, index=True)
