"""API tokens: random, shown once, stored only as a SHA-256 hash, each with one role."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, select

from approvals.clock import utcnow
from approvals.db import transaction
from approvals.models import ApiToken

Role = Literal["admin", "auditor", "service"]
ROLES: tuple[str, ...] = ("admin", "auditor", "service")
PREFIX = "pb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: Engine, *, name: str, role: str, token: str | None = None) -> str:
    """Store a new token (hashed) and return its only plain copy."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    plain = token or PREFIX + secrets.token_urlsafe(32)
    with transaction(engine) as session:
        digest = hash_token(plain)
        if session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first() is None:
            session.add(ApiToken(name=name, token_hash=digest, role=role))
    return plain


def find_token(session: Session, plain: str) -> ApiToken | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(plain))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke_token(engine: Engine, token_id: int) -> bool:
    with transaction(engine) as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        session.add(row)
        return True


def list_tokens(engine: Engine) -> list[ApiToken]:
    with Session(engine) as session:
        return list(session.exec(select(ApiToken).order_by(ApiToken.id)).all())
