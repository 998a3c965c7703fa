"""The card model every surface renders: title, facts, why-you, exceptions, status line, actions.

It says nothing about HTML, Block Kit or Adaptive Cards. An action carries what the surface
must send back when tapped (its id and value), and, when the action needs words from the
person (a rejection reason, a question), the label of that text field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CardKind = Literal[
    "requisition_summary",
    "question",
    "approval_request",
    "decision_result",
    "info_request",
    "status_answer",
    "queue",
    "delegation_confirmation",
]
Tone = Literal["info", "ok", "warn", "bad"]


class Fact(BaseModel):
    label: str
    value: str


class CardField(BaseModel):
    """One field of an action's form: `name` is its key in the value sent back."""

    name: str
    label: str
    kind: Literal["text", "email", "url", "file"] = "text"
    required: bool = True
    value: str = ""  # filled in already (the supplier's name as typed)


class CardAction(BaseModel):
    # approve | reject | request_info | answer_info | withdraw | submit | edit | cancel | choose | status
    # | cancel_delegation
    id: str
    label: str
    style: Literal["primary", "danger", "default"] = "default"
    value: dict[str, str] = Field(default_factory=dict)
    input_label: str | None = None  # the action needs text from the person (required)
    # the action is a small form (a new supplier's name, e-mail, website): each field's words come back in `value`
    fields: list[CardField] = Field(default_factory=list)


class CardFile(BaseModel):
    """A file the requisition carries: its id (the surface links it through the product's read check), its name,
    and a note ("120 KB, from Jake Miller")."""

    id: int
    filename: str
    note: str = ""


class Card(BaseModel):
    kind: CardKind
    title: str
    number: str | None = None  # the requisition it shows; every copy re-renders when it changes
    facts: list[Fact] = Field(default_factory=list)
    lines: list[str] = Field(default_factory=list)  # item lines, one sentence each
    why_you: str | None = None
    # the approval chain, one line per stage (approvals/chain.py): what each decided, whom it waits on, what is to come
    chain: list[str] = Field(default_factory=list)
    # the newest comments, one line each ("Zoe Martin at …: words"), the oldest first
    comments: list[str] = Field(default_factory=list)
    # the files it carries (quotes, specs, photos), the oldest first; `can_attach`: the surface offers an upload
    attachments: list[CardFile] = Field(default_factory=list)
    can_attach: bool = False
    exceptions: list[str] = Field(default_factory=list)
    status: str = ""
    tone: Tone = "info"
    actions: list[CardAction] = Field(default_factory=list)
