"""Purchase orders carry the requisition's files: the sandbox ERP files them with the PO, the signed webhook lists
them in its documented payload (name, type, size, SHA-256 and where procurebot serves each)."""

from __future__ import annotations

import hashlib
import json

from approvals.workflow.attachments import attach_command
from connectors.erp.sandbox import SandboxErp
from connectors.erp.webhook import SignedWebhook
from tests import attachment_files as files
from tests.connectors.test_erp_odoo_netsuite_webhook import SECRET, hook  # noqa: F401  (the fake receiver)
from tests.core.test_erp_outbox import Inbox, approve_small, dispatcher


def attach_quote(service, number: str) -> bytes:
    quote = files.pdf()
    service.attach(
        attach_command(actor="jake.miller", surface="web", number=number, filename="Uline quote.pdf", data=quote),
        quote,
    )
    return quote


def test_the_sandbox_files_the_quote_with_the_purchase_order(service, engine, directory, clock):
    """Jake's approved stretch wrap order goes to the sandbox ERP with his quote: PO-000001 lists the PDF by name,
    size and SHA-256, with the link procurebot serves it at."""
    number = approve_small(service)
    quote = attach_quote(service, number)
    erp = SandboxErp(engine, directory)
    d = dispatcher(engine, directory, erp, Inbox(), clock)
    d.run_once()
    assert service.view(number).state == "po_created"
    filed = erp.attachments("PO-000001")
    assert [(a.filename, a.content_type, a.size, a.sha256) for a in filed] == [
        ("Uline quote.pdf", "application/pdf", len(quote), hashlib.sha256(quote).hexdigest())
    ]
    assert filed[0].source == f"/api/v1/requisitions/{number}/attachments/1"


def test_an_order_without_files_files_none(service, engine, directory, clock):
    """An order with nothing attached makes its PO as before, with no files filed."""
    number = approve_small(service)
    erp = SandboxErp(engine, directory)
    dispatcher(engine, directory, erp, Inbox(), clock).run_once()
    assert service.view(number).state == "po_created"
    assert erp.attachments("PO-000001") == []


def test_the_webhook_payload_lists_each_file_with_its_fingerprint_and_link(service, engine, directory, clock, hook):  # noqa: F811
    """The integration platform receives purchase_order.create with order.attachments: the quote's name, type,
    size, SHA-256 and the API path to fetch it, signed like the rest of the body."""
    number = approve_small(service)
    quote = attach_quote(service, number)
    erp = SignedWebhook(url=hook.url + "/erp", secret=SECRET, timeout=2)
    dispatcher(engine, directory, erp, Inbox(), clock).run_once()
    assert service.view(number).state == "po_created"
    _, _, headers, body = hook.requests[0]
    sent = json.loads(body)["order"]["attachments"]
    assert sent == [
        {
            "attachment_id": 1,
            "filename": "Uline quote.pdf",
            "content_type": "application/pdf",
            "size": len(quote),
            "sha256": hashlib.sha256(quote).hexdigest(),
            "download": f"/api/v1/requisitions/{number}/attachments/1",
        }
    ]
