"""The console's table: its sign-in sessions, so signing out ends a session on every server at once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from approvals.columns import timestamp_field


class ConsoleSession(SQLModel, table=True):
    """One console sign-in. The cookie carries the session's id; only its SHA-256 is stored, so a database
    reader cannot turn a row into a cookie. Signing out sets `ended_at`; the cookie is worthless from then on."""

    __tablename__ = "console_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the id in the cookie
    subject: str = Field(max_length=80)  # the API token's id (or an OIDC subject)
    created_at: datetime = timestamp_field(nullable=False)
    expires_at: datetime = timestamp_field(nullable=False)
    ended_at: datetime | None = timestamp_field(default=None)
