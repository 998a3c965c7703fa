"""Bearer-token authentication with roles; every endpoint names the roles it accepts.

The token is the caller's credential (approvals.credentials): it decides the surface ("api"), its own person,
and whether it may name other people as the actor. Failed attempts are limited per source (bot/ratelimit.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from approvals.clock import as_utc, utcnow
from approvals.credentials import Credential
from bot.ratelimit import limiter_for, source_of
from bot.tokens import credential_of, find_token

_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer pb_...`")


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str
    role: str
    credential: Credential | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_everything(self) -> bool:
        """Admin and auditor tokens read every requisition (their roles cover them all)."""
        return self.role in ("admin", "auditor")


def _too_many(wait: int) -> HTTPException:
    return HTTPException(
        429,
        f"Too many failed sign-ins from this address; try again in {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency that admits only tokens with one of `roles` (401 without a valid token, 403 wrong role,
    429 after too many failed attempts from the same address)."""

    def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
        limiter, source = limiter_for(request.app.state), source_of(request.client)
        wait = limiter.retry_after(source)
        if wait:
            raise _too_many(wait)
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise HTTPException(
                401, "Send an API token: `Authorization: Bearer <token>`.", headers={"WWW-Authenticate": "Bearer"}
            )
        engine = request.app.state.runtime.engine
        with Session(engine) as session:
            token = find_token(session, credentials.credentials)
            if token is None:
                limiter.failed(source)
                raise HTTPException(
                    401, "This API token is not valid or has been revoked.", headers={"WWW-Authenticate": "Bearer"}
                )
            if token.role not in roles:
                raise HTTPException(403, f"A {token.role} token cannot do this; it needs one of: {', '.join(roles)}.")
            now = utcnow()
            last = as_utc(token.last_used_at)
            if last is None or now - last > timedelta(minutes=5):
                # coarse, so reads do not turn into writes on every call
                token.last_used_at = now
                session.add(token)
                session.commit()
            return Caller(token.id or 0, token.name, token.role, credential_of(token))

    dependency.roles = roles  # type: ignore[attr-defined]  # read by the OpenAPI document (bot/api/openapi.py)
    return dependency


READ = ("admin", "auditor", "service")
WRITE = ("admin", "service")
ADMIN = ("admin",)
AUDIT = ("admin", "auditor")
