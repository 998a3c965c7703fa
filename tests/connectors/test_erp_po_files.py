"""A purchase order's files go into the ERP with it, exactly once however often the call is retried, and a file
the ERP refuses never costs the PO: Business Central documentAttachments, Odoo ir.attachment, NetSuite files."""

from __future__ import annotations

import pytest
from erp_fakes import QUOTE, SPEC, FakeOdoo, Store, with_files
from test_erp_business_central import COMPANY, Progress, bc, connector, entra, order  # noqa: F401

from connectors.erp.base import TransientError
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


def odoo_erp(fake, store: Store | None = None, timeout: float = 5.0) -> Odoo:
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
