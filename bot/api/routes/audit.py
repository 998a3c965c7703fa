"""Audit trail: export and verify."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlmodel import Session

from approvals import audit
from bot.api.auth import AUDIT, Caller, require

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/export", summary="Audit events as JSON Lines or CSV", response_class=StreamingResponse)
def export(
    request: Request,
    caller: Caller = Depends(require(*AUDIT)),
    format: Literal["jsonl", "csv"] = Query(default="jsonl"),
    requisition: str | None = Query(default=None, description="only this requisition, e.g. PR-1042"),
    since: datetime | None = None,
) -> StreamingResponse:
    engine = request.app.state.runtime.engine

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


@router.get("/verify", response_model=VerifyOut, summary="Check the hash chain end to end")
def verify(request: Request, caller: Caller = Depends(require(*AUDIT))) -> VerifyOut:
    with Session(request.app.state.runtime.engine) as session:
        report = audit.verify_chain(session)
    return VerifyOut(ok=report.ok, events=report.events, problems=report.problems)
