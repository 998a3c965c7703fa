"""Microsoft Dynamics 365 Business Central, API v2.0: purchaseOrders and purchaseOrderLines.

Authentication is msal's client-credentials flow (an Entra app registration with the
API.ReadWrite.All application permission). Exactly once:

1. If an earlier attempt stored the PO's id (see `PoProgress`), read that PO.
2. Otherwise look it up by our requisition number, which every PO we create carries in a
   header text field (`PROCUREBOT_BC_REFERENCE_FIELD`, `shipToContact` by default; the
   standard v2.0 purchaseOrder has no free "your reference" field, so point this at one your
   API page exposes if you have it).
3. Only when neither finds it, POST the header, store its id at once, then add the lines
   that are not there yet (lines are keyed by `sequence`, so a retry never doubles one).
Updates (a changed requested receipt date on a retry) send the PO's etag in If-Match and,
if someone changed the PO in between (412), read it again before trying once more.

New vendors (`create_supplier`): the standard v2.0 vendor has no free field for our supplier-request number,
so the vendor is looked up by its exact e-mail and display name (`vendors?$filter=email eq '...'`) before one is
POSTed; Business Central numbers it from its vendor number series, and our supplier id is that number lower-cased.
A retry after a timeout that hid the create finds the vendor by the same two fields. The vendor's currency is
left blank when it is the company's local currency (PROCUREBOT_BC_LOCAL_CURRENCY), as Business Central expects.

Files (`documentAttachments`, parentType "Purchase Order"): the PO's attachments are listed first
(`documentAttachments?$filter=parentId eq <PO id> and parentType eq 'Purchase Order'`); for each file not there by
name with its full size, the metadata is POSTed (fileName, parentType, parentId) and the bytes PATCHed into its
`attachmentContent` (If-Match: *). A record whose content never arrived (size 0) gets its content on the retry
instead of a second record. A file Business Central refuses (4xx) leaves the PO as it is and is reported in
`PoCreated.attachment_problems`.

Budgets: API v2.0 has no budget entity. When PROCUREBOT_BC_BUDGET_API names a custom API page
("publisher/group/v1.0/entitySet", e.g. one published on G/L Budget Entry), its rows are read
from `.../api/<publisher>/<group>/<version>/companies(<id>)/<entitySet>` and summed per
`costCenterCode` (our cost-center code, the dimension value) into `budgetAmount` and
`actualAmount`. Without it, budgets come from our directory.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
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

WHAT = "Business Central"
BUDGET_API = re.compile(r"[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/v\d+\.\d+/[A-Za-z0-9_]+")
log = logging.getLogger(__name__)


def _odata_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class BusinessCentral:
    name = "business_central"

    def __init__(
        self,
        *,
        base_url: str,
        company_id: str,
        token_provider: Any,
        reference_field: str = "shipToContact",
        non_stock_account: str = "",
        budget_api: str = "",
        local_currency: str = "USD",
        attachment_content: AttachmentContent | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.company_id = company_id
        self.reference_field = reference_field
        self.non_stock_account = non_stock_account
        self.budget_url = _budget_url(base_url.rstrip("/"), company_id, budget_api) if budget_api else ""
        self._token = token_provider
        self.attachment_content = attachment_content
        self.local_currency = local_currency.upper()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"User-Agent": "procurebot", "Accept": "application/json"},
        )

    @classmethod
    def from_settings(cls, s: ErpSettings, *, attachment_content: AttachmentContent | None = None) -> "BusinessCentral":
        require(s, "business_central", "bc_tenant_id", "bc_client_id", "bc_client_secret", "bc_company_id")
        base = s.bc_base_url or (
            f"https://api.businesscentral.dynamics.com/v2.0/{s.bc_tenant_id}/{s.bc_environment}/api/v2.0"
        )
        tokens = MsalTokens(
            tenant=s.bc_tenant_id,
            client_id=s.bc_client_id,
            secret=s.bc_client_secret.get_secret_value(),  # type: ignore[union-attr]
            authority_host=s.bc_authority_host,
            scope=s.bc_scope,
            ca_bundle=str(s.bc_ca_bundle) if s.bc_ca_bundle else None,
            timeout=s.erp_timeout_seconds,
        )
        return cls(
            base_url=base,
            company_id=s.bc_company_id,
            token_provider=tokens,
            reference_field=s.bc_reference_field,
            non_stock_account=s.bc_non_stock_account,
            budget_api=s.bc_budget_api,
            local_currency=s.bc_local_currency,
            attachment_content=attachment_content,
            timeout=s.erp_timeout_seconds,
        )

    # ------------------------------------------------------------------ ErpConnector
    def create_po(self, order: PurchaseOrderRequest, progress: PoProgress | None = None) -> PoCreated:
        header = self._get(progress.erp_id) if progress and progress.erp_id else None
        if header is None:
            header = self._find(order.reference)
        created = header is None
        if header is None:
            header = self._request("POST", self._company("/purchaseOrders"), json=self._header_body(order))
            if not isinstance(header, dict) or not header.get("id"):
                raise TransientError(f"{WHAT} created a purchase order but did not say its id; the retry will find it")
            if progress:
                progress.save(str(header["id"]))  # before the lines: a crash from here on resumes this PO
        po_id = str(header["id"])
        existing = {int(line.get("sequence") or 0) for line in self._lines(po_id, header)}
        for line in order.lines:
            sequence = line.line_no * 10000
            if sequence in existing:
                continue
            self._request(
                "POST",
                self._company(f"/purchaseOrders({po_id})/purchaseOrderLines"),
                json=self._line_body(line, sequence),
            )
        want_date = order.need_by.isoformat() if order.need_by else None
        if not created and want_date and header.get("requestedReceiptDate") != want_date:
            header = self._patch(po_id, {"requestedReceiptDate": want_date}, header)
        problems = self._attach(po_id, order) if order.attachments else ()
        return PoCreated(
            order.reference,
            po_id,
            str(header.get("number") or ""),
            _status(header, []),
            created=created,
            attachment_problems=problems,
        )

    def create_supplier(self, request: NewSupplierRequest) -> ErpSupplier:
        """The vendor with this e-mail and name, found or POSTed to `vendors` (see the module docstring)."""
        vendor = self._find_vendor(request)
        if vendor is None:
            body: dict[str, Any] = {
                "displayName": request.name[:100],
                "email": request.email,
                "currencyCode": "" if request.currency.upper() == self.local_currency else request.currency.upper(),
            }
            if request.website:
                body["website"] = request.website
            if request.tax_id:
                body["taxRegistrationNumber"] = request.tax_id
            vendor = self._request("POST", self._company("/vendors"), json=body, subject="the new vendor")
            if not isinstance(vendor, dict) or not vendor.get("number"):
                raise TransientError(f"{WHAT} created a vendor but did not say its number; the retry will find it")
        return _supplier(vendor)

    def get_po_status(self, reference: str, erp_id: str | None = None) -> PoStatus | None:
        header = self._get(erp_id, expand=True) if erp_id else self._find(reference)
        if header is None:
            # Business Central removes a purchase order once it is fully received and invoiced
            return PoStatus(reference, erp_id, "", "closed", Decimal("1")) if erp_id else None
        lines = self._lines(str(header["id"]), header)
        ordered = sum((Decimal(str(x.get("quantity") or 0)) for x in lines), Decimal("0"))
        received = sum((Decimal(str(x.get("receivedQuantity") or 0)) for x in lines), Decimal("0"))
        fraction = (received / ordered) if ordered else Decimal("0")
        return PoStatus(reference, str(header["id"]), str(header.get("number") or ""), _status(header, lines), fraction)

    def list_suppliers(self) -> list[ErpSupplier]:
        return [_supplier(v) for v in self._all(self._company("/vendors"))]

    def list_items(self) -> list[ErpItem]:
        return [
            ErpItem(
                sku=str(i.get("number", "")),
                name=i.get("displayName") or "",
                category=(i.get("itemCategoryCode") or None),
                unit=i.get("baseUnitOfMeasureCode") or None,
                unit_price=Decimal(str(i["unitCost"])) if i.get("unitCost") is not None else None,
                blocked=bool(i.get("blocked")),
                erp_key=str(i.get("id", "")),
            )
            for i in self._all(self._company("/items"))
        ]

    def list_budgets(self) -> list[ErpBudget]:
        """The custom budget API page's rows summed per cost center, or none (the directory's) without one."""
        if not self.budget_url:
            return []
        sums: dict[str, tuple[Decimal, Decimal]] = {}
        for row in self._all(self.budget_url):
            code = str(row.get("costCenterCode") or "").strip()
            budget: Decimal | None = None
            try:
                budget, actual = Decimal(str(row["budgetAmount"])), Decimal(str(row.get("actualAmount") or 0))
            except (KeyError, InvalidOperation):
                pass
            if not code or budget is None:
                log.warning(
                    "%s budget row %s skipped: it has no %s; the custom API page must give costCenterCode and "
                    "budgetAmount",
                    WHAT,
                    row.get("id") or "?",
                    "costCenterCode" if not code else "numeric budgetAmount",
                )
                continue
            had = sums.get(code, (Decimal(0), Decimal(0)))
            sums[code] = (had[0] + budget, had[1] + actual)
        return [ErpBudget(cost_center=code, budget=b, spent=a) for code, (b, a) in sorted(sums.items())]

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ requests
    def _company(self, path: str) -> str:
        return f"/companies({self.company_id}){path}"

    def _find(self, reference: str) -> dict[str, Any] | None:
        flt = f"{self.reference_field} eq {_odata_str(reference)}"
        data = self._request(
            "GET", self._company("/purchaseOrders"), params={"$filter": flt, "$expand": "purchaseOrderLines"}
        )
        rows = (data or {}).get("value") or []
        if len(rows) > 1:
            numbers = ", ".join(str(r.get("number")) for r in rows)
            raise PermanentError(
                f"{WHAT} already has {len(rows)} purchase orders for {reference} ({numbers}); "
                "a person must decide which one stands"
            )
        return rows[0] if rows else None

    def _find_vendor(self, request: NewSupplierRequest) -> dict[str, Any] | None:
        data = self._request(
            "GET", self._company("/vendors"), params={"$filter": f"email eq {_odata_str(request.email)}"}
        )
        name = " ".join(request.name.split()).casefold()
        rows = [
            v
            for v in (data or {}).get("value") or []
            if " ".join(str(v.get("displayName") or "").split()).casefold() == name
        ]
        if len(rows) > 1:
            numbers = ", ".join(str(v.get("number")) for v in rows)
            raise PermanentError(
                f"{WHAT} already has {len(rows)} vendors named {request.name} with e-mail {request.email} "
                f"({numbers}); a person must decide which one {request.reference} is"
            )
        return rows[0] if rows else None

    def _attach(self, po_id: str, order: PurchaseOrderRequest) -> tuple[str, ...]:
        """Send the order's files to the PO's documentAttachments, skipping those already there whole."""
        flt = f"parentId eq {po_id} and parentType eq 'Purchase Order'"
        data = self._request("GET", self._company("/documentAttachments"), params={"$filter": flt})
        there = {str(r.get("fileName")): r for r in (data or {}).get("value") or []}

        def held(a: PoAttachment) -> bool:
            row = there.get(a.filename)
            return row is not None and int(row.get("byteSize") or 0) == a.size

        def send(a: PoAttachment, content: bytes) -> None:
            row = there.get(a.filename)
            if row is None:  # a record whose content never arrived is filled in, not doubled
                row = self._request(
                    "POST",
                    self._company("/documentAttachments"),
                    json={"fileName": a.filename, "parentType": "Purchase Order", "parentId": po_id},
                    subject=f"the file {a.filename}",
                )
                if not isinstance(row, dict) or not row.get("id"):
                    raise TransientError(f"{WHAT} created the attachment {a.filename} but did not say its id")
                there[a.filename] = row
            self._request(
                "PATCH",
                self._company(f"/documentAttachments({row['id']})/attachmentContent"),
                content=content,
                headers={"If-Match": "*", "Content-Type": "application/octet-stream"},
                subject=f"the file {a.filename}",
            )

        return send_files(order, self.attachment_content, held, send)

    def _get(self, po_id: str, expand: bool = True) -> dict[str, Any] | None:
        try:
            return self._request(
                "GET",
                self._company(f"/purchaseOrders({po_id})"),
                params={"$expand": "purchaseOrderLines"} if expand else None,
            )
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise

    def _lines(self, po_id: str, header: dict[str, Any]) -> list[dict[str, Any]]:
        if "purchaseOrderLines" in header:
            return list(header["purchaseOrderLines"] or [])
        return self._all(self._company(f"/purchaseOrders({po_id})/purchaseOrderLines"))

    def _patch(self, po_id: str, body: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(2):
            etag = header.get("@odata.etag") or "*"
            try:
                return self._request(
                    "PATCH", self._company(f"/purchaseOrders({po_id})"), json=body, headers={"If-Match": etag}
                )
            except PermanentError as exc:
                if exc.status != 412 or attempt:
                    raise
                fresh = self._get(po_id, expand=False)  # someone changed it: read the new etag once
                if fresh is None:
                    raise
                header = fresh
        raise AssertionError("unreachable")

    def _all(self, path: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        data = self._request("GET", path)
        while True:
            rows.extend((data or {}).get("value") or [])
            nxt = (data or {}).get("@odata.nextLink")
            if not nxt:
                return rows
            data = self._request("GET", nxt)

    def _request(self, method: str, url: str, *, subject: str = "the purchase order", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._token()}", **kw.pop("headers", {})}
        response = guarded(lambda: self._http.request(method, url, headers=headers, **kw), WHAT)
        if response.status_code >= 400:
            raise classify_http(
                response.status_code,
                _error_text(response),
                what=WHAT,
                retry_after=response.headers.get("Retry-After"),
                subject=subject,
            )
        return read_json(response, WHAT)

    def _header_body(self, order: PurchaseOrderRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "vendorNumber": order.supplier.upper(),
            "currencyCode": order.currency,
            self.reference_field: order.reference,
        }
        if order.need_by:
            body["requestedReceiptDate"] = order.need_by.isoformat()
        return body

    def _line_body(self, line: Any, sequence: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sequence": sequence,
            "description": line.description[:100],
            "quantity": float(line.quantity),
            "directUnitCost": float(line.unit_price),
        }
        if line.sku:
            body.update(lineType="Item", lineObjectNumber=line.sku)
        elif self.non_stock_account:
            body.update(lineType="Account", lineObjectNumber=self.non_stock_account)
        else:
            raise PermanentError(
                f"line {line.line_no} ({line.description[:40]}) has no SKU, and "
                "PROCUREBOT_BC_NON_STOCK_ACCOUNT names no G/L account for lines without one"
            )
        return body


def _supplier(v: dict[str, Any]) -> ErpSupplier:
    blocked = (v.get("blocked") or " ").strip() not in ("", "_x0020_")
    return ErpSupplier(
        id=str(v.get("number", "")).lower(),
        name=v.get("displayName") or "",
        blocked=blocked,
        block_reason=f"blocked in Business Central ({v.get('blocked')})" if blocked else None,
        currency=v.get("currencyCode") or None,
        erp_key=str(v.get("id", "")),
    )


def _budget_url(base_url: str, company_id: str, budget_api: str) -> str:
    """The custom API page's address beside API v2.0: .../api/<publisher>/<group>/<version>/companies(id)/<set>."""
    if not BUDGET_API.fullmatch(budget_api):
        raise ValueError(
            f"PROCUREBOT_BC_BUDGET_API {budget_api!r} must be publisher/group/version/entitySet as the custom API "
            "page declares them (APIPublisher, APIGroup, APIVersion, EntitySetName), e.g. contoso/finance/v1.0/"
            "costCenterBudgets"
        )
    if not base_url.endswith("/api/v2.0"):
        raise ValueError(
            "PROCUREBOT_BC_BUDGET_API needs PROCUREBOT_BC_BASE_URL to end in /api/v2.0, so the custom API "
            "page's address can be derived from it"
        )
    publisher, group, version, entity_set = budget_api.split("/")
    root = base_url.removesuffix("/v2.0")
    return f"{root}/{publisher}/{group}/{version}/companies({company_id})/{entity_set}"


