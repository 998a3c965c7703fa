"""NetSuite REST web services: `purchaseOrder` upserted by external id.

The strongest idempotency NetSuite offers is the external-id upsert: `PUT
/record/v1/purchaseOrder/eid:PR-1042` creates the PO if no record has that external id and
updates it otherwise, so a retry after a timeout can never make a second PO. We still read
`eid:PR-1042` first and skip the PUT when it exists, because an upsert of an existing PO would
rewrite its lines (`replace=item`) after receipts may have been booked against them.

Vendors and items are referred to by their external ids (our supplier id and SKU). Master
data is read with SuiteQL. Auth is an OAuth 2.0 bearer access token.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from connectors.erp.base import (
    ErpBudget,
    ErpItem,
    ErpSupplier,
    PermanentError,
    PoCreated,
    PoProgress,
    PoStatus,
    PurchaseOrderRequest,
    TransientError,
    classify_http,
    guarded,
    read_json,
)
from connectors.erp.config import ErpSettings, require

WHAT = "NetSuite"
# purchase order status ids (https://.../purchaseOrder status field) -> ours
STATUS = {"A": "open", "B": "open", "C": "cancelled", "D": "partially_received", "E": "partially_received",
          "F": "received", "G": "closed", "H": "closed"}
STATUS_NAMES = {"pending supervisor approval": "open", "pending receipt": "open", "rejected": "cancelled",
                "partially received": "partially_received", "pending billing/partially received": "partially_received",
                "pending bill": "received", "fully billed": "closed", "closed": "closed"}


class NetSuite:
    name = "netsuite"

    def __init__(self, *, base_url: str, access_token: str, subsidiary: str = "", generic_item: str = "",
                 timeout: float = 15.0) -> None:
        self.subsidiary = subsidiary
        self.generic_item = generic_item
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                  headers={"Authorization": f"Bearer {access_token}", "User-Agent": "procurebot",
                                           "Accept": "application/json"})

    @classmethod
    def from_settings(cls, s: ErpSettings) -> "NetSuite":
        require(s, "netsuite", "netsuite_base_url", "netsuite_access_token")
        return cls(base_url=s.netsuite_base_url, access_token=s.netsuite_access_token.get_secret_value(),  # type: ignore[union-attr]
                   subsidiary=s.netsuite_subsidiary, generic_item=s.netsuite_generic_item,
                   timeout=s.erp_timeout_seconds)

    # ------------------------------------------------------------------ ErpConnector
    def create_po(self, order: PurchaseOrderRequest, progress: PoProgress | None = None) -> PoCreated:
        found = self._get(order.reference)
        if found is not None:
            return PoCreated(order.reference, str(found.get("id", "")), str(found.get("tranId") or ""),
                             _status(found), created=False)
        self._request("PUT", f"/record/v1/purchaseOrder/{_eid(order.reference)}", params={"replace": "item"},
                      json=self._body(order))
        po = self._get(order.reference)
        if po is None:
            raise TransientError(f"{WHAT} accepted the purchase order for {order.reference} but does not show it yet")
        return PoCreated(order.reference, str(po.get("id", "")), str(po.get("tranId") or ""), _status(po))

    def get_po_status(self, reference: str, erp_id: str | None = None) -> PoStatus | None:
        po = self._get(reference)
        if po is None:
            return None
        status = _status(po)
        fraction = {"received": Decimal("1"), "closed": Decimal("1"), "partially_received": Decimal("0.5")}.get(
            status, Decimal("0"))
        return PoStatus(reference, str(po.get("id", "")), str(po.get("tranId") or ""), status, fraction)

    def list_suppliers(self) -> list[ErpSupplier]:
        rows = self._suiteql("SELECT id, entityid, companyname, externalid, isinactive FROM vendor")
        return [ErpSupplier(id=str(r.get("externalid") or r.get("entityid") or r["id"]).lower(),
                            name=str(r.get("companyname") or r.get("entityid") or ""),
                            blocked=str(r.get("isinactive", "F")).upper() == "T",
                            block_reason="inactive in NetSuite" if str(r.get("isinactive", "F")).upper() == "T" else None,
                            erp_key=str(r["id"])) for r in rows]

    def list_items(self) -> list[ErpItem]:
        rows = self._suiteql("SELECT id, itemid, displayname, externalid, isinactive FROM item")
        return [ErpItem(sku=str(r.get("externalid") or r.get("itemid") or r["id"]),
                        name=str(r.get("displayname") or r.get("itemid") or ""),
                        blocked=str(r.get("isinactive", "F")).upper() == "T", erp_key=str(r["id"])) for r in rows]

    def list_budgets(self) -> list[ErpBudget]:
        return []  # NetSuite budgets need the Budgets feature and a saved search; not read yet (docs/erp.md)

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ requests
    def _body(self, order: PurchaseOrderRequest) -> dict[str, Any]:
        items = []
        for line in order.lines:
            code = line.sku or self.generic_item
            if not code:
                raise PermanentError(f"line {line.line_no} has no SKU and PROCUREBOT_NETSUITE_GENERIC_ITEM names no "
                                     "item for such lines")
            items.append({"item": {"externalId": code}, "description": line.description[:999],
                          "quantity": float(line.quantity), "rate": float(line.unit_price)})
        body: dict[str, Any] = {"entity": {"externalId": order.supplier}, "memo": f"Requisition {order.reference}",
                                "currency": {"refName": order.currency}, "item": {"items": items}}
        if self.subsidiary:
            body["subsidiary"] = {"id": self.subsidiary}
        if order.need_by:
            body["dueDate"] = order.need_by.isoformat()
        return body

    def _get(self, reference: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/record/v1/purchaseOrder/{_eid(reference)}")
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise

    def _suiteql(self, query: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            data = self._request("POST", "/query/v1/suiteql", params={"limit": 1000, "offset": offset},
                                 json={"q": query}, headers={"Prefer": "transient"}) or {}
            rows.extend(data.get("items") or [])
            if not data.get("hasMore"):
                return rows
            offset += 1000

    def _request(self, method: str, url: str, **kw: Any) -> Any:
        response = guarded(lambda: self._http.request(method, url, **kw), WHAT)
        if response.status_code >= 400:
            raise classify_http(response.status_code, _error_text(response), what=WHAT,
                                retry_after=response.headers.get("Retry-After"))
        return read_json(response, WHAT)


def _eid(reference: str) -> str:
    return "eid:" + quote(reference, safe="")


def _status(po: dict[str, Any]) -> str:
    status = po.get("status") or {}
    if isinstance(status, dict):
        if status.get("id") in STATUS:
            return STATUS[status["id"]]
        return STATUS_NAMES.get(str(status.get("refName", "")).lower(), "open")
    return STATUS_NAMES.get(str(status).lower(), "open")


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        details = data.get("o:errorDetails") or []
        return "; ".join(f"{d.get('detail', '')} ({d.get('o:errorCode', '')})" for d in details[:3]) or data.get(
            "title", "")
    except Exception:  # noqa: BLE001 - a non-JSON error page
        return response.text[:200]
