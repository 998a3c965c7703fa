"""Odoo JSON-2, NetSuite REST and the signed webhook, each against a fake speaking its documented protocol."""

from __future__ import annotations

import json

import pytest
from erp_fakes import FakeNetSuite, FakeOdoo, FakeWebhookReceiver
from test_erp_business_central import Progress, order

from connectors.erp.base import PermanentError, TransientError
from connectors.erp.netsuite import NetSuite
from connectors.erp.odoo import Odoo
from connectors.erp.webhook import SignedWebhook, sign, verify_signature

SKUS = {"PKG-SW-18", "PKG-BOX-2012"}


# ---------------------------------------------------------------- Odoo


@pytest.fixture
def odoo():
    with FakeOdoo(
        api_key="k" * 40, database="lonestar", partners={"uline": 7}, products={"PKG-SW-18": 31, "PKG-BOX-2012": 32}
    ) as fake:
        yield fake


def odoo_connector(fake, key="k" * 40, timeout=5.0) -> Odoo:
    return Odoo(url=fake.url, api_key=key, database="lonestar", timeout=timeout)


def test_odoo_creates_and_confirms_one_purchase_order(odoo):
    """The PO is created with its lines in one call, carries our number as its source document, and is confirmed."""
    progress = Progress()
    po = odoo_connector(odoo).create_po(order(), progress)
    assert po.created and po.number == "P00001" and po.status == "open" and progress.saved == ["1"]
    stored = odoo.orders[1]
    assert stored["origin"] == "PR-1042" and stored["partner_id"] == 7 and stored["state"] == "purchase"
    assert [line[2]["product_id"] for line in stored["order_line"]] == [31, 32]
    methods = [r[1] for r in odoo.requests]
    assert methods[-3:] == [
        "/json/2/purchase.order/create",
        "/json/2/purchase.order/button_confirm",
        "/json/2/purchase.order/read",
    ]
    assert all(
        r[2]["authorization"] == "bearer " + "k" * 40 and r[2]["x-odoo-database"] == "lonestar" for r in odoo.requests
    )


def test_odoo_timeout_after_create_confirms_the_existing_draft_instead_of_creating_another(odoo):
    """Odoo commits the create but the answer times out: the retry finds the draft by origin and confirms it."""
    erp = odoo_connector(odoo, timeout=0.5)
    odoo.faults += [None, None, None, "timeout_after_commit"]  # search, partner, products ok; create commits
    with pytest.raises(TransientError):
        erp.create_po(order(), Progress())
    assert odoo.orders[1]["state"] == "draft"
    po = erp.create_po(order(), Progress())
    assert not po.created and len(odoo.orders) == 1 and odoo.orders[1]["state"] == "purchase"


def test_odoo_errors_unknown_vendor_and_product_bad_key(odoo):
    """Unknown vendor or product and a wrong API key are permanent, with Odoo's message; 5xx is transient."""
    with pytest.raises(PermanentError, match="no vendor whose Reference is 'acme'"):
        odoo_connector(odoo).create_po(order("PR-1", supplier="acme"))
    with pytest.raises(PermanentError, match="no product with internal reference GHOST"):
        odoo_connector(odoo).create_po(order("PR-2", sku="GHOST"))
    with pytest.raises(PermanentError, match="credentials.*Invalid apikey") as info:
        odoo_connector(odoo, key="wrong-key").create_po(order("PR-3"))
    assert "Traceback" not in info.value.reason  # Odoo's debug field is never shown to people
    odoo.faults.append("500")
    with pytest.raises(TransientError):
        odoo_connector(odoo).create_po(order("PR-4"))
    assert not odoo.orders


def test_odoo_status_and_master_data(odoo):
    """Receipt status maps to ours; vendors and products are read through search_read."""
    erp = odoo_connector(odoo)
    po = erp.create_po(order())
    odoo.orders[1]["receipt_status"] = "partial"
    assert erp.get_po_status("PR-1042", po.erp_id).status == "partially_received"
    odoo.orders[1]["receipt_status"] = "full"
    assert erp.get_po_status("PR-1042").status == "received"
    assert [s.id for s in erp.list_suppliers()] == ["uline"]
    assert {i.sku for i in erp.list_items()} == SKUS


# ---------------------------------------------------------------- NetSuite


@pytest.fixture
def netsuite():
    with FakeNetSuite(token="ns-token", vendors={"uline"}, items=SKUS) as fake:
        yield fake


