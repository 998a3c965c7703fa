"""Bearer-token authentication with roles; every endpoint names the roles it accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from approvals.clock import as_utc, utcnow
from bot.tokens import find_token

_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer pb_...`")


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency that admits only tokens with one of `roles` (401 without a valid token, 403 wrong role)."""

    def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise HTTPException(
                401, "Send an API token: `Authorization: Bearer <token>`.", headers={"WWW-Authenticate": "Bearer"}
            )
        engine = request.app.state.runtime.engine
        with Session(engine) as session:
            token = find_token(session, credentials.credentials)
            if token is None:
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
            return Caller(token.id or 0, token.name, token.role)

    return dependency


READ = ("admin", "auditor", "service")
WRITE = ("admin", "service")
ADMIN = ("admin",)
AUDIT = ("admin", "auditor")