def _status(header: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    if header.get("fullyReceived"):
        return "received"
    if any(Decimal(str(x.get("receivedQuantity") or 0)) > 0 for x in lines):
        return "partially_received"
    return "open"


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        err = data.get("error") or {}
        return f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")
    except Exception:  # noqa: BLE001 - any non-JSON error page: show its start
        return response.text[:200]


class MsalTokens:
    """Client-credentials tokens from Microsoft Entra ID through msal, cached until they expire."""

    def __init__(
        self,
        *,
        tenant: str,
        client_id: str,
        secret: str,
        authority_host: str,
        scope: str,
        ca_bundle: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        import msal
        import requests

        session = requests.Session()
        if ca_bundle:
            # a company proxy's or a test server's own certificate authority; requests would let
            # REQUESTS_CA_BUNDLE from the environment override a session's setting, so it stops reading it
            session.verify = ca_bundle
            session.trust_env = False
        self.scope = scope
        self._app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=secret,
            authority=f"{authority_host.rstrip('/')}/{tenant}",
            http_client=session,
            timeout=timeout,
            instance_discovery=authority_host.rstrip("/") == "https://login.microsoftonline.com",
        )
        self._lock = __import__("threading").Lock()

    def __call__(self) -> str:
        with self._lock:
            try:
                result = self._app.acquire_token_for_client(scopes=[self.scope])
            except Exception as exc:  # noqa: BLE001 - msal raises requests' and its own errors
                raise TransientError(f"could not reach Microsoft Entra ID for a token ({type(exc).__name__})") from exc
        if "access_token" in result:
            return str(result["access_token"])
        error = result.get("error", "unknown_error")
        text = str(result.get("error_description", "")).splitlines()[0][:200] if result.get("error_description") else ""
        if error in ("invalid_client", "unauthorized_client", "invalid_scope", "invalid_request", "invalid_grant"):
            raise PermanentError(
                f"Microsoft Entra ID refused the Business Central app credentials ({error}: {text}). "
                "Check PROCUREBOT_BC_TENANT_ID, PROCUREBOT_BC_CLIENT_ID and the client secret."
            )
        raise TransientError(f"Microsoft Entra ID did not give a token ({error}: {text})")
