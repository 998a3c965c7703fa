"""A file the ERP refuses (or the store lost) never costs the PO, and nobody is left guessing: the requisition's
audit timeline names the file and why, and every buyer and the requester are told, once, in words without the ERP's
own answer."""

from __future__ import annotations

from erp_fakes import with_files
from sqlmodel import Session, col, select
from test_erp_business_central import order
from test_erp_po_files import odoo, odoo_erp, odoo_files  # noqa: F401  (the Odoo fake and its connector)

from approvals.attachment_store import DatabaseStore
from approvals.audit import verify_chain
from approvals.models import AuditEvent
from approvals.workflow.attachments import attach_command
from bot.erp_dispatcher import attachment_reader, files_left_out
from connectors.erp.base import PurchaseOrderRequest, TransientError
from tests import attachment_files as files
from tests.core.test_erp_outbox import Inbox, approve_small, dispatcher

BUYERS = ["ben.turner", "grace.kim"]


def attach_two(service, number: str) -> tuple[bytes, bytes]:  # type: ignore[no-untyped-def]
    """Jake attaches the supplier's quote and a spec photo to his order."""
    quote, spec = files.pdf(), files.png()
    for name, data in (("Uline quote.pdf", quote), ("Pallet spec.png", spec)):
        service.attach(
            attach_command(actor="jake.miller", surface="web", number=number, filename=name, data=data), data
        )
    return quote, spec


def events(engine, number: str, kind: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.requisition_number == number).order_by(col(AuditEvent.seq)))
        return [e for e in rows.all() if e.kind == kind]


class AnswerLost:
    """The connector makes the PO, then the answer is lost once (a timeout): the outbox retries the whole call."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        self.inner, self.name, self.lost = inner, inner.name, False

    def create_po(self, order, progress=None):  # type: ignore[no-untyped-def]
        po = self.inner.create_po(order, progress)
        if not self.lost:
            self.lost = True
            raise TransientError("no answer from the ERP (ReadTimeout)")
        return po


def test_odoo_refusing_the_quote_is_on_the_timeline_and_told_to_buyers_and_requester(
    service,
    engine,
    directory,
    clock,
    odoo,  # noqa: F811
):
    """Odoo refuses Jake's quote (422) but takes the spec: PO P00001 is made once, the requisition's audit chain says
    the quote did not reach the ERP and why (and stays valid), and both buyers and Jake are told, without Odoo's own
    error text."""
    number = approve_small(service)
    _quote, spec = attach_two(service, number)
    odoo.path_faults.append(("POST /json/2/ir.attachment/create", "422"))
    inbox = Inbox()
    d = dispatcher(engine, directory, odoo_erp(odoo, attachment_reader(engine, DatabaseStore())), inbox, clock)
    d.drain()
    assert service.view(number).state == "po_created" and len(odoo.orders) == 1
    assert odoo_files(odoo, "1") == {"Pallet spec.png": spec}
    [event] = events(engine, number, "po_files_missing")
    assert event.actor == "erp" and event.after is not None
    assert event.after["po_number"] == "P00001"
    assert event.after["files"] == [
        {"filename": "Uline quote.pdf", "reason": "Odoo refused the file Uline quote.pdf (422)"}
    ]
    with Session(engine) as s:
        assert verify_chain(s).ok
    told = sorted(p for p, n in inbox.sent if n.kind == "po_files_missing")  # type: ignore[attr-defined]
    assert told == sorted([*BUYERS, "jake.miller"])
    text = next(n.text for _, n in inbox.sent if n.kind == "po_files_missing")  # type: ignore[attr-defined]
    assert text.startswith(f"P00001 ({number}) was created, but Uline quote.pdf did not reach the ERP: Odoo refused")
    assert "Attach it in the ERP by hand" in text
    assert "injected" not in text and "injected" not in str(event.after)  # the fake's error message: the ERP's words


def test_a_retried_job_records_the_missing_file_once(service, engine, directory, clock, odoo):  # noqa: F811
    """The answer to the first call is lost after Odoo made the PO and refused the quote; the retry finds the PO, is
    refused the quote again, and records it: one PO, one audit event, one notice each, and nothing more on later
    passes."""
    number = approve_small(service)
    attach_two(service, number)
    odoo.path_faults.append(("POST /json/2/ir.attachment/create", "422"))  # the quote, on the first attempt
    inbox = Inbox()
    erp = AnswerLost(odoo_erp(odoo, attachment_reader(engine, DatabaseStore())))
    d = dispatcher(engine, directory, erp, inbox, clock)
    d.drain()
    assert service.view(number).state == "po_pending" and not events(engine, number, "po_files_missing")
    odoo.path_faults.append(("POST /json/2/ir.attachment/create", "422"))  # and again on the retry
    clock.advance(minutes=2)
    d.drain()
    clock.advance(minutes=10)
    d.drain()
    assert service.view(number).state == "po_created" and len(odoo.orders) == 1
    assert len(events(engine, number, "po_files_missing")) == 1
    told = sorted(p for p, n in inbox.sent if n.kind == "po_files_missing")  # type: ignore[attr-defined]
    assert told == sorted([*BUYERS, "jake.miller"])
    with Session(engine) as s:
        assert verify_chain(s).ok


def test_people_are_told_our_sentence_never_the_erps_body():
    """A refusal's text after its status code (the ERP's answer, which may echo a token) is left out; a store that
    lost the file is said as it is; a file name holding ': ' is read whole."""
    sent = with_files(order())
    problems = (
        "Uline quote.pdf: NetSuite refused the file Uline quote.pdf (400): <html>token=abc123 Bearer xyz</html>",
        "Pallet spec.png: procurebot's store no longer has Pallet spec.png as it was attached",
    )
    assert files_left_out(sent, problems) == [
        ("Uline quote.pdf", "NetSuite refused the file Uline quote.pdf (400)"),
        ("Pallet spec.png", "procurebot's store no longer has Pallet spec.png as it was attached"),
    ]
    odd = PurchaseOrderRequest.from_payload(
        {**sent.to_payload(), "attachments": [{**sent.to_payload()["attachments"][0], "filename": "Re: quote.pdf"}]}
    )
    assert files_left_out(odd, ("Re: quote.pdf: the ERP said no (415): x",)) == [
        ("Re: quote.pdf", "the ERP said no (415)")
    ]
