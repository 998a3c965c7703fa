"""Delegations: who approves for whom, when."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from approvals import commands as c
from approvals.clock import as_utc
from approvals.credentials import acting
from approvals.errors import NotFound
from approvals.models import Delegation
from approvals.workflow import ApprovalService
from bot.api.acting import scoped_key, vet_actor
from bot.api.auth import READ, WRITE, Caller, require
from bot.api.openapi import errors
from bot.api.routes.requisitions import service

router = APIRouter(prefix="/api/v1/delegations", tags=["delegations"])
DelegationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class DelegationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=80, description="Who sets it (the delegator, or an admin)")
    delegator: str
    delegate: str
    starts_at: datetime
    ends_at: datetime
    category: str | None = None
    max_amount: Decimal | None = Field(default=None, gt=0, le=Decimal("1e12"))
    reason: str = Field(default="", max_length=300)
    surface: c.Surface = Field(default="api", description="Ignored: the server records the surface (`api`).")
    idempotency_key: str | None = Field(default=None, max_length=200)


class DelegationOut(BaseModel):
    id: int
    delegator: str
    delegate: str
    starts_at: datetime
    ends_at: datetime
    category: str | None
    max_amount: Decimal | None
    reason: str
    created_by: str
    cancelled_at: datetime | None
    active: bool


def _out(row: Delegation, now: datetime) -> DelegationOut:
    starts, ends = as_utc(row.starts_at), as_utc(row.ends_at)
    return DelegationOut(
        id=row.id or 0,
        delegator=row.delegator,
        delegate=row.delegate,
        starts_at=starts,  # type: ignore[arg-type]
        ends_at=ends,
        category=row.category,
        max_amount=row.max_amount,
        reason=row.reason,  # type: ignore[arg-type]
        created_by=row.created_by,
        cancelled_at=as_utc(row.cancelled_at),
        active=row.cancelled_at is None and starts <= now < ends,
    )  # type: ignore[operator]


@router.get("", response_model=list[DelegationOut], summary="Current and upcoming delegations")
def list_delegations(
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*READ)),
    person: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    include_ended: bool = Query(default=False),
) -> list[DelegationOut]:
    now = svc.clock()
    rows = svc.delegations(person=person, include_ended=include_ended)
    return [_out(r, now) for r in rows if _may_read(caller, svc, r)]


def _may_read(caller: Caller, svc: ApprovalService, row: Any) -> bool:
    """A delegation is read by the two people in it, by a token that may act for one of them, and by the
    admin and auditor roles; to anyone else it does not exist."""
    if caller.sees_everything:
        return True
    credential = caller.credential
    if credential is None:
        return False
    return any(credential.may_act_as(p, _site(svc, p)) for p in (row.delegator, row.delegate))


@router.get("/{delegation_id}", response_model=DelegationOut, summary="One delegation", responses=errors(404))
def get_delegation(
    delegation_id: DelegationId, svc: ApprovalService = Depends(service), caller: Caller = Depends(require(*READ))
) -> DelegationOut:
    for row in svc.delegations(include_ended=True):
        if row.id == delegation_id and _may_read(caller, svc, row):
            return _out(row, svc.clock())
    raise NotFound(f"There is no delegation {delegation_id}.")


@router.post(
    "",
    status_code=201,
    response_model=DelegationOut,
    summary="Set a delegation window",
    responses=errors(409),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "actor": "zoe.martin",
                        "delegator": "zoe.martin",
                        "delegate": "priya.nair",
                        "starts_at": "2026-12-20T00:00:00Z",
                        "ends_at": "2027-01-03T00:00:00Z",
                        "reason": "Holiday",
                    }
                }
            }
        }
    },
)
def create_delegation(
    request: Request,
    body: DelegationIn,
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*WRITE)),
) -> DelegationOut:
    vet_actor(request, caller, actor=body.actor, action="set_delegation", site=_site(svc, body.delegator))
    values = {**body.model_dump(), "surface": "api"}
    if body.idempotency_key:
        values["idempotency_key"] = scoped_key(caller, body.idempotency_key)
    with acting(caller.credential):
        row = svc.set_delegation(c.SetDelegation(**values), as_admin=caller.is_admin)
    return _out(row, svc.clock())


def _site(svc: ApprovalService, person: str) -> str | None:
    """A delegation has no site of its own: an act-as grant limited to sites is read against the person's."""
    p = svc.directory.person(person)
    return p.site if p else None


@router.delete(
    "/{delegation_id}", response_model=DelegationOut, summary="End a delegation now", responses=errors(404, 409)
)
def cancel_delegation(
    request: Request,
    delegation_id: DelegationId,
    actor: str = Query(min_length=1, max_length=80),
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*WRITE)),
) -> DelegationOut:
    vet_actor(request, caller, actor=actor, action="cancel_delegation", site=_site(svc, actor))
    with acting(caller.credential):
        row = svc.cancel_delegation(
            c.CancelDelegation(actor=actor, delegation_id=delegation_id), as_admin=caller.is_admin
        )
    return _out(row, svc.clock())


class DelegationChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=80)
    ends_at: datetime
    surface: c.Surface = Field(default="api", description="Ignored: the server records the surface (`api`).")


@router.patch(
    "/{delegation_id}", response_model=DelegationOut, summary="Move a delegation's end", responses=errors(404, 409)
)
def change_delegation(
    request: Request,
    delegation_id: DelegationId,
    body: DelegationChange,
    svc: ApprovalService = Depends(service),
    caller: Caller = Depends(require(*WRITE)),
) -> DelegationOut:
    vet_actor(request, caller, actor=body.actor, action="change_delegation", site=_site(svc, body.actor))
    with acting(caller.credential):
        row = svc.change_delegation(
            c.ChangeDelegation(actor=body.actor, surface="api", delegation_id=delegation_id, ends_at=body.ends_at),
            as_admin=caller.is_admin,
        )
    return _out(row, svc.clock())
