"""A purchase order's files go into the ERP with it, exactly once however often the call is retried, and a file
the ERP refuses never costs the PO: Business Central documentAttachments, Odoo ir.attachment, NetSuite files."""

from __future__ import annotations

import pytest
from erp_fakes import QUOTE, SPEC, FakeNetSuite, FakeOdoo, Store, with_files
from test_erp_business_central import COMPANY, Progress, bc, connector, entra, order  # noqa: F401

from connectors.erp.base import AttachmentContent, TransientError
from connectors.erp.netsuite import NetSuite
from connectors.erp.odoo import Odoo

# ---------------------------------------------------------------- Business Central


def bc_files(erp_fake, po_id: str) -> dict[str, bytes]:
    return {
        a["fileName"]: a["content"]
        for a in erp_fake.attachments.values()
        if a["parentId"] == po_id and a["parentType"] == "Purchase Order"
    }


def test_business_central_attaches_both_files_to_the_purchase_order(entra, bc, tmp_path):  # noqa: F811
    """PR-1042 carries Jake's quote and a spec photo: BC's PO holds both as document attachments, with their bytes."""
    erp = connector(entra, bc, tmp_path)
    erp.attachment_content = Store()
    po = erp.create_po(with_files(order()), Progress())
    assert po.created and po.attachment_problems == ()
    assert bc_files(bc, po.erp_id) == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}
    patches = [r for r in bc.requests if r[0] == "PATCH"]
    assert all(r[2]["if-match"] == "*" and r[2]["content-type"] == "application/octet-stream" for r in patches)


def test_business_central_retry_does_not_attach_a_file_twice(entra, bc, tmp_path):  # noqa: F811
    """The outbox sends PR-1042 again (a timeout hid the answer): the PO keeps one copy of each file."""
    erp = connector(entra, bc, tmp_path)
    erp.attachment_content = Store()
    first = erp.create_po(with_files(order()), Progress())
    store = Store()
    erp.attachment_content = store
    again = erp.create_po(with_files(order()), Progress())
    assert not again.created and again.erp_id == first.erp_id
    assert len(bc.attachments) == 2 and store.reads == []  # nothing read, nothing sent


def test_business_central_fills_in_a_file_whose_bytes_never_arrived(entra, bc, tmp_path):  # noqa: F811
    """BC fails (500) while taking the quote's bytes: the call is retried later, and the retry puts the bytes into
    the record already made instead of making a second one."""
    erp = connector(entra, bc, tmp_path)
    erp.attachment_content = Store()
    bc.path_faults.append((f"PATCH /companies({COMPANY})/documentAttachments(", "500"))
    with pytest.raises(TransientError, match="500"):
        erp.create_po(with_files(order()), Progress())
    po = erp.create_po(with_files(order()), Progress())
    assert not po.created and po.attachment_problems == ()
    assert bc_files(bc, po.erp_id) == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}
    assert len(bc.attachments) == 2


def test_business_central_refusing_a_file_keeps_the_po_and_says_which(entra, bc, tmp_path):  # noqa: F811
    """BC refuses the quote (400): the PO is made with the spec attached, and the quote is reported by name."""
    erp = connector(entra, bc, tmp_path)
    erp.attachment_content = Store()
    bc.path_faults.append((f"POST /companies({COMPANY})/documentAttachments", "400"))
    po = erp.create_po(with_files(order()), Progress())
    assert po.created and po.number == "106001"
    assert len(po.attachment_problems) == 1
    assert po.attachment_problems[0].startswith(
        "Uline quote.pdf: Business Central refused the file Uline quote.pdf (400)"
    )
    assert bc_files(bc, po.erp_id) == {"Pallet spec.png": SPEC}


def test_business_central_reports_a_file_the_store_lost_and_sends_the_rest(entra, bc, tmp_path):  # noqa: F811
    """The spec's bytes are gone from procurebot's store: the PO goes with the quote, the spec is named as missing."""
    erp = connector(entra, bc, tmp_path)
    erp.attachment_content = Store(2)
    po = erp.create_po(with_files(order()), Progress())
    assert po.created and bc_files(bc, po.erp_id) == {"Uline quote.pdf": QUOTE}
    assert po.attachment_problems == (
        "Pallet spec.png: the attachment store (database) no longer has Pallet spec.png as it was attached",
    )


# ---------------------------------------------------------------- Odoo


@pytest.fixture
def odoo():
    with FakeOdoo(
        api_key="k" * 40, database="lonestar", partners={"uline": 7}, products={"PKG-SW-18": 31, "PKG-BOX-2012": 32}
    ) as fake:
        yield fake


