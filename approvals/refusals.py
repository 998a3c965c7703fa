"""Refused attempts, audited: a credential that tried to act as someone it may not act as."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from approvals import audit
from approvals.credentials import Credential
from approvals.db import transaction


def record_refusal(
    engine: Engine,
    *,
    credential: Credential,
    actor: str,
    action: str,
    at: datetime,
    number: str | None = None,
    reason: str,
) -> None:
    """Append an `act_as_refused` event: who the credential named, what it tried, and why it was refused."""
    with transaction(engine) as session:
        audit.append_event(
            session,
            kind="act_as_refused",
            actor=actor,
            at=at,
            surface=credential.surface,
            requisition_number=number,
            after={"action": action, "reason": reason, "credential": credential.record()},
        )
