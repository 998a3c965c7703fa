"""Business Central API v2.0 connector against a fake Entra ID (https) and a fake BC API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from erp_fakes import FakeBusinessCentral, FakeEntra, self_signed_cert

from connectors.erp.base import PermanentError, PoLine, PurchaseOrderRequest, TransientError
from connectors.erp.business_central import BusinessCentral, MsalTokens

COMPANY = "8a1f7a6c-0000-4000-8000-000000000001"
TENANT = "lonestar.example"


class Progress:
    def __init__(self) -> None:
        self.erp_id: str | None = None
        self.saved: list[str] = []

    def save(self, erp_id: str) -> None:
        self.erp_id = erp_id
        self.saved.append(erp_id)


def order(ref: str = "PR-1042", supplier: str = "uline", sku: str = "PKG-SW-18") -> PurchaseOrderRequest:
    return PurchaseOrderRequest(
        reference=ref,
        supplier=supplier,
        currency="USD",
        site="DAL",
        cost_center="DAL-OPS",
        requester="jake.miller",
        need_by=date(2026, 12, 4),
        lines=(
            PoLine(1, "Stretch wrap 18in", Decimal("40"), Decimal("32"), "roll", sku),
            PoLine(2, "Corrugated boxes", Decimal("10"), Decimal("48"), "bundle", "PKG-BOX-2012"),
        ),
    )


@pytest.fixture
def entra(tmp_path):
    with FakeEntra(self_signed_cert(tmp_path), tenant=TENANT, client_id="app-1", secret="s3cret-value") as fake:
        yield fake


@pytest.fixture
def bc():
    with FakeBusinessCentral(company=COMPANY, vendors={"ULINE"}, items={"PKG-SW-18", "PKG-BOX-2012"}) as fake:
        yield fake


def connector(entra, bc, tmp_path, secret="s3cret-value", timeout=5.0) -> BusinessCentral:
    tokens = MsalTokens(
        tenant=TENANT,
        client_id="app-1",
        secret=secret,
        authority_host=entra.url,
        scope="https://api.businesscentral.dynamics.com/.default",
        ca_bundle=str(tmp_path / "cert.pem"),
    )
    return BusinessCentral(base_url=bc.url, company_id=COMPANY, token_provider=tokens, timeout=timeout)


def test_creates_header_then_lines_with_a_token_from_entra(entra, bc, tmp_path):
    """An approved requisition becomes one BC purchase order with both lines, authenticated by msal."""
    erp, progress = connector(entra, bc, tmp_path), Progress()
    po = erp.create_po(order(), progress)
    assert po.created and po.number == "106001" and progress.saved == [po.erp_id]
    stored = bc.orders[po.erp_id]
    assert stored["vendorNumber"] == "ULINE" and stored["shipToContact"] == "PR-1042"
    assert stored["requestedReceiptDate"] == "2026-12-04"
    assert [(x["sequence"], x["lineObjectNumber"], x["quantity"]) for x in stored["lines"]] == [
        (10000, "PKG-SW-18", 40.0),
        (20000, "PKG-BOX-2012", 10.0),
    ]
    token_requests = [r for r in entra.requests if r[1].endswith("/token")]
    assert len(token_requests) == 1  # msal caches the token for every later call
    assert all(h.get("authorization") == "Bearer bc-token-1" for _, _, h, _ in bc.requests)


def test_timeout_after_the_header_committed_never_makes_a_second_po(entra, bc, tmp_path):
    """BC creates the header but the answer times out: the retry finds it by our number and adds the lines."""
    erp = connector(entra, bc, tmp_path, timeout=0.5)
    bc.faults += [None, "timeout_after_commit"]  # lookup answers; the create commits, its answer never comes
    with pytest.raises(TransientError, match="may have acted"):
        erp.create_po(order(), Progress())
    assert len(bc.orders) == 1 and list(bc.orders.values())[0]["lines"] == []
    po = erp.create_po(order(), Progress())
    assert not po.created and len(bc.orders) == 1
    assert len(bc.orders[po.erp_id]["lines"]) == 2


def test_crash_between_lines_resumes_the_stored_po_without_doubling_a_line(entra, bc, tmp_path):
    """The dispatcher dies after the first line: the retry reads the stored id and adds only the missing line."""
    erp, progress = connector(entra, bc, tmp_path), Progress()
    bc.faults += [None, None, None, "500"]  # lookup, header, line 1 ok; line 2 fails
    with pytest.raises(TransientError, match="500"):
        erp.create_po(order(), progress)
    po = erp.create_po(order(), progress)
    assert [x["sequence"] for x in bc.orders[po.erp_id]["lines"]] == [10000, 20000]
    searches = [r for r in bc.requests if "filter" in r[1]]
    assert len(searches) == 1  # the retry resumed the stored id instead of searching again
    assert len(bc.orders) == 1


def test_updates_send_the_etag_and_reread_after_a_412(entra, bc, tmp_path):
    """A changed need-by date is patched with If-Match; when someone edited the PO meanwhile it re-reads once."""
    erp = connector(entra, bc, tmp_path)
    po = erp.create_po(order())
    bc.orders[po.erp_id]["@odata.etag"] = 'W/"someone-else"'  # edited in BC after we read it
    stale = {**erp._get(po.erp_id), "@odata.etag": 'W/"stale"'}
    patched = erp._patch(po.erp_id, {"requestedReceiptDate": "2026-12-11"}, stale)
    assert patched["requestedReceiptDate"] == "2026-12-11"
    patches = [h for m, _, h, _ in bc.requests if m == "PATCH"]
    assert [h["if-match"] for h in patches] == ['W/"stale"', 'W/"someone-else"']
    later = order()
    later = PurchaseOrderRequest(**{**later.__dict__, "need_by": date(2026, 12, 18)})
    erp.create_po(later)
    assert bc.orders[po.erp_id]["requestedReceiptDate"] == "2026-12-18"


def test_errors_are_typed_for_the_outbox(entra, bc, tmp_path):
    """Unknown vendor and unknown item are permanent with BC's message; 429, 5xx and drops are transient."""
    erp = connector(entra, bc, tmp_path)
    with pytest.raises(PermanentError, match="Vendor does not exist.*NOPE"):
        erp.create_po(order("PR-1", supplier="nope"))
    with pytest.raises(PermanentError, match="Item does not exist.*GHOST"):
        erp.create_po(order("PR-2", sku="GHOST"))
    for fault in ("429", "500", "drop", "garbage", "huge"):
        bc.faults.append(fault)
        with pytest.raises(TransientError):
            erp.create_po(order("PR-3"))


