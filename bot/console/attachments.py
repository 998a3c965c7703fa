"""A requisition's attached files, downloaded from its console page: the same check as the page itself (admins and
auditors; a manager's console does not open requisition pages), always as a download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from approvals.errors import NotFound
from bot.console import html
from bot.console.guard import guard
from bot.downloads import download_response

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/requisitions/{number}/attachments/{attachment_id}")
def download(
    request: Request,
    number: Annotated[str, Path(max_length=20)],
    attachment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    who = guard(request)
    if isinstance(who, Response):
        return who
    try:
        row, data = request.app.state.runtime.service.attachment(number, attachment_id, None)
    except NotFound as exc:
        return html.message("Not found", exc.message, "bad", who=who, active="requisitions", status=404)
    return download_response(row, data)
