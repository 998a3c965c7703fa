"""Typed commands: one input model per operation. Surfaces build these; the core never sees a chat payload."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from approvals.requisition import LineDraft, RequisitionDraft
from approvals.validation import refuse_nul

Surface = Literal["api", "web", "slack", "teams", "cli", "scheduler", "email"]
MAX_COMMENT = 2000


def _sane_year(moment: datetime) -> None:
    # far-away years overflow time-zone arithmetic and mean a typo anyway
    if not 2000 <= moment.year <= 2100:
        raise ValueError(f"{moment.year} is not a plausible year for a delegation")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)

    actor: str = Field(min_length=1, max_length=80)
    surface: Surface = "api"
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class SubmitRequisition(_Command):
    draft: RequisitionDraft
    as_draft: bool = False  # keep it as a draft instead of submitting


class SubmitDraft(_Command):
    number: str


class Approve(_Command):
    number: str
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)


class Reject(_Command):
    number: str
    reason: str = Field(min_length=1, max_length=MAX_COMMENT)

    @model_validator(mode="after")
    def _reason_not_blank(self) -> "Reject":
        if not self.reason.strip():
            raise ValueError("a rejection needs a reason the requester can act on")
        return self


class RequestInfo(_Command):
    number: str
    question: str = Field(min_length=1, max_length=MAX_COMMENT)


class AnswerInfo(_Command):
    number: str
    answer: str = Field(min_length=1, max_length=MAX_COMMENT)


class AddComment(_Command):
    """Something said about a requisition by someone who may see it; `@name` mentions notify that person."""

    number: str
    text: str = Field(min_length=1, max_length=MAX_COMMENT)

    @model_validator(mode="after")
    def _not_blank(self) -> "AddComment":
        if not self.text.strip():
            raise ValueError("a comment needs some words")
        return self


class AddAttachment(_Command):
    """A file attached to a requisition by someone who may see it. The bytes travel beside the command
    (ApprovalService.attach); the command names them by size and SHA-256, so a retry is known by its content."""

    number: str
    filename: str = Field(max_length=1000)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Withdraw(_Command):
    number: str
    reason: str | None = Field(default=None, max_length=MAX_COMMENT)


class Reassign(_Command):
    """An administrator moves a pending step from one approver to another."""

    number: str
    from_person: str
    to_person: str
    reason: str = Field(min_length=1, max_length=MAX_COMMENT)


class CorrectCategory(_Command):
    """A buyer corrects the category of one line after submit: the record and the spend reports follow, the route
    already taken does not change, and the classifier learns from it."""

    number: str
    line_no: int = Field(ge=1)
    category: str = Field(min_length=1, max_length=40)
    reason: str = Field(default="", max_length=MAX_COMMENT)


class MoveFromLeaver(_Command):
    """Move an open step off someone who has left the directory (approvals.workflow.admin)."""

    number: str
    step_id: int
    leaver: str


class Escalate(_Command):
    """Escalate the pending steps of the current stage per the policy (or to a named person)."""

    number: str
    reason: str = Field(default="SLA exceeded", max_length=MAX_COMMENT)
    to_person: str | None = None


class Amend(_Command):
    """The requester changes the lines (quantities, prices) of a requisition in flight or approved."""

    number: str
    lines: list[LineDraft] = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=MAX_COMMENT)


class SetDelegation(_Command):
    delegator: str
    delegate: str
    starts_at: datetime
    ends_at: datetime
    category: str | None = None
    max_amount: Decimal | None = Field(default=None, gt=0, le=Decimal("1e12"))
    reason: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _window(self) -> "SetDelegation":
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("give times with a time zone (e.g. 2026-12-20T00:00:00-06:00)")
        _sane_year(self.starts_at)
        _sane_year(self.ends_at)
        if self.ends_at <= self.starts_at:
            raise ValueError("the delegation must end after it starts")
        if (self.ends_at - self.starts_at).days > 366:
            raise ValueError("a delegation lasts at most one year; set a new one after that")
        return self


class ChangeDelegation(_Command):
    delegation_id: int = Field(ge=1, le=2**31 - 1)
    ends_at: datetime

    @model_validator(mode="after")
    def _aware(self) -> "ChangeDelegation":
        if self.ends_at.tzinfo is None:
            raise ValueError("give the time with a time zone (e.g. 2027-01-03T00:00:00-06:00)")
        _sane_year(self.ends_at)
        return self


class CancelDelegation(_Command):
    delegation_id: int = Field(ge=1, le=2**31 - 1)


DecisionAction = Literal["approve", "reject", "request_info", "answer_info", "withdraw"]
DECISIONS: tuple[DecisionAction, ...] = get_args(DecisionAction)
NEEDS_WORDS: frozenset[DecisionAction] = frozenset({"reject", "request_info", "answer_info"})


class Decide(_Command):
    """One decision on a requisition, the same from every surface: the action names it, `comment` carries its
    words (the approval note, the rejection reason, the question, the answer or the withdraw reason).

    `command()` is the typed command the service takes for it; approvals.decide.decide sends it."""

    action: DecisionAction
    number: str
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)

    def command(self) -> Approve | Reject | RequestInfo | AnswerInfo | Withdraw:
        """The typed command; a missing reason, question or answer is refused by its own field's rules."""
        common: dict[str, Any] = {
            "actor": self.actor,
            "surface": self.surface,
            "number": self.number,
            "idempotency_key": self.idempotency_key,
        }
        match self.action:
            case "approve":
                return Approve(**common, comment=self.comment)
            case "reject":
                return Reject(**common, reason=self.comment or "")
            case "request_info":
                return RequestInfo(**common, question=self.comment or "")
            case "answer_info":
                return AnswerInfo(**common, answer=self.comment or "")
            case "withdraw":
                return Withdraw(**common, reason=self.comment)


Action = Literal["approve", "reject", "request_info", "answer_info", "withdraw", "reassign", "escalate", "submit"]


class ChangeSchedule(_Command):
    """The requester or a buyer pauses, resumes or ends a recurring requisition's releases (approvals/recurring.py)."""

    number: str = Field(min_length=1, max_length=20)
    action: Literal["pause", "resume", "end"]