def test_wrong_client_secret_is_a_permanent_error_naming_what_to_check(entra, bc, tmp_path):
    """A wrong secret is refused by Entra ID: the reason names the settings to check and never the secret."""
    erp = connector(entra, bc, tmp_path, secret="wrong-secret")
    with pytest.raises(PermanentError, match="invalid_client.*PROCUREBOT_BC_CLIENT_ID") as info:
        erp.create_po(order())
    assert "wrong-secret" not in info.value.reason and not bc.orders


def test_status_and_master_data(entra, bc, tmp_path):
    """Status follows received quantities; vendors and items are read with their BC keys."""
    erp = connector(entra, bc, tmp_path)
    po = erp.create_po(order())
    assert erp.get_po_status("PR-1042").status == "open"
    bc.orders[po.erp_id]["lines"][0]["receivedQuantity"] = 40
    assert erp.get_po_status("PR-1042", po.erp_id).status == "partially_received"
    bc.orders[po.erp_id]["fullyReceived"] = True
    assert erp.get_po_status("PR-1042", po.erp_id).status == "received"
    del bc.orders[po.erp_id]  # posted and invoiced: BC removes the order
    assert erp.get_po_status("PR-1042", po.erp_id).status == "closed"
    assert [s.id for s in erp.list_suppliers()] == ["uline"]
    assert {i.sku for i in erp.list_items()} == {"PKG-SW-18", "PKG-BOX-2012"}
