"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text
from sqlmodel import Session

from approvals.errors import NotFound
from approvals.policy_store import active_policy
from bot.api.openapi import Readiness
from bot.tokens import find_token

router = APIRouter(tags=["health"])


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/chat")  # the web chat; it says so itself when production mode turns it off


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database answers and a policy is active (with an API token: which ones)",
    responses={
        200: {"model": Readiness, "description": "Ready"},
        503: {"model": Readiness, "description": "Not ready: the database does not answer or no policy is active"},
    },
)
def readyz(request: Request) -> JSONResponse:
    """Anyone (a load balancer) learns ready or not; only a caller with a valid API token learns the database type
    and the policy's version and hash, which tell an attacker what to aim at."""
    runtime = request.app.state.runtime
    scheme, _, plain = request.headers.get("authorization", "").partition(" ")
    try:
        with Session(runtime.engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            row, policy = active_policy(session)
            plain = plain.strip() if scheme.lower() == "bearer" else ""
            known = bool(plain) and find_token(session, plain) is not None
    except NotFound:
        return JSONResponse({"status": "unavailable", "policy": "none active"}, status_code=503)
    except Exception:  # noqa: BLE001 - readiness reports, it does not raise
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not known:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "ready", "database": runtime.engine.dialect.name, "policy": policy.label})
