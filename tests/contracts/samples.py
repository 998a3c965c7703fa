"""Every kind of card the product draws, from the real builders over a real service, with realistic data.

`cards_of_every_kind` returns (name, Card) pairs: the requester's summary before submitting, a question,
the approver's card (three actions, two of them forms), the requester's status card, a needs-info card,
a decided card, a queue, a delegation confirmation, and the approver's card of a long requisition (200
lines with the longest descriptions the API accepts and a long justification, as a buyer pasting a
spreadsheet would send).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from factories import STRETCH_WRAP, submit

from approvals.commands import Approve, RequestInfo, SetDelegation
from approvals.db import make_engine, transaction
from approvals.directory import Directory
from approvals.policy import LoadedPolicy
from approvals.policy_store import install_policy
from approvals.requisition import MAX_DESCRIPTION, MAX_LINES, MAX_TEXT
from approvals.workflow import ApprovalService
from approvals.workflow.attachments import attach_command
from bot.cards.model import Card
from bot.intake import cards as intake_cards
from bot.intake.draft import DraftLine, DraftState
from tests import attachment_files


def long_lines(count: int = MAX_LINES) -> list[dict[str, object]]:
    """A spreadsheet pasted into a request: `count` lines, each description as long as the API takes."""
    lines = []
    for i in range(count):
        words = (
            f"Line {i:03d}: corrugated shipping carton, double wall, 200# test, printed two colours, for the DAL dock "
        )
        lines.append(
            {
                "description": (words * 4)[:MAX_DESCRIPTION],
                "sku": "PKG-BOX-2012",
                "quantity": 1 + i % 7,
                "unit_price": 48,
            }
        )
    return lines


def service_on(
    tmp_path: Path, sqlite_template: Path, directory: Directory, policy: LoadedPolicy, clock
) -> ApprovalService:  # type: ignore[no-untyped-def]
    path = tmp_path / "contracts.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with transaction(engine) as session:
        install_policy(session, policy, at=clock())
    return ApprovalService(engine, directory, clock=clock)


def cards_of_every_kind(service: ApprovalService, directory: Directory) -> list[tuple[str, Card]]:
    """(name, card) for each card kind, as its reader sees it."""
    out: list[tuple[str, Card]] = []
    need_by = service.clock().date() + timedelta(days=10)
    draft = DraftState(
        draft_id="d-1",
        lines=[
            DraftLine(description="Stretch wrap 18in", quantity=Decimal(40), unit="roll", unit_price=Decimal(32)),
            DraftLine(description="Box cutter", quantity=Decimal(3), unit_price=Decimal("7.5"), price_source="catalog"),
        ],
        supplier="uline",
        site="DAL",
        cost_center="DAL-OPS",
        need_by=need_by,
        urgency="urgent",
        justification="Dock 4 runs out on Friday",
    )
    out.append(("requisition_summary", intake_cards.summary_card(draft, directory)))
    out.append(
        (
            "question",
            intake_cards.question_card(
                "Which supplier, Uline or Grainger?", "supplier", [("Uline", "uline"), ("Grainger", "grainger")]
            ),
        )
    )

    plain = service.submit(submit(lines=[STRETCH_WRAP], need_by=need_by, urgency="urgent"))
    quote = attachment_files.pdf()  # the cards list the files a requisition carries
    service.attach(
        attach_command(actor="jake.miller", surface="web", number=plain.number, filename="Uline quote.pdf", data=quote),
        quote,
    )
    view = service.view(plain.requisition.number)
    approver = view.waiting_on[0]
    out.append(
        ("approval_request", intake_cards.requisition_card(view, approver, directory, summary="Twice the usual"))
    )
    out.append(("status_answer", intake_cards.requisition_card(view, view.requester, directory)))

    service.request_info(RequestInfo(actor=approver, number=view.number, question="Which dock is this for?"))
    asked = service.view(view.number)
    out.append(("info_request", intake_cards.requisition_card(asked, asked.requester, directory)))

    small = service.submit(submit(lines=[{**STRETCH_WRAP, "quantity": 2}], key="small"))
    small_view = service.view(small.requisition.number)
    for person in list(small_view.waiting_on):
        service.approve(Approve(actor=person, number=small_view.number))
    decided = service.view(small_view.number)
    out.append(("decision_result", intake_cards.requisition_card(decided, decided.requester, directory)))

    queue = [service.view(plain.requisition.number), decided]
    out.append(("queue", intake_cards.queue_card("Waiting on you", queue, directory, "Nothing waits on you.")))

    start = service.clock()
    delegation = service.set_delegation(
        SetDelegation(
            actor=approver,
            delegator=approver,
            delegate="priya.nair" if approver != "priya.nair" else "david.okafor",
            starts_at=start,
            ends_at=start + timedelta(days=14),
        )
    )
    out.append(("delegation_confirmation", intake_cards.delegation_card(delegation, directory, "Dec 20", "Jan 3")))

    justification = ("Quarterly replenishment for every dock, per the attached count sheet. " * 80)[:MAX_TEXT]
    long = service.submit(submit(lines=long_lines(), justification=justification, key="long"))
    long_view = service.view(long.requisition.number)
    out.append(("long_approval_request", intake_cards.requisition_card(long_view, long_view.waiting_on[0], directory)))
    out.append(("long_status_answer", intake_cards.requisition_card(long_view, long_view.requester, directory)))
    return out
