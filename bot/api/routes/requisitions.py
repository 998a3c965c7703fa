"""Requisitions: create, read, list, and act on them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from approvals import commands as c
from approvals.credentials import acting
from approvals.decide import decide
from approvals.errors import NotAllowed
from approvals.requisition import LineDraft, RequisitionDraft
from approvals.views import RequisitionView
from approvals.workflow import ActionResult, ApprovalService
from bot.api.acting import reader, scoped_key, vet_actor, visible
from bot.api.auth import READ, WRITE, Caller, require
from bot.api.openapi import errors

router = APIRouter(prefix="/api/v1/requisitions", tags=["requisitions"])
NO_NUL = r"^[^\x00]*$"
Filter = Annotated[str | None, Query(max_length=80, pattern=NO_NUL)]
Number = Annotated[str, Path(max_length=20, pattern=NO_NUL)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
IGNORED_SURFACE = "Ignored: the server records the surface from the credential (an API token is `api`)."


def service(request: Request) -> ApprovalService:
    return request.app.state.runtime.service


class CreateRequisition(RequisitionDraft):
    """A requisition as an API client submits it; `actor` is the requester acting through this client."""

    model_config = ConfigDict(extra="forbid")

    actor: str | None = Field(default=None, description="Defaults to the requester")
    draft: bool = Field(default=False, description="Save as a draft instead of submitting")
    surface: c.Surface = Field(default="api", description=IGNORED_SURFACE, deprecated=True)


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal[
        "approve",
        "reject",
        "request_info",
        "answer_info",
        "withdraw",
        "reassign",
        "escalate",
        "submit",
        "amend",
        "pause",
        "resume",
        "end",
    ] = Field(description="pause, resume and end act on a recurring requisition's releases (the requester or a buyer)")
    actor: str = Field(min_length=1, max_length=80)
    comment: str | None = Field(
        default=None,
        max_length=c.MAX_COMMENT,
        description="Approval note, rejection reason, question, answer or withdraw reason",
    )
    from_person: str | None = None
    to_person: str | None = None
    lines: list[LineDraft] | None = Field(default=None, max_length=200)
    surface: c.Surface = Field(default="api", description=IGNORED_SURFACE, deprecated=True)
    idempotency_key: str | None = Field(default=None, max_length=200)


class ActionResponse(BaseModel):
    number: str
    outcome: str
    message: str
    replayed: bool
    requisition: RequisitionView


def _response(result: ActionResult) -> ActionResponse:
    return ActionResponse(
        number=result.number,
        outcome=result.outcome,
        message=result.message,
        replayed=result.replayed,
        requisition=result.requisition,
    )


CREATE_EXAMPLE = {
    "requester": "jake.miller",
    "site": "DAL",
    "cost_center": "DAL-OPS",
    "supplier": "uline",
    "lines": [{"description": "Stretch wrap 18in", "sku": "PKG-SW-18", "quantity": 40, "unit_price": 32}],
    "need_by": "2026-11-20",
    "urgency": "urgent",
}


@router.post(
    "",
    status_code=201,
    response_model=ActionResponse,
    summary="Create and submit a requisition",
    responses=errors(409),
    openapi_extra={"requestBody": {"content": {"application/json": {"example": CREATE_EXAMPLE}}}},
)
def create_requisition(
    request: Request,
    body: CreateRequisition,
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*WRITE)),
    idempotency_key: IdempotencyKey = None,
) -> ActionResponse:
    actor = body.actor or body.requester
    for person in dict.fromkeys((actor, body.requester)):
        vet_actor(request, caller, actor=person, action="submit", site=body.site)
    draft = RequisitionDraft.model_validate(body.model_dump(exclude={"actor", "draft", "surface"}))
    cmd = c.SubmitRequisition(
        actor=actor,
        surface="api",
        draft=draft,
        as_draft=body.draft,
        idempotency_key=scoped_key(caller, idempotency_key),
    )
    with acting(caller.credential):
        result = svc.submit(cmd)
    return _response(result)


@router.get("", response_model=list[RequisitionView], summary="List requisitions with filters (those you may see)")
def list_requisitions(
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*READ)),
    state: Filter = None,
    requester: Filter = None,
    site: Filter = None,
    supplier: Filter = None,
    cost_center: Filter = None,
    waiting_on: Annotated[
        str | None, Query(description="person id with a pending step", max_length=80, pattern=NO_NUL)
    ] = None,
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=10_000_000),
) -> list[RequisitionView]:
    filters: dict[str, Any] = {
        "state": state,
        "requester": requester,
        "site": site,
        "supplier": supplier,
        "cost_center": cost_center,
        "waiting_on": waiting_on,
    }
    if caller.sees_everything:
        return svc.list(**filters, limit=limit, offset=offset)
    # offset and limit count the requisitions this token may see, so pages read through the hidden ones
    sees, found, skipped, at = reader(svc, caller), [], 0, 0
    while len(found) < limit:
        batch = svc.list(**filters, limit=500, offset=at)
        for view in batch:
            if not sees(view):
                continue
            if skipped < offset:
                skipped += 1
                continue
            found.append(view)
            if len(found) == limit:
                break
        if len(batch) < 500:
            break
        at += 500
    return found


@router.get(
    "/{number}",
    response_model=RequisitionView,
    summary="One requisition with its route and history",
    responses=errors(404),
)
def get_requisition(
    number: Number, svc: ApprovalService = Depends(service), caller: Caller = Depends(require(*READ))
) -> RequisitionView:
    return visible(svc, caller, number)


@router.post(
    "/{number}/actions",
    response_model=ActionResponse,
    summary="Approve, reject, ask for info, answer, withdraw, amend, reassign or escalate",
    responses=errors(404, 409),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "examples": {
                        "approve": {"value": {"action": "approve", "actor": "maria.lopez", "comment": "OK for Q4"}},
                        "reject": {
                            "value": {"action": "reject", "actor": "maria.lopez", "comment": "Use the contract price"}
                        },
                    }
                }
            }
        }
    },
)
def act_on_requisition(
    request: Request,
    number: Number,
    body: ActionRequest,
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*WRITE)),
    idempotency_key: IdempotencyKey = None,
) -> ActionResponse:
    if caller.credential is not None and caller.credential.act_as is None:
        # no grant at all: refused the same way whatever the number, so the refusal says nothing of it
        vet_actor(request, caller, actor=body.actor, action=body.action, site=None, number=number)
    view = visible(svc, caller, number)
    vet_actor(request, caller, actor=body.actor, action=body.action, site=view.site, number=view.number)
    key = scoped_key(caller, idempotency_key or body.idempotency_key)
    common: dict[str, Any] = {"actor": body.actor, "surface": "api", "idempotency_key": key, "number": number}
    comment = body.comment
    if body.action in ("reassign", "escalate") and not caller.is_admin:
        raise NotAllowed(f"Only an admin token can {body.action} approval steps.")
    with acting(caller.credential):
        match body.action:
            case "approve" | "reject" | "request_info" | "answer_info" | "withdraw":
                result = decide(svc, c.Decide(**common, action=body.action, comment=comment), as_admin=caller.is_admin)
            case "submit":
                result = svc.submit_draft(c.SubmitDraft(**common))
            case "amend":
                result = svc.amend(c.Amend(**common, lines=body.lines or [], reason=comment or ""))
            case "reassign":
                result = svc.reassign(
                    c.Reassign(
                        **common,
                        from_person=body.from_person or "",
                        to_person=body.to_person or "",
                        reason=comment or "",
                    )
                )
            case "escalate":
                result = svc.escalate(
                    c.Escalate(**common, reason=comment or "escalated on request", to_person=body.to_person),
                    as_admin=True,
                )
            case "pause" | "resume" | "end":
                result = svc.change_schedule(c.ChangeSchedule(**common, action=body.action))
        return _response(result)


class CommentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=80, description="The person commenting")
    text: str = Field(
        min_length=1, max_length=c.MAX_COMMENT, description="What they say; `@person.id` or `@Full Name` notifies"
    )


class CommentView(BaseModel):
    id: int
    author: str
    author_name: str
    text: str
    mentions: list[str]
    surface: str
    created_at: datetime


class CommentResponse(BaseModel):
    number: str
    message: str
    replayed: bool
    comments: list[CommentView]


def _comment_views(svc: ApprovalService, number: str) -> list[CommentView]:
    def name(person_id: str) -> str:
        person = svc.directory.person(person_id)
        return person.name if person else person_id

    return [
        CommentView(
            id=cm.id or 0,
            author=cm.author,
            author_name=name(cm.author),
            text=cm.body,
            mentions=list(cm.mentions),
            surface=cm.surface,
            created_at=cm.created_at,
        )
        for cm in svc.comments_on(number)
    ]


@router.get(
    "/{number}/comments",
    response_model=list[CommentView],
    summary="The comments on a requisition, oldest first",
    responses=errors(404),
)
def list_comments(
    number: Number, svc: ApprovalService = Depends(service), caller: Caller = Depends(require(*READ))
) -> list[CommentView]:
    view = visible(svc, caller, number)
    return _comment_views(svc, view.number)


@router.post(
    "/{number}/comments",
    status_code=201,
    response_model=CommentResponse,
    summary="Comment on a requisition; the people involved and anyone @mentioned are told",
    responses=errors(404, 409),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {"actor": "maria.lopez", "text": "@Lucy Chen can the contract price apply here?"}
                }
            }
        }
    },
)
def add_comment(
    request: Request,
    number: Number,
    body: CommentRequest,
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*WRITE)),
    idempotency_key: IdempotencyKey = None,
) -> CommentResponse:
    if caller.credential is not None and caller.credential.act_as is None:
        vet_actor(request, caller, actor=body.actor, action="comment", site=None, number=number)
    view = visible(svc, caller, number)
    vet_actor(request, caller, actor=body.actor, action="comment", site=view.site, number=view.number)
    cmd = c.AddComment(
        actor=body.actor,
        surface="api",
        number=view.number,
        text=body.text,
        idempotency_key=scoped_key(caller, idempotency_key),
    )
    with acting(caller.credential):
        result = svc.comment(cmd)
    return CommentResponse(
        number=result.number,
        message=result.message,
        replayed=result.replayed,
        comments=_comment_views(svc, result.number),
    )
