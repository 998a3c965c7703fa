"""What the classifier suggested and what the person confirmed, and the exception summary shown to approvers.

A suggestion is never a decision: `category_suggestion` keeps, per submitted line, the category
suggested (by the learned model, the LLM or the keywords; empty when the requester was asked), its
confidence, the model version, and the category the requester confirmed, which is the one routing
used. Those confirmations are what the category model learns from (approvals/category_learning.py).
`exception_summary` keeps the note written for the
approver's card for one round of a requisition, with where it came from (the LLM, checked
against our facts, or the deterministic one) and which prompt version and model wrote it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from approvals.clock import utcnow
from approvals.columns import timestamp_field
from approvals.db import transaction


class CategorySuggestion(SQLModel, table=True):
    __tablename__ = "category_suggestion"
    __table_args__ = (Index("ix_category_suggestion_number", "requisition_number"),)

    id: int | None = Field(default=None, primary_key=True)
    requisition_number: str = Field(max_length=20)
    line_no: int
    description: str = Field(max_length=300)
    suggested: str = Field(max_length=40)
    confidence: float
    source: str = Field(max_length=20)  # model | llm | keyword | catalog | supplier | none (the person chose)
    prompt_version: str = Field(default="", max_length=40)
    model: str = Field(default="", max_length=80)
    # the learned category model that made (or would have made) the suggestion: approvals/category_model.py
    model_version: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})
    confirmed: str = Field(max_length=40)  # what the requester submitted; routing used this
    accepted: bool
    created_at: datetime = timestamp_field(default_factory=utcnow)


class ExceptionSummary(SQLModel, table=True):
    __tablename__ = "exception_summary"
    __table_args__ = (UniqueConstraint("requisition_number", "round", name="uq_exception_summary_round"),)

    id: int | None = Field(default=None, primary_key=True)
    requisition_number: str = Field(max_length=20)
    round: int = 0
    text: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=20)  # llm | deterministic
    prompt_version: str = Field(default="", max_length=40)
    model: str = Field(default="", max_length=80)
    outcome: str = Field(default="", max_length=80)  # why the LLM's was not used, when it was not
    created_at: datetime = timestamp_field(default_factory=utcnow)


def record_suggestions(engine: Any, rows: list[CategorySuggestion]) -> None:
    if not rows:
        return
    with transaction(engine) as session:
        for row in rows:
            session.add(row)


def save_summary(engine: Any, row: ExceptionSummary) -> bool:
    """Store the summary for a round; False if one is already there (the first written stays)."""
    try:
        with transaction(engine) as session:
            session.add(row)
    except IntegrityError:
        return False
    return True


def stored_summary(engine: Any, number: str, round_: int) -> ExceptionSummary | None:
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(
            select(ExceptionSummary).where(
                ExceptionSummary.requisition_number == number, ExceptionSummary.round == round_
            )
        ).first()
        if row is not None:
            session.expunge(row)
        return row


def suggestions_for(engine: Any, number: str) -> list[CategorySuggestion]:
    with Session(engine, expire_on_commit=False) as session:
        rows = list(
            session.exec(
                select(CategorySuggestion)
                .where(CategorySuggestion.requisition_number == number)
                .order_by(col(CategorySuggestion.line_no))
            ).all()
        )
        for row in rows:
            session.expunge(row)
        return rows