def odoo_erp(fake, store: AttachmentContent | None = None, timeout: float = 5.0) -> Odoo:
    return Odoo(url=fake.url, api_key="k" * 40, database="lonestar", timeout=timeout, attachment_content=store)


def odoo_files(fake, po_id: str) -> dict[str, bytes]:
    return {
        a["name"]: a["raw"]
        for a in fake.attachments.values()
        if a["res_model"] == "purchase.order" and a["res_id"] == int(po_id)
    }


def test_odoo_attaches_both_files_to_the_purchase_order(odoo):
    """PR-1042's quote and spec become ir.attachment records on the confirmed PO, with their bytes and types."""
    po = odoo_erp(odoo, Store()).create_po(with_files(order()), Progress())
    assert po.created and po.attachment_problems == ()
    assert odoo_files(odoo, po.erp_id) == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}
    assert sorted(a["mimetype"] for a in odoo.attachments.values()) == ["application/pdf", "image/png"]


def test_odoo_retry_after_a_lost_answer_does_not_attach_a_file_twice(odoo):
    """Odoo files the quote but the answer times out: the retry finds the PO and the quote, and sends only the spec."""
    erp = odoo_erp(odoo, Store(), timeout=0.5)
    odoo.path_faults.append(("POST /json/2/ir.attachment/create", "timeout_after_commit"))
    with pytest.raises(TransientError, match="may have acted"):
        erp.create_po(with_files(order()), Progress())
    po = erp.create_po(with_files(order()), Progress())
    assert not po.created and po.attachment_problems == ()
    assert odoo_files(odoo, po.erp_id) == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}
    assert len(odoo.attachments) == 2 and len(odoo.orders) == 1


def test_odoo_refusing_a_file_keeps_the_po_and_says_which(odoo):
    """Odoo refuses the quote (422): the PO stands with the spec, and the quote is reported by name."""
    odoo.path_faults.append(("POST /json/2/ir.attachment/create", "422"))
    po = odoo_erp(odoo, Store()).create_po(with_files(order()), Progress())
    assert po.created and po.number == "P00001"
    assert len(po.attachment_problems) == 1
    assert po.attachment_problems[0].startswith(
        "Uline quote.pdf: Odoo refused the file Uline quote.pdf (422): injected"
    )
    assert odoo_files(odoo, po.erp_id) == {"Pallet spec.png": SPEC}


def test_odoo_server_trouble_while_attaching_is_retried_not_reported(odoo):
    """Odoo fails (500) or rate limits (429) while taking a file: the call is worth retrying, and the retry attaches
    both files to the one PO."""
    erp = odoo_erp(odoo, Store())
    odoo.path_faults.append(("POST /json/2/ir.attachment/create", "500"))
    with pytest.raises(TransientError, match="500"):
        erp.create_po(with_files(order()), Progress())
    odoo.path_faults.append(("POST /json/2/ir.attachment/", "429"))
    with pytest.raises(TransientError, match="429"):
        erp.create_po(with_files(order()), Progress())
    po = erp.create_po(with_files(order()), Progress())
    assert odoo_files(odoo, po.erp_id) == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}


# ---------------------------------------------------------------- NetSuite


@pytest.fixture
def netsuite():
    with FakeNetSuite(token="ns-token", vendors={"uline"}, items={"PKG-SW-18", "PKG-BOX-2012"}, folder="417") as fake:
        yield fake


def ns_erp(fake, store: AttachmentContent | None = None, folder: str = "417", timeout: float = 5.0) -> NetSuite:
    return NetSuite(
        base_url=fake.url, access_token="ns-token", file_folder=folder, attachment_content=store, timeout=timeout
    )


def test_netsuite_uploads_both_files_and_attaches_them_to_the_purchase_order(netsuite):
    """PR-1042's quote and spec go to File Cabinet folder 417 and are attached to the PO, with their bytes."""
    po = ns_erp(netsuite, Store()).create_po(with_files(order()))
    assert po.created and po.attachment_problems == ()
    assert netsuite.attached("PR-1042") == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}
    assert all(f["folder"] == {"id": "417"} and f["externalId"].startswith("pr-1042-") for f in netsuite.files.values())