def ns_connector(fake, token="ns-token", timeout=5.0) -> NetSuite:
    return NetSuite(base_url=fake.url, access_token=token, timeout=timeout)


def test_netsuite_upserts_by_external_id(netsuite):
    """The PO is PUT to purchaseOrder/eid:PR-1042 with vendor and items by external id; its tranId comes back."""
    po = ns_connector(netsuite).create_po(order())
    assert po.created and po.number == "PO1000" and po.status == "open"
    puts = [r for r in netsuite.requests if r[0] == "PUT"]
    assert len(puts) == 1 and puts[0][1] == "/record/v1/purchaseOrder/eid:PR-1042?replace=item"
    body = json.loads(puts[0][3])
    assert body["entity"] == {"externalId": "uline"}
    assert [x["item"]["externalId"] for x in body["item"]["items"]] == ["PKG-SW-18", "PKG-BOX-2012"]


def test_netsuite_timeout_after_upsert_reads_the_existing_po(netsuite):
    """The upsert commits but the answer times out: the retry reads eid:PR-1042 and does not PUT again."""
    erp = ns_connector(netsuite, timeout=0.5)
    netsuite.faults += [None, "timeout_after_commit"]
    with pytest.raises(TransientError):
        erp.create_po(order())
    po = erp.create_po(order())
    assert not po.created and len(netsuite.orders) == 1
    assert sum(1 for r in netsuite.requests if r[0] == "PUT") == 1


def test_netsuite_errors_and_master_data(netsuite):
    """Invalid vendor reference and a bad token are permanent with NetSuite's detail; SuiteQL reads master data."""
    with pytest.raises(PermanentError, match="Invalid reference 'acme'"):
        ns_connector(netsuite).create_po(order("PR-1", supplier="acme"))
    with pytest.raises(PermanentError, match="Invalid login attempt"):
        ns_connector(netsuite, token="expired").create_po(order("PR-2"))
    netsuite.faults.append("429")
    with pytest.raises(TransientError, match="rate limiting"):
        ns_connector(netsuite).create_po(order("PR-3"))
    assert [s.id for s in ns_connector(netsuite).list_suppliers()] == ["uline"]
    assert {i.sku for i in ns_connector(netsuite).list_items()} == SKUS


# ---------------------------------------------------------------- signed webhook

SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def hook():
    with FakeWebhookReceiver(secret=SECRET, vendors={"uline"}) as fake:
        yield fake


def test_webhook_signs_every_call_and_receiver_keys_on_our_number(hook):
    """Each call carries an HMAC-SHA256 signature over timestamp and body; a retry gets the same PO back."""
    erp = SignedWebhook(url=hook.url + "/erp", secret=SECRET, timeout=0.5)
    first = erp.create_po(order())
    hook.faults.append("timeout_after_commit")
    with pytest.raises(TransientError):
        erp.create_po(order("PR-2"))
    again = erp.create_po(order("PR-2"))
    assert first.created and first.number == "WH-0001" and not again.created and len(hook.orders) == 2
    _, _, headers, body = hook.requests[0]
    assert headers["x-procurebot-signature"] == sign(SECRET, headers["x-procurebot-timestamp"], body)
    assert headers["idempotency-key"] == "PR-1042" and json.loads(body)["schema"] == "procurebot.erp.v1"
    assert erp.get_po_status("PR-1042").number == "WH-0001" and erp.get_po_status("PR-9") is None
    assert [s.id for s in erp.list_suppliers()] == ["uline"] and erp.list_budgets() == []


def test_webhook_wrong_secret_and_unknown_vendor_are_permanent(hook):
    """A wrong shared secret is refused as a credentials problem; an unknown vendor names the vendor."""
    with pytest.raises(PermanentError, match="credentials"):
        SignedWebhook(url=hook.url, secret="not-the-right-secret").create_po(order())
    with pytest.raises(PermanentError, match="unknown vendor acme"):
        SignedWebhook(url=hook.url, secret=SECRET).create_po(order(supplier="acme"))


def test_signature_check_refuses_tampering_and_replays():
    """The receiver's check fails for a changed body, a wrong secret and a five-minute-old timestamp."""
    body = b'{"event":"purchase_order.create"}'
    sig = sign(SECRET, "1000", body)
    assert verify_signature(SECRET, "1000", body, sig, now=1000)
    assert not verify_signature(SECRET, "1000", body + b" ", sig, now=1000)
    assert not verify_signature("other-secret-value", "1000", body, sig, now=1000)
    assert not verify_signature(SECRET, "1000", body, sig, now=1000 + 301)
