"""Odoo 19+ through its External JSON-2 API: `purchase.order` create, then confirm.

Every call is `POST /json/2/<model>/<method>` with `Authorization: bearer <API key>` (and
`X-Odoo-Database` when one server hosts several databases); each call is its own transaction
in Odoo. Exactly once: the PO carries our requisition number in `origin` (Odoo's "source
document"), so before creating we search for it; the header and its lines are created in one
call (one transaction), its id is stored before the confirm call, and a retry that finds a
draft PO confirms that one instead of creating another.

New vendors (`create_supplier`): a `res.partner` with `supplier_rank` 1 whose `ref` ("Reference") carries our
supplier-request number, lower-cased (sup-7): it is then the vendor's code and our supplier id, as
list_suppliers reads it and as a PO finds its vendor (`ref` =, case-sensitive). Before creating, the partner is
looked up by that ref, then by its exact e-mail and name (a contact someone entered by hand meanwhile gets the
ref written on it instead of a twin).

Files: each attachment becomes an `ir.attachment` (name, `res_model` "purchase.order", `res_id` the PO, `datas`
the bytes in base64, `mimetype`), created in one call each, after the PO's own attachments are read: a file
already there by name and size is skipped, so a retry never doubles one. A file Odoo refuses (4xx) leaves the PO
as it is and is reported in `PoCreated.attachment_problems`. The calls are JSON-2's `/json/2/<model>/<method>`,
the same `create`/`search_read` methods the older `execute_kw` (JSON-RPC, XML-RPC) API exposes.

Budgets come from Odoo's Budget app (`account_budget`): the lines (`budget.line`) of open
(`confirmed`) expense budgets whose period holds today, per analytic account (`account_id`,
the project plan), with the budgeted amount (`budget_amount`) and what was billed against it
(`achieved_amount`). The analytic account's `code` (or `name`, PROCUREBOT_ODOO_BUDGET_KEY) is
our cost-center code. Without the Budget app Odoo answers 404 for `budget.line`: no budgets.
"""

from __future__ import annotations

import base64
import logging
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from connectors.erp.base import (
    AttachmentContent,
    ErpBudget,
    ErpItem,
    ErpSupplier,
    NewSupplierRequest,
    PermanentError,
    PoAttachment,
    PoCreated,
    PoProgress,
    PoStatus,
    PurchaseOrderRequest,
    TransientError,
    classify_http,
    guarded,
    read_json,
    send_files,
)
from connectors.erp.config import ErpSettings, require

WHAT = "Odoo"
BUDGET_LINE_FIELDS = ["id", "account_id", "budget_amount", "achieved_amount", "date_from", "date_to"]
log = logging.getLogger(__name__)
PO_FIELDS = ["id", "name", "state", "receipt_status", "origin"]


