"""API tokens: random, shown once, stored only as a SHA-256 hash, each with one role, optionally its own person
and a scoped permission to act as others (approvals.credentials)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, select

from approvals.clock import utcnow
from approvals.credentials import ActAs, Credential
from approvals.db import transaction
from approvals.models import ApiToken

Role = Literal["admin", "auditor", "service"]
ROLES: tuple[str, ...] = ("admin", "auditor", "service")
PREFIX = "pb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _listed(values: list[str] | tuple[str, ...] | None) -> str:
    return ",".join(sorted({v.strip() for v in values or () if v.strip()}))


def create_token(
    engine: Engine,
    *,
    name: str,
    role: str,
    token: str | None = None,
    person: str | None = None,
    act_as: bool = False,
    act_as_sites: list[str] | tuple[str, ...] | None = None,
    act_as_people: list[str] | tuple[str, ...] | None = None,
) -> str:
    """Store a new token (hashed) and return its only plain copy. `person` is the token's own identity;
    `act_as` lets it name other people as the actor (only at `act_as_sites` / as `act_as_people` if given)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (act_as_sites or act_as_people) and not act_as:
        raise ValueError("--act-as-sites and --act-as-people limit --act-as; give --act-as too")
    plain = token or PREFIX + secrets.token_urlsafe(32)
    with transaction(engine) as session:
        digest = hash_token(plain)
        if session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first() is None:
            session.add(
                ApiToken(
                    name=name,
                    token_hash=digest,
                    role=role,
                    person=person or None,
                    act_as=act_as,
                    act_as_sites=_listed(act_as_sites),
                    act_as_people=_listed(act_as_people),
                )
            )
    return plain


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(",") if v)


def credential_of(row: ApiToken) -> Credential:
    """The credential a stored token stands for: its id and name, its person, its act-as grant."""
    grant = ActAs(sites=_split(row.act_as_sites), people=_split(row.act_as_people)) if row.act_as else None
    return Credential(
        kind="api_token", id=str(row.id or 0), name=row.name, person=row.person, act_as=grant, extra={"role": row.role}
    )


def act_as_text(row: ApiToken) -> str:
    """How `token list` shows a token's permission to act as others."""
    if not row.act_as:
        return "act-as: no"
    return "act-as: " + ActAs(sites=_split(row.act_as_sites), people=_split(row.act_as_people)).describe()


def revoke_bootstrap_except(engine: Engine, *, name: str, keep: str) -> int:
    """Revoke every active token called `name` but the one whose plain text is `keep` (admin token rotation:
    the previous bootstrap token stops working when the setting changes). Returns how many were revoked."""
    digest = hash_token(keep)
    with transaction(engine) as session:
        rows = session.exec(
            select(ApiToken).where(ApiToken.name == name, ApiToken.token_hash != digest, ApiToken.revoked_at == None)  # noqa: E711
        ).all()
        for row in rows:
            row.revoked_at = utcnow()
            session.add(row)
        return len(rows)


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
