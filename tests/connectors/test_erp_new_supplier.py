"""A supplier procurement approved is created in the ERP once, keyed by our supplier-request number, whatever
timeouts hid a success: the sandbox ERP, the signed webhook, Business Central, Odoo and NetSuite."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from erp_fakes import FakeNetSuite, FakeOdoo, FakeWebhookReceiver
from test_erp_business_central import Progress, bc, connector, entra, order  # noqa: F401

from connectors.erp.base import NewSupplierRequest, PermanentError, TransientError
from connectors.erp.netsuite import NetSuite
from connectors.erp.odoo import Odoo
from connectors.erp.sandbox import SandboxErp, SandboxFaults
from connectors.erp.webhook import SignedWebhook, sign

SECRET = "whsec-0123456789abcdef"


def acme(reference: str = "SUP-7", **changes: str) -> NewSupplierRequest:
    fields = {
        "reference": reference,
        "name": "Acme Pallet Co",
        "email": "sales@acmepallet.example",
        "website": "https://acmepallet.example",
        "currency": "USD",
        "tax_id": "74-1234567",
        **changes,
    }
    return NewSupplierRequest(**fields)  # type: ignore[arg-type]


def test_a_supplier_request_survives_the_outbox_as_json():
    """The request stored in the outbox job reads back as it was written, with and without its optional fields."""
    for request in (acme(), NewSupplierRequest(reference="SUP-8", name="Bolt Depot", email="ap@bolt.example")):
        assert NewSupplierRequest.from_payload(json.loads(json.dumps(request.to_payload()))) == request


# ---------------------------------------------------------------- sandbox


def test_the_sandbox_adds_the_vendor_once_and_takes_orders_for_it(engine, directory):
    """Procurement approves Acme Pallet (SUP-7): the sandbox ERP numbers it V00001, a second call for SUP-7 returns
    the same vendor, it is listed with the directory's suppliers, and a PO to it is accepted."""
    erp = SandboxErp(engine, directory)
    first = erp.create_supplier(acme())
    again = erp.create_supplier(acme())
    assert first == again
    assert (first.id, first.name, first.erp_key, first.currency) == ("v00001", "Acme Pallet Co", "V00001", "USD")
    assert [s.id for s in erp.added_vendors()] == ["v00001"]
    assert "v00001" in {s.id for s in erp.list_suppliers()} and "uline" in {s.id for s in erp.list_suppliers()}
    po = erp.create_po(order(supplier="v00001"))
    assert po.created and po.number == "PO-000001"


def test_the_sandbox_vendor_is_not_doubled_when_the_answer_was_lost(engine, directory):
    """The sandbox commits the vendor but the answer never comes; the retry returns that vendor, not a second."""
    lossy = SandboxErp(engine, directory, faults=SandboxFaults(rates={"timeout_after_commit": 1.0}))
    with pytest.raises(TransientError, match="may have acted"):
        lossy.create_supplier(acme())
    erp = SandboxErp(engine, directory)
    assert erp.create_supplier(acme()).id == "v00001"
    assert erp.create_supplier(acme("SUP-9", name="Bolt Depot")).id == "v00002"
    assert [s.name for s in erp.added_vendors()] == ["Acme Pallet Co", "Bolt Depot"]


def test_the_sandbox_refuses_a_vendor_without_a_name_and_creates_nothing(engine, directory):
    """A supplier request with a blank name is refused for good, naming what is missing, and leaves no vendor."""
    erp = SandboxErp(engine, directory)
    with pytest.raises(PermanentError, match="name"):
        erp.create_supplier(acme(name="  "))
    with pytest.raises(PermanentError, match="three-letter currency"):
        erp.create_supplier(acme(currency="dollars"))
    assert erp.added_vendors() == []


# ---------------------------------------------------------------- signed webhook


@pytest.fixture
def hook():
    with FakeWebhookReceiver(secret=SECRET, vendors={"uline"}) as fake:
        yield fake


def test_the_webhook_sends_supplier_create_signed_and_keyed_on_the_request_number(hook):
    """supplier.create carries the request, signed, with Idempotency-Key SUP-7; a retry after a lost answer gets
    the same vendor back and the receiver holds one."""
    erp = SignedWebhook(url=hook.url + "/erp", secret=SECRET, timeout=0.5)
    hook.faults.append("timeout_after_commit")
    with pytest.raises(TransientError):
        erp.create_supplier(acme())
    vendor = erp.create_supplier(acme())
    assert (vendor.id, vendor.name, vendor.erp_key) == ("wv-0001", "Acme Pallet Co", "vendor-1")
    assert len(hook.suppliers) == 1
    _, _, headers, body = hook.requests[-1]
    assert headers["x-procurebot-event"] == "supplier.create" and headers["idempotency-key"] == "SUP-7"
    assert headers["x-procurebot-signature"] == sign(SECRET, headers["x-procurebot-timestamp"], body)
    assert json.loads(body)["supplier"] == acme().to_payload()