class Odoo:
    name = "odoo"

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        database: str = "",
        generic_product: str = "",
        budget_key: str = "code",
        attachment_content: AttachmentContent | None = None,
        timeout: float = 15.0,
        today: Any = date.today,
    ) -> None:
        headers = {
            "Authorization": f"bearer {api_key}",
            "User-Agent": "procurebot",
            "Content-Type": "application/json; charset=utf-8",
        }
        if database:
            headers["X-Odoo-Database"] = database
        self.generic_product = generic_product
        self.budget_key = budget_key
        self.today = today
        self.attachment_content = attachment_content
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, headers=headers)

    @classmethod
    def from_settings(cls, s: ErpSettings, *, attachment_content: AttachmentContent | None = None) -> "Odoo":
        require(s, "odoo", "odoo_url", "odoo_api_key")
        return cls(
            url=s.odoo_url,
            api_key=s.odoo_api_key.get_secret_value(),  # type: ignore[union-attr]
            database=s.odoo_database,
            generic_product=s.odoo_generic_product,
            budget_key=s.odoo_budget_key,
            attachment_content=attachment_content,
            timeout=s.erp_timeout_seconds,
        )

    # ------------------------------------------------------------------ ErpConnector
    def create_po(self, order: PurchaseOrderRequest, progress: PoProgress | None = None) -> PoCreated:
        po = self._read(int(progress.erp_id)) if progress and progress.erp_id else None
        if po is None:
            po = self._find(order.reference)
        created = po is None
        if po is None:
            partner = self._partner(order.supplier)
            products = self._products(order)
            vals = {
                "partner_id": partner,
                "origin": order.reference,
                "order_line": [
                    [
                        0,
                        0,
                        {
                            "product_id": products[line.sku or self.generic_product],
                            "name": line.description,
                            "product_qty": float(line.quantity),
                            "price_unit": float(line.unit_price),
                        },
                    ]
                    for line in order.lines
                ],
            }
            if order.need_by:
                vals["date_planned"] = f"{order.need_by.isoformat()} 12:00:00"
            ids = self._call("purchase.order", "create", vals_list=[vals])
            if not isinstance(ids, list) or not ids or not isinstance(ids[0], int):
                raise TransientError(f"{WHAT} answered create with {str(ids)[:60]!r} instead of a new id")
            if progress:
                progress.save(str(ids[0]))  # before confirming: a retry confirms this PO, never a new one
            po = {"id": ids[0], "state": "draft", "name": ""}
        if po.get("state") in ("draft", "sent", "to approve"):
            self._call("purchase.order", "button_confirm", ids=[po["id"]])
            po = self._read(int(po["id"])) or po
        problems = self._attach(int(po["id"]), order) if order.attachments else ()
        return PoCreated(
            order.reference,
            str(po["id"]),
            str(po.get("name") or ""),
            _status(po),
            created=created,
            attachment_problems=problems,
        )

    def get_po_status(self, reference: str, erp_id: str | None = None) -> PoStatus | None:
        po = self._read(int(erp_id)) if erp_id else self._find(reference)
        if po is None:
            return None
        status = _status(po)
        fraction = {"received": Decimal("1"), "closed": Decimal("1"), "partially_received": Decimal("0.5")}.get(
            status, Decimal("0")
        )
        return PoStatus(reference, str(po["id"]), str(po.get("name") or ""), status, fraction)

    def create_supplier(self, request: NewSupplierRequest) -> ErpSupplier:
        """The vendor partner whose ref is `request.reference`, found or created (see the module docstring)."""
        ref = request.reference.lower()
        fields = ["id", "name", "ref", "active", "email"]
        rows = self._call("res.partner", "search_read", domain=[["ref", "=", ref]], fields=fields) or []
        if not rows:
            rows = (
                self._call(
                    "res.partner",
                    "search_read",
                    domain=[["email", "=", request.email], ["name", "=", request.name.strip()]],
                    fields=fields,
                )
                or []
            )
            if len(rows) > 1:
                raise PermanentError(
                    f"{WHAT} already has {len(rows)} contacts named {request.name} with e-mail {request.email}; "
                    f"a person must decide which one {request.reference} is"
                )
            if rows and not rows[0].get("ref"):
                self._call(
                    "res.partner",
                    "write",
                    ids=[rows[0]["id"]],
                    vals={"ref": ref, "supplier_rank": 1},
                    subject="the new vendor",
                )
                rows[0]["ref"] = ref
        if rows:
            return _partner_supplier(rows[0])
        vals: dict[str, Any] = {
            "name": request.name.strip(),
            "email": request.email,
            "ref": ref,
            "supplier_rank": 1,
            "is_company": True,
        }
        if request.website:
            vals["website"] = request.website
        if request.tax_id:
            vals["vat"] = request.tax_id
        ids = self._call("res.partner", "create", vals_list=[vals], subject="the new vendor")
        if not isinstance(ids, list) or not ids or not isinstance(ids[0], int):
            raise TransientError(f"{WHAT} answered the vendor create with {str(ids)[:60]!r} instead of a new id")
        return _partner_supplier({"id": ids[0], "name": vals["name"], "ref": ref, "active": True})

    def list_suppliers(self) -> list[ErpSupplier]:
        rows = (
            self._call(
                "res.partner", "search_read", domain=[["supplier_rank", ">", 0]], fields=["id", "name", "ref", "active"]
            )
            or []
        )
        return [_partner_supplier(r) for r in rows]

    def list_items(self) -> list[ErpItem]:
        rows = (
            self._call(
                "product.product",
                "search_read",
                domain=[["purchase_ok", "=", True]],
                fields=["id", "default_code", "name", "categ_id", "uom_id", "standard_price"],
            )
            or []
        )
        return [
            ErpItem(
                sku=str(r.get("default_code") or r["id"]),
                name=r.get("name") or "",
                category=_m2o_name(r.get("categ_id")),
                unit=_m2o_name(r.get("uom_id")),
                unit_price=Decimal(str(r["standard_price"])) if r.get("standard_price") is not None else None,
                erp_key=str(r["id"]),
            )
            for r in rows
        ]

    def list_budgets(self) -> list[ErpBudget]:
        """Open expense budgets running today, summed per analytic account whose code (or name) is our cost center."""
        today = self.today().isoformat()
        try:
            lines = (
                self._call(
                    "budget.line",
                    "search_read",
                    fields=BUDGET_LINE_FIELDS,
                    domain=[
                        ["budget_analytic_state", "=", "confirmed"],
                        ["budget_analytic_id.budget_type", "!=", "revenue"],
                        ["date_from", "<=", today],
                        ["date_to", ">=", today],
                    ],
                )
                or []
            )
        except PermanentError as exc:
            if exc.status != 404 or "budget.line" not in exc.reason:
                raise
            log.info("%s has no budget.line model (the Budget app is not installed): no budgets read", WHAT)
            return []
        ids = sorted({int(x["account_id"][0]) for x in lines if _m2o_name(x.get("account_id"))})
        accounts: list[dict[str, Any]] = []
        if ids:
            accounts = (
                self._call(
                    "account.analytic.account", "search_read", domain=[["id", "in", ids]], fields=["id", "code", "name"]
                )
                or []
            )
        keys = {int(a["id"]): str(a.get(self.budget_key) or "").strip() for a in accounts}
        sums: dict[str, list[Decimal]] = {}
        periods: dict[str, str] = {}
        for line in lines:
            account = line.get("account_id")
            code = keys.get(int(account[0])) if _m2o_name(account) else None
            if not code:
                log.warning(
                    "%s budget line %s skipped: %s; set the analytic account's %s to our cost-center code",
                    WHAT,
                    line.get("id"),
                    f"analytic account {account[1]!r} has no {self.budget_key}"
                    if _m2o_name(account)
                    else "it has no analytic account",
                    self.budget_key,
                )
                continue
            total = sums.setdefault(code, [Decimal(0), Decimal(0)])
            total[0] += Decimal(str(line.get("budget_amount") or 0))
            total[1] += Decimal(str(line.get("achieved_amount") or 0))
            periods.setdefault(code, f"{str(line.get('date_from'))[:7]}..{str(line.get('date_to'))[:7]}")
        return [
            ErpBudget(cost_center=code, budget=b, spent=a, period=periods[code])
            for code, (b, a) in sorted(sums.items())
        ]

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ calls
    def _find(self, reference: str) -> dict[str, Any] | None:
        rows = (
            self._call(
                "purchase.order",
                "search_read",
                domain=[["origin", "=", reference], ["state", "!=", "cancel"]],
                fields=PO_FIELDS,
            )
            or []
        )
        if len(rows) > 1:
            raise PermanentError(
                f"{WHAT} already has {len(rows)} purchase orders for {reference} "
                f"({', '.join(str(r.get('name')) for r in rows)}); a person must decide which stands"
            )
        return rows[0] if rows else None

    def _attach(self, po_id: int, order: PurchaseOrderRequest) -> tuple[str, ...]:
        """Create an ir.attachment on the PO for each of the order's files it does not hold yet."""
        rows = (
            self._call(
                "ir.attachment",
                "search_read",
                domain=[["res_model", "=", "purchase.order"], ["res_id", "=", po_id]],
                fields=["id", "name", "file_size"],
            )
            or []
        )
        there = {(str(r.get("name")), int(r.get("file_size") or 0)) for r in rows}

        def send(a: PoAttachment, content: bytes) -> None:
            vals = {
                "name": a.filename,
                "res_model": "purchase.order",
                "res_id": po_id,
                "datas": base64.b64encode(content).decode(),
                "mimetype": a.content_type,
            }
            self._call("ir.attachment", "create", vals_list=[vals], subject=f"the file {a.filename}")

        return send_files(order, self.attachment_content, lambda a: (a.filename, a.size) in there, send)

    def _read(self, po_id: int) -> dict[str, Any] | None:
        rows = self._call("purchase.order", "read", ids=[po_id], fields=PO_FIELDS) or []
        return rows[0] if rows else None

    def _partner(self, supplier: str) -> int:
        rows = (
            self._call("res.partner", "search_read", domain=[["ref", "=", supplier]], fields=["id", "name"], limit=2)
            or []
        )
        if not rows:
            raise PermanentError(
                f"{WHAT} has no vendor whose Reference is {supplier!r}; set it on the vendor's "
                "contact in Odoo or correct the requisition's supplier"
            )
        return int(rows[0]["id"])

    def _products(self, order: PurchaseOrderRequest) -> dict[str, int]:
        codes = sorted({line.sku or self.generic_product for line in order.lines})
        if "" in codes:
            raise PermanentError(
                "a line has no SKU and PROCUREBOT_ODOO_GENERIC_PRODUCT names no product for such lines"
            )
        rows = (
            self._call(
                "product.product", "search_read", domain=[["default_code", "in", codes]], fields=["id", "default_code"]
            )
            or []
        )
        found = {str(r["default_code"]): int(r["id"]) for r in rows}
        missing = [c for c in codes if c not in found]
        if missing:
            raise PermanentError(
                f"{WHAT} has no product with internal reference {', '.join(missing)}; "
                "create it in Odoo or correct the requisition's lines"
            )
        return found

    def _call(self, model: str, method: str, *, subject: str = "the purchase order", **params: Any) -> Any:
        response = guarded(lambda: self._http.post(f"/json/2/{model}/{method}", json=params), WHAT)
        if response.status_code >= 400:
            raise classify_http(
                response.status_code,
                _error_text(response),
                what=WHAT,
                retry_after=response.headers.get("Retry-After"),
                subject=subject,
            )
        return read_json(response, WHAT)


def _partner_supplier(r: dict[str, Any]) -> ErpSupplier:
    return ErpSupplier(
        id=str(r.get("ref") or r["id"]).lower(),
        name=r.get("name") or "",
        blocked=not r.get("active", True),
        erp_key=str(r["id"]),
    )


def _status(po: dict[str, Any]) -> str:
    state, receipt = po.get("state"), po.get("receipt_status")
    if state == "cancel":
        return "cancelled"
    if state == "done":
        return "closed"
    if receipt == "full":
        return "received"
    if receipt == "partial":
        return "partially_received"
    return "open"


def _m2o_name(value: Any) -> str | None:
    return str(value[1]) if isinstance(value, list) and len(value) == 2 else None


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        if isinstance(data, dict):
            # the documented error object: name, message, arguments, context, debug (a traceback we never show)
            return f"{data.get('message') or ''} ({str(data.get('name', '')).rsplit('.', 1)[-1]})"
        return str(data)[:200]
    except Exception:  # noqa: BLE001 - a non-JSON error page
        return response.text[:200]
