"""A generic signed webhook, for integration platforms that sit in front of any ERP.

Every call is `POST <PROCUREBOT_ERP_WEBHOOK_URL>` with a JSON body `{"schema":
"procurebot.erp.v1", "event": ..., ...}` and these headers (schema in docs/erp.md):

    X-Procurebot-Event:     purchase_order.create | purchase_order.status | supplier.create | master_data.<kind>
    X-Procurebot-Timestamp: seconds since the epoch
    X-Procurebot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>
    Idempotency-Key:        the requisition number (purchase_order.create) or the supplier-request
                            number (supplier.create)

The receiver must treat that number as the key: the same reference twice answers with the same
PO or vendor (`"created": false`). `verify_signature` is the receiver's half, in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import httpx

from connectors.erp.base import (
    PO_STATUSES,
    ErpBudget,
    ErpItem,
    ErpSupplier,
    NewSupplierRequest,
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

WHAT = "the ERP webhook"
SCHEMA = "procurebot.erp.v1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None, tolerance_seconds: int = 300
) -> bool:
    """True when `signature` is ours for this body and the timestamp is recent (replays are refused)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance_seconds and hmac.compare_digest(sign(secret, timestamp, body), signature)


class SignedWebhook:
    name = "webhook"

    def __init__(self, *, url: str, secret: str, timeout: float = 15.0) -> None:
        if len(secret) < 16:
            raise ValueError("PROCUREBOT_ERP_WEBHOOK_SECRET must be at least 16 characters")
        self.url = url
        self._secret = secret
        self._http = httpx.Client(timeout=timeout, headers={"User-Agent": "procurebot"})

    @classmethod
    def from_settings(cls, s: ErpSettings) -> "SignedWebhook":
        require(s, "webhook", "erp_webhook_url", "erp_webhook_secret")
        return cls(
            url=s.erp_webhook_url,
            secret=s.erp_webhook_secret.get_secret_value(),  # type: ignore[union-attr]
            timeout=s.erp_timeout_seconds,
        )

    # ------------------------------------------------------------------ ErpConnector
    def create_po(self, order: PurchaseOrderRequest, progress: PoProgress | None = None) -> PoCreated:
        data = self._post("purchase_order.create", {"order": order.to_payload()}, key=order.reference)
        if not isinstance(data, dict) or not data.get("po_number"):
            raise TransientError(f"{WHAT} answered without a po_number; expected the schema in docs/erp.md")
        return PoCreated(
            order.reference,
            str(data.get("erp_id") or data["po_number"]),
            str(data["po_number"]),
            _status(data.get("status")),
            created=bool(data.get("created", True)),
        )

    def get_po_status(self, reference: str, erp_id: str | None = None) -> PoStatus | None:
        try:
            data = self._post("purchase_order.status", {"reference": reference, "erp_id": erp_id})
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(data, dict):
            raise TransientError(f"{WHAT} answered the status call with something other than an object")
        return PoStatus(
            reference,
            str(data.get("erp_id") or erp_id or ""),
            str(data.get("po_number") or ""),
            _status(data.get("status")),
            Decimal(str(data.get("received_fraction") or 0)),
        )

    def create_supplier(self, request: NewSupplierRequest) -> ErpSupplier:
        """`supplier.create` with `{"supplier": {...}}`; the receiver answers `vendor_number` (and its `erp_id`)."""
        data = self._post("supplier.create", {"supplier": request.to_payload()}, key=request.reference)
        if not isinstance(data, dict) or not data.get("vendor_number"):
            raise TransientError(f"{WHAT} answered supplier.create without a vendor_number; expected docs/erp.md")
        number = str(data["vendor_number"])
        return ErpSupplier(
            id=number.lower(),
            name=str(data.get("name") or request.name),
            currency=str(data.get("currency") or request.currency),
            erp_key=str(data.get("erp_id") or number),
        )

    def list_suppliers(self) -> list[ErpSupplier]:
        return [
            ErpSupplier(
                id=str(r["id"]),
                name=str(r.get("name") or r["id"]),
                blocked=bool(r.get("blocked")),
                block_reason=r.get("block_reason"),
                risk_tier=r.get("risk_tier"),
                contracted=r.get("contracted"),
                currency=r.get("currency"),
                erp_key=str(r.get("erp_key") or r["id"]),
            )
            for r in self._master("suppliers")
        ]

    def list_items(self) -> list[ErpItem]:
        return [
            ErpItem(
                sku=str(r["sku"]),
                name=str(r.get("name") or r["sku"]),
                category=r.get("category"),
                unit=r.get("unit"),
                unit_price=Decimal(str(r["unit_price"])) if r.get("unit_price") is not None else None,
                blocked=bool(r.get("blocked")),
                erp_key=str(r.get("erp_key") or r["sku"]),
            )
            for r in self._master("items")
        ]

    def list_budgets(self) -> list[ErpBudget]:
        return [
            ErpBudget(
                cost_center=str(r["cost_center"]),
                budget=Decimal(str(r["budget"])),
                spent=Decimal(str(r.get("spent") or 0)),
                period=str(r.get("period") or ""),
            )
            for r in self._master("budgets")
        ]

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ requests
    def _master(self, kind: str) -> list[dict[str, Any]]:
        try:
            data = self._post(f"master_data.{kind}", {})
        except (PermanentError, TransientError) as exc:
            if exc.status in (404, 501):
                return []  # the receiver does not offer this kind of master data
            raise
        rows = (data or {}).get(kind) if isinstance(data, dict) else None
        return [r for r in rows or [] if isinstance(r, dict)]

    def _post(self, event: str, fields: dict[str, Any], key: str | None = None) -> Any:
        body = json.dumps({"schema": SCHEMA, "event": event, **fields}, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Procurebot-Event": event,
            "X-Procurebot-Timestamp": timestamp,
            "X-Procurebot-Signature": sign(self._secret, timestamp, body),
        }
        if key:
            headers["Idempotency-Key"] = key
        response = guarded(lambda: self._http.post(self.url, content=body, headers=headers), WHAT)
        if response.status_code == 409 and event in ("purchase_order.create", "supplier.create"):
            return read_json(response, WHAT)  # "already exists": the body describes the existing PO or vendor
        if response.status_code >= 400:
            raise classify_http(
                response.status_code, _error_text(response), what=WHAT, retry_after=response.headers.get("Retry-After")
            )
        return read_json(response, WHAT)


def _status(value: Any) -> str:
    return value if value in PO_STATUSES else "open"


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        if isinstance(data, dict):
            return str(data.get("error") or data.get("message") or data)[:200]
        return str(data)[:200]
    except Exception:  # noqa: BLE001 - a non-JSON error page
        return response.text[:200]
