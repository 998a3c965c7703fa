"""Attachments on a requisition: upload a file (multipart), list them, download one.

The same token rights, act-as and visibility as the comments: a token that may not see the requisition gets the
not-found answer, one that names someone it may not act as gets 403. A download is always a download
(`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, a sandboxing CSP), never shown inline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from approvals.attachments import Attachment
from approvals.credentials import acting
from approvals.workflow import ApprovalService
from approvals.workflow.attachments import attach_command
from bot.api.acting import scoped_key, vet_actor, visible
from bot.api.auth import READ, WRITE, Caller, require
from bot.api.openapi import errors
from bot.api.routes.requisitions import IdempotencyKey, Number, service
from bot.downloads import download_response

router = APIRouter(prefix="/api/v1/requisitions", tags=["attachments"])


class AttachmentView(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_by_name: str
    created_at: datetime
    download: str  # the path to download it, through the same read check


class AttachResponse(BaseModel):
    number: str
    message: str
    replayed: bool
    attachments: list[AttachmentView]


def attachment_views(svc: ApprovalService, number: str, rows: list[Attachment]) -> list[AttachmentView]:
    def name(person_id: str) -> str:
        person = svc.directory.person(person_id)
        return person.name if person else person_id

    return [
        AttachmentView(
            id=a.id or 0,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            sha256=a.sha256,
            uploaded_by=a.uploaded_by,
            uploaded_by_name=name(a.uploaded_by),
            created_at=a.created_at,
            download=f"/api/v1/requisitions/{number}/attachments/{a.id}",
        )
        for a in rows
    ]


@router.get(
    "/{number}/attachments",
    response_model=list[AttachmentView],
    summary="The files a requisition carries, oldest first",
    responses=errors(404),
)
def list_attachments(
    number: Number, svc: ApprovalService = Depends(service), caller: Caller = Depends(require(*READ))
) -> list[AttachmentView]:
    view = visible(svc, caller, number)
    return attachment_views(svc, view.number, svc.attachments_on(view.number))


@router.post(
    "/{number}/attachments",
    status_code=201,
    response_model=AttachResponse,
    summary="Attach a file (a quote, a spec, a photo) to a requisition: multipart, fields `actor` and `file`",
    description="Accepted: PDF, PNG/JPEG/GIF/WebP images, Word/Excel/PowerPoint (docx, xlsx, pptx), OpenDocument "
    "(odt, ods), CSV and plain text, up to PROCUREBOT_ATTACHMENT_MAX_BYTES (20 MB by default). The content must "
    "match the extension. A refused file answers 422 with the limit named (413 when the upload is over the size).",
    responses=errors(404, 409),
)
def add_attachment(
    request: Request,
    number: Number,
    actor: Annotated[str, Form(min_length=1, max_length=80, description="The person attaching")],
    file: Annotated[UploadFile, File(description="The file")],
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*WRITE)),
    idempotency_key: IdempotencyKey = None,
) -> AttachResponse:
    if caller.credential is not None and caller.credential.act_as is None:
        vet_actor(request, caller, actor=actor, action="attach", site=None, number=number)
    view = visible(svc, caller, number)
    vet_actor(request, caller, actor=actor, action="attach", site=view.site, number=view.number)
    # one byte over the limit is enough to refuse it with the limit named
    data = file.file.read(svc.attachment_limits.max_bytes + 1)
    cmd = attach_command(
        actor=actor,
        surface="api",
        number=view.number,
        filename=file.filename or "",
        data=data,
        idempotency_key=scoped_key(caller, idempotency_key),
    )
    with acting(caller.credential):
        result = svc.attach(cmd, data)
    return AttachResponse(
        number=result.number,
        message=result.message,
        replayed=result.replayed,
        attachments=attachment_views(svc, result.number, svc.attachments_on(result.number)),
    )


@router.get(
    "/{number}/attachments/{attachment_id}",
    summary="Download one attached file (always as a download, never shown inline)",
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}, **errors(404)},
    response_class=Response,
)
def download_attachment(
    number: Number,
    attachment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*READ)),
) -> Response:
    view = visible(svc, caller, number)
    row, data = svc.attachment(view.number, attachment_id, None)
    return download_response(row, data)