def test_netsuite_retry_after_a_lost_upload_answer_does_not_upload_twice(netsuite):
    """NetSuite stores the quote but the answer times out: the retry finds the PO and the file by their external ids,
    attaches the quote once and uploads only the spec."""
    erp = ns_erp(netsuite, Store(), timeout=0.5)
    netsuite.path_faults.append(("POST /document/v1/file", "timeout_after_commit"))
    with pytest.raises(TransientError, match="may have acted"):
        erp.create_po(with_files(order()))
    po = erp.create_po(with_files(order()))
    again = erp.create_po(with_files(order()))
    assert not po.created and not again.created and po.attachment_problems == ()
    assert netsuite.attached("PR-1042") == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}
    assert len(netsuite.files) == 2 and netsuite.orders["PR-1042"]["files"] == ["3000", "3001"]


def test_netsuite_refusing_a_file_keeps_the_po_and_says_which(netsuite):
    """NetSuite refuses the quote's upload (400): the PO stands with the spec attached, and the quote is named."""
    netsuite.path_faults.append(("POST /document/v1/file", "400"))
    po = ns_erp(netsuite, Store()).create_po(with_files(order()))
    assert po.created and po.number == "PO1000"
    assert len(po.attachment_problems) == 1
    assert po.attachment_problems[0].startswith("Uline quote.pdf: NetSuite refused the file Uline quote.pdf (400)")
    assert netsuite.attached("PR-1042") == {"Pallet spec.png": SPEC}


def test_netsuite_server_trouble_while_attaching_is_retried_not_reported(netsuite):
    """NetSuite fails (500) on the attach call, or rate limits (429): worth retrying, and the retry leaves each file
    uploaded and attached once."""
    erp = ns_erp(netsuite, Store())
    netsuite.path_faults.append(("!attach/file/", "500"))
    with pytest.raises(TransientError, match="500"):
        erp.create_po(with_files(order()))
    netsuite.path_faults.append(("POST /document/v1/file", "429"))
    with pytest.raises(TransientError, match="429"):
        erp.create_po(with_files(order()))
    erp.create_po(with_files(order()))
    assert netsuite.attached("PR-1042") == {"Uline quote.pdf": QUOTE, "Pallet spec.png": SPEC}
    assert len(netsuite.files) == 2


def test_netsuite_without_a_folder_reports_the_files_and_makes_the_po(netsuite):
    """No File Cabinet folder is configured: the PO is made and each file is reported, naming the setting."""
    po = ns_erp(netsuite, Store(), folder="").create_po(with_files(order()))
    assert po.created and netsuite.files == {}
    assert [p.split(":")[0] for p in po.attachment_problems] == ["Uline quote.pdf", "Pallet spec.png"]
    assert all("PROCUREBOT_NETSUITE_FILE_FOLDER" in p for p in po.attachment_problems)


# ---------------------------------------------------------------- end to end: the dispatcher reads the store


def test_the_dispatcher_sends_the_quote_bytes_from_the_attachment_store_to_odoo(
    service, engine, directory, clock, odoo
):
    """Jake attaches his quote to an approved order; the dispatcher, reading the attachment store, makes the Odoo PO
    and files the quote's exact bytes on it."""
    from test_erp_attachments import attach_quote

    from approvals.attachment_store import DatabaseStore
    from bot.erp_dispatcher import attachment_reader
    from tests.core.test_erp_outbox import Inbox, approve_small, dispatcher

    number = approve_small(service)
    quote = attach_quote(service, number)
    erp = odoo_erp(odoo, attachment_reader(engine, DatabaseStore()))
    dispatcher(engine, directory, erp, Inbox(), clock).run_once()
    assert service.view(number).state == "po_created"
    assert odoo_files(odoo, "1") == {"Uline quote.pdf": quote}


def test_the_store_reader_refuses_bytes_that_are_not_the_attached_file(service, engine):
    """A file whose stored bytes are gone, or differ from the SHA-256 the order carries, is a LookupError naming it
    (the connector reports it and sends the PO without it), never other bytes."""
    from dataclasses import replace

    from test_erp_attachments import attach_quote

    from approvals.attachment_store import DatabaseStore
    from bot.erp_dispatcher import attachment_reader, with_attachments
    from tests.core.test_erp_outbox import approve_small

    number = approve_small(service)
    quote = attach_quote(service, number)
    sent = with_attachments(engine, replace(order(), reference=number)).attachments[0]
    read = attachment_reader(engine, DatabaseStore())
    assert read(sent) == quote
    with pytest.raises(LookupError, match="no longer has Uline quote.pdf as it was attached"):
        read(replace(sent, sha256="0" * 64))
    with pytest.raises(LookupError, match="Uline quote.pdf"):
        read(replace(sent, attachment_id=999))
