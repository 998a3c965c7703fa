"""Database tables (SQLModel). Migrations live in alembic/; keep both in step."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from approvals.clock import utcnow
from approvals.columns import timestamp_field

Money = Numeric(20, 4, asdecimal=True)
# approvals/outbox.py still imports the column helper by its old name from here; the line goes when it imports
# approvals.columns.timestamp_field itself
_ts = timestamp_field


class PolicyVersion(SQLModel, table=True):
    __tablename__ = "policy_version"

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(max_length=80)
    version: str = Field(max_length=40)
    content_hash: str = Field(max_length=64, unique=True)
    filename: str = Field(default="", max_length=300)
    source: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime = timestamp_field(default_factory=utcnow)
    active: bool = Field(default=False)


class Requisition(SQLModel, table=True):
    __tablename__ = "requisition"
    __table_args__ = (
        Index("ix_requisition_state", "state"),
        Index("ix_requisition_requester", "requester"),
        Index("ix_requisition_cost_center_state", "cost_center", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=20, unique=True)
    title: str = Field(default="", max_length=200)
    requester: str = Field(max_length=80)
    site: str = Field(max_length=20)
    cost_center: str = Field(max_length=40)
    supplier: str = Field(max_length=80)
    currency: str = Field(max_length=3)
    total: Decimal = Field(sa_type=Money)
    amount: Decimal = Field(sa_type=Money)  # in the policy currency; what routing saw
    category: str = Field(max_length=40)
    item_type: str = Field(max_length=20)
    urgency: str = Field(default="standard", max_length=20)
    recurring: bool = False
    need_by: date | None = None
    justification: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    state: str = Field(max_length=20)
    policy_version_id: int | None = Field(default=None, foreign_key="policy_version.id")
    # the directory version routing read (approvals/directory_store.py); None when routed on a file read directly
    directory_version_id: int | None = Field(default=None)
    route: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    current_stage: int = 0
    round: int = 0  # bumps when an amendment sends it back for approval
    version: int = 0  # optimistic check for writers that do not hold the row lock
    surface: str = Field(default="api", max_length=20)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    updated_at: datetime = timestamp_field(default_factory=utcnow)
    submitted_at: datetime | None = timestamp_field(default=None)
    decided_at: datetime | None = timestamp_field(default=None)


class RequisitionLine(SQLModel, table=True):
    __tablename__ = "requisition_line"

    id: int | None = Field(default=None, primary_key=True)
    requisition_id: int = Field(foreign_key="requisition.id", index=True)
    line_no: int
    description: str = Field(max_length=300)
    sku: str | None = Field(default=None, max_length=60)
    quantity: Decimal = Field(sa_type=Money)
    unit_price: Decimal = Field(sa_type=Money)
    unit: str = Field(default="each", max_length=20)
    category: str = Field(max_length=40)
    item_type: str = Field(max_length=20)
    total: Decimal = Field(sa_type=Money)


class ApprovalStep(SQLModel, table=True):
    """One approver's part in one stage. A stage is the steps sharing (requisition, round, stage_index)."""

    __tablename__ = "approval_step"
    __table_args__ = (
        Index("ix_step_req_round_stage", "requisition_id", "round", "stage_index"),
        Index("ix_step_acting_state", "acting", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    requisition_id: int = Field(foreign_key="requisition.id")
    round: int = 0
    stage_index: int
    stage_name: str = Field(max_length=80)
    mode: str = Field(max_length=10)
    required: int
    approver: str = Field(max_length=80)
    acting: str = Field(max_length=80)  # who holds it now (the approver or their delegate)
    state: str = Field(max_length=20)  # waiting, pending, approved, rejected, not_needed, cancelled, escalated
    rule_id: str = Field(max_length=80)
    explanation: str = Field(default="", max_length=600)
    sla_hours: Decimal = Field(sa_type=Money)
    escalate_to: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    escalation: str = Field(default="add", max_length=10)
    check_limits: bool = True  # the stage's policy setting, applied again when escalating
    escalated_from: int | None = None
    activated_at: datetime | None = timestamp_field(default=None)
    decided_at: datetime | None = timestamp_field(default=None)
    decided_by: str | None = Field(default=None, max_length=80)
    on_behalf_of: str | None = Field(default=None, max_length=80)
    comment: str | None = Field(default=None, sa_column=Column(Text))


class Decision(SQLModel, table=True):
    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    requisition_id: int = Field(foreign_key="requisition.id", index=True)
    step_id: int | None = Field(default=None, foreign_key="approval_step.id")
    action: str = Field(max_length=20)
    actor: str = Field(max_length=80)
    on_behalf_of: str | None = Field(default=None, max_length=80)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    surface: str = Field(default="api", max_length=20)
    policy_version: str = Field(default="", max_length=40)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class InfoRequest(SQLModel, table=True):
    __tablename__ = "info_request"

    id: int | None = Field(default=None, primary_key=True)
    requisition_id: int = Field(foreign_key="requisition.id", index=True)
    step_id: int | None = Field(default=None, foreign_key="approval_step.id")
    asked_by: str = Field(max_length=80)
    question: str = Field(sa_column=Column(Text, nullable=False))
    asked_at: datetime = timestamp_field(default_factory=utcnow)
    answer: str | None = Field(default=None, sa_column=Column(Text))
    answered_by: str | None = Field(default=None, max_length=80)
    answered_at: datetime | None = timestamp_field(default=None)
    state: str = Field(default="open", max_length=10)


class Delegation(SQLModel, table=True):
    __tablename__ = "delegation"
    __table_args__ = (Index("ix_delegation_delegator", "delegator"),)

    id: int | None = Field(default=None, primary_key=True)
    delegator: str = Field(max_length=80)
    delegate: str = Field(max_length=80)
    starts_at: datetime = timestamp_field()
    ends_at: datetime = timestamp_field()
    category: str | None = Field(default=None, max_length=40)
    max_amount: Decimal | None = Field(default=None, sa_type=Money)
    reason: str = Field(default="", max_length=300)
    created_by: str = Field(max_length=80)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    cancelled_at: datetime | None = timestamp_field(default=None)


class CommandLog(SQLModel, table=True):
    """One row per idempotency key: the same key returns the stored result, never acts twice."""

    __tablename__ = "command_log"

    key: str = Field(primary_key=True, max_length=200)
    command: str = Field(max_length=40)
    fingerprint: str = Field(max_length=64)
    requisition_id: int | None = None
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = timestamp_field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained. `seq` is dense: a gap or a changed link shows tampering."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_requisition", "requisition_number"),)

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = timestamp_field()
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=80)
    on_behalf_of: str | None = Field(default=None, max_length=80)
    surface: str = Field(default="api", max_length=20)
    requisition_number: str | None = Field(default=None, max_length=20)
    policy_version: str | None = Field(default=None, max_length=80)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's last link, updated with every append, so a deleted tail is noticed too."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_type=BigInteger)
    hash: str = Field(default="0" * 64, max_length=64)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64)
    role: str = Field(max_length=20)  # admin, auditor, service
    created_at: datetime = timestamp_field(default_factory=utcnow)
    revoked_at: datetime | None = timestamp_field(default=None)
    last_used_at: datetime | None = timestamp_field(default=None)
    # the person this token is (its own identity), and its permission to act as others: off unless granted;
    # granted, limited to these sites / people when listed (comma-separated; empty: no limit)
    person: str | None = Field(default=None, max_length=80)
    act_as: bool = Field(default=False)
    act_as_sites: str = Field(default="", max_length=400)
    act_as_people: str = Field(default="", max_length=2000)