def test_a_webhook_erp_killed_and_restarted_keeps_one_vendor_per_request(tmp_path):
    """An ERP behind the webhook, in its own process with a durable ledger, makes Acme Pallet; it is killed and
    started again, and asking for SUP-7 once more answers the same vendor, not a new one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Path(__file__).parents[1] / "erp_webhook_server.py"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(server), str(port), str(tmp_path / "ledger.db"), SECRET],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    erp = SignedWebhook(url=f"http://127.0.0.1:{port}/erp", secret=SECRET, timeout=5)
    proc = start()
    try:
        first = erp.create_supplier(acme())
        assert first.id == "wv-000001" and erp.create_supplier(acme("SUP-8", name="Bolt Depot")).id == "wv-000002"
    finally:
        proc.kill()
        proc.wait()
    proc = start()
    try:
        assert erp.create_supplier(acme()) == first
    finally:
        proc.kill()
        proc.wait()
        erp.close()


def test_the_webhook_maps_refusals_and_outages(hook):
    """A receiver that refuses the vendor (422) fails for good with its reason; a 500 or 429 is worth retrying."""
    erp = SignedWebhook(url=hook.url, secret=SECRET, timeout=2)
    with pytest.raises(PermanentError, match="a vendor needs a name"):
        erp.create_supplier(acme(name=""))
    hook.faults += ["500", "429"]
    with pytest.raises(TransientError, match="500"):
        erp.create_supplier(acme())
    with pytest.raises(TransientError, match="429"):
        erp.create_supplier(acme())
    assert hook.suppliers == {}


# ---------------------------------------------------------------- Business Central


def test_business_central_creates_the_vendor_once(entra, bc, tmp_path):  # noqa: F811
    """Acme Pallet is POSTed to vendors once: BC numbers it V90001 (our id v90001); asking again for SUP-7 finds it by
    its e-mail and name, and a PO can then be made for it."""
    erp = connector(entra, bc, tmp_path)
    first = erp.create_supplier(acme())
    again = erp.create_supplier(acme())
    assert first == again and (first.id, first.name) == ("v90001", "Acme Pallet Co")
    assert len(bc.added_vendors) == 1
    vendor = bc.added_vendors["V90001"]
    assert (vendor["email"], vendor["website"], vendor["taxRegistrationNumber"]) == (
        "sales@acmepallet.example",
        "https://acmepallet.example",
        "74-1234567",
    )
    assert vendor["currencyCode"] == ""  # the company's local currency is left blank, as BC expects
    assert "v90001" in {s.id for s in erp.list_suppliers()}
    assert erp.create_po(order(supplier="v90001"), Progress()).created


def test_business_central_vendor_is_not_doubled_when_the_answer_was_lost(entra, bc, tmp_path):  # noqa: F811
    """BC creates the vendor but the answer times out: the retry finds it by e-mail and name instead of adding one."""
    erp = connector(entra, bc, tmp_path, timeout=0.5)
    bc.faults += [None, "timeout_after_commit"]  # the lookup answers; the create commits, its answer never comes
    with pytest.raises(TransientError, match="may have acted"):
        erp.create_supplier(acme())
    assert erp.create_supplier(acme()).id == "v90001" and len(bc.added_vendors) == 1


def test_business_central_vendor_errors_are_mapped(entra, bc, tmp_path):  # noqa: F811
    """A vendor BC refuses (400, no name) fails for good naming the vendor; a 500 or 429 is worth retrying."""
    erp = connector(entra, bc, tmp_path)
    with pytest.raises(PermanentError, match=r"refused the new vendor \(400\): .*Name must have a value"):
        erp.create_supplier(acme(name=" "))
    bc.faults += [None, "500"]
    with pytest.raises(TransientError, match="500"):
        erp.create_supplier(acme())
    bc.faults += ["429"]
    with pytest.raises(TransientError, match="429"):
        erp.create_supplier(acme())
    assert bc.added_vendors == {}


# ---------------------------------------------------------------- Odoo


@pytest.fixture
def odoo():
    with FakeOdoo(api_key="k" * 40, database="lonestar", partners={"uline": 7}, products={"PKG-SW-18": 31}) as fake:
        yield fake


def odoo_erp(fake, timeout: float = 5.0) -> Odoo:
    return Odoo(url=fake.url, api_key="k" * 40, database="lonestar", timeout=timeout)


def test_odoo_creates_one_vendor_partner_keyed_by_the_request(odoo):
    """Acme Pallet becomes one res.partner with supplier rank 1 and Reference sup-7 (our supplier id); asking again
    finds it by that Reference, and it is listed among the vendors."""
    erp = odoo_erp(odoo)
    first = erp.create_supplier(acme())
    assert erp.create_supplier(acme()) == first
    assert (first.id, first.name, first.erp_key) == ("sup-7", "Acme Pallet Co", "101")
    assert len(odoo.added_partners) == 1
    partner = odoo.added_partners[101]
    assert partner["supplier_rank"] == 1 and partner["is_company"] is True
    assert (partner["email"], partner["website"], partner["vat"]) == (
        "sales@acmepallet.example",
        "https://acmepallet.example",
        "74-1234567",
    )
    assert "sup-7" in {s.id for s in erp.list_suppliers()}


def test_odoo_vendor_is_not_doubled_when_the_answer_was_lost(odoo):
    """Odoo commits the partner but the answer times out: the retry finds it by its Reference instead of adding one."""
    erp = odoo_erp(odoo, timeout=0.5)
    odoo.faults += [None, None, "timeout_after_commit"]  # by ref, by e-mail and name: none; the create commits
    with pytest.raises(TransientError, match="may have acted"):
        erp.create_supplier(acme())
    assert erp.create_supplier(acme()).id == "sup-7" and len(odoo.added_partners) == 1


def test_odoo_adopts_a_contact_entered_by_hand_instead_of_making_a_twin(odoo):
    """A buyer already typed Acme Pallet into Odoo with the same e-mail: that contact gets Reference sup-7 and
    supplier rank 1, and no second partner is made."""
    odoo.added_partners[101] = {
        "id": 101,
        "name": "Acme Pallet Co",
        "email": "sales@acmepallet.example",
        "active": True,
    }
    vendor = odoo_erp(odoo).create_supplier(acme())
    assert vendor.id == "sup-7" and len(odoo.added_partners) == 1
    assert odoo.added_partners[101]["ref"] == "sup-7" and odoo.added_partners[101]["supplier_rank"] == 1


def test_odoo_vendor_errors_are_mapped(odoo):
    """A partner Odoo refuses (422, no name) fails for good naming the vendor; a 500 or 429 is worth retrying."""
    erp = odoo_erp(odoo)
    with pytest.raises(PermanentError, match=r"refused the new vendor \(422\): Contacts require a name"):
        erp.create_supplier(acme(name=" "))
    odoo.faults += ["500"]
    with pytest.raises(TransientError, match="500"):
        erp.create_supplier(acme())
    odoo.faults += [None, None, "429"]
    with pytest.raises(TransientError, match="429"):
        erp.create_supplier(acme())
    assert odoo.added_partners == {}


# ---------------------------------------------------------------- NetSuite


@pytest.fixture
def netsuite():
    with FakeNetSuite(token="ns-token", vendors={"uline"}, items={"PKG-SW-18", "PKG-BOX-2012"}) as fake:
        yield fake


def ns_erp(fake, timeout: float = 5.0) -> NetSuite:
    return NetSuite(base_url=fake.url, access_token="ns-token", subsidiary="1", timeout=timeout)


def test_netsuite_upserts_the_vendor_by_the_request_number(netsuite):
    """Acme Pallet is PUT to vendor/eid:sup-7 once (a second call reads it); it is listed with external id sup-7, and
    a PO can name it as its vendor."""
    erp = ns_erp(netsuite)
    first = erp.create_supplier(acme())
    assert erp.create_supplier(acme()) == first
    assert (first.id, first.name, first.erp_key) == ("sup-7", "Acme Pallet Co", "2000")
    assert [r[0] for r in netsuite.requests] == ["GET", "PUT", "GET", "GET"]
    vendor = netsuite.added_vendors["sup-7"]
    assert (vendor["email"], vendor["url"], vendor["taxIdNum"], vendor["currency"], vendor["subsidiary"]) == (
        "sales@acmepallet.example",
        "https://acmepallet.example",
        "74-1234567",
        {"refName": "USD"},
        {"id": "1"},
    )
    assert "sup-7" in {s.id for s in erp.list_suppliers()}
    assert erp.create_po(order(supplier="sup-7")).created


def test_netsuite_vendor_is_not_doubled_when_the_answer_was_lost(netsuite):
    """NetSuite takes the vendor but the answer times out: the retry reads vendor/eid:sup-7 instead of adding one."""
    erp = ns_erp(netsuite, timeout=0.5)
    netsuite.faults += [None, "timeout_after_commit"]  # the read finds none; the upsert commits, its answer is lost
    with pytest.raises(TransientError, match="may have acted"):
        erp.create_supplier(acme())
    assert erp.create_supplier(acme()).id == "sup-7" and len(netsuite.added_vendors) == 1


def test_netsuite_vendor_errors_are_mapped(netsuite):
    """A vendor NetSuite refuses (400, no company name) fails for good naming the vendor; a 500 or 429 is worth
    retrying."""
    erp = ns_erp(netsuite)
    with pytest.raises(PermanentError, match=r"refused the new vendor \(400\): Please enter value\(s\) for: Company"):
        erp.create_supplier(acme(name=" "))
    netsuite.faults += [None, "500"]
    with pytest.raises(TransientError, match="500"):
        erp.create_supplier(acme())
    netsuite.faults += ["429"]
    with pytest.raises(TransientError, match="429"):
        erp.create_supplier(acme())
    assert netsuite.added_vendors == {}
