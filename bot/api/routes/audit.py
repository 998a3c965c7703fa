"""Audit trail: export and verify."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session

from approvals import audit
from approvals.clock import as_utc
from approvals.errors import FieldError, ValidationFailed
from bot.api.auth import AUDIT, Caller, require

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
# a requisition number as the service writes them (PR-1042); the column holds 20 characters
NUMBER = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$"
EARLIEST, LATEST = 1970, 9998


def _since_utc(since: datetime | None) -> datetime | None:
    """`since` in UTC, refused (422, before any byte is streamed) when it cannot be compared with stored times."""
    if since is None:
        return None
    try:
        moment = as_utc(since)
    except (OverflowError, ValueError):
        moment = None
    if moment is None or not EARLIEST <= moment.year <= LATEST:
        raise ValidationFailed(
            [FieldError("since", f"give a time between {EARLIEST} and {LATEST}, e.g. 2026-11-01 or 2026-11-01T09:00Z")]
        )
    return moment


@router.get(
    "/export",
    summary="Audit events as JSON Lines or CSV",
    response_class=StreamingResponse,
    name="export_audit",
    responses={
        200: {
            "description": "One event per line (JSON Lines) or per row (CSV)",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        }
    },
)
def export(
    request: Request,
    caller: Caller = Depends(require(*AUDIT)),
    format: Literal["jsonl", "csv"] = Query(default="jsonl"),
    requisition: str | None = Query(
        default=None, description="only this requisition, e.g. PR-1042", max_length=20, pattern=NUMBER
    ),
    since: datetime | None = Query(default=None, description="only events at or after this time (ISO 8601)"),
) -> StreamingResponse:
    engine = request.app.state.runtime.engine
    since = _since_utc(since)  # every parameter is checked before the response starts: a stream cannot turn 422

    def rows() -> Iterator[str]:
        with Session(engine) as session:
            events = audit.iter_events(session, requisition_number=requisition, since=since)
            yield from (audit.export_jsonl(events) if format == "jsonl" else audit.export_csv(events))

    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(
        rows(), media_type=media, headers={"Content-Disposition": f'attachment; filename="audit.{format}"'}
    )


class VerifyOut(BaseModel):
    ok: bool
    events: int
    problems: list[str]


@router.get("/verify", response_model=VerifyOut, summary="Check the hash chain end to end", name="verify_audit_chain")
def verify(request: Request, caller: Caller = Depends(require(*AUDIT))) -> VerifyOut:
    with Session(request.app.state.runtime.engine) as session:
        report = audit.verify_chain(session)
    return VerifyOut(ok=report.ok, events=report.events, problems=report.problems)
