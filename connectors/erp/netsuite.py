"""NetSuite REST web services: `purchaseOrder` upserted by external id.

The strongest idempotency NetSuite offers is the external-id upsert: `PUT
/record/v1/purchaseOrder/eid:PR-1042` creates the PO if no record has that external id and
updates it otherwise, so a retry after a timeout can never make a second PO. We still read
`eid:PR-1042` first and skip the PUT when it exists, because an upsert of an existing PO would
rewrite its lines (`replace=item`) after receipts may have been booked against them.

Vendors and items are referred to by their external ids (our supplier id and SKU). Master
data is read with SuiteQL.

New vendors (`create_supplier`) get the same external-id upsert: the vendor's `externalId` carries our
supplier-request number, lower-cased (sup-7), which is also our supplier id (list_suppliers reads externalid
first) and what a PO names its vendor by. `GET /record/v1/vendor/eid:sup-7` first; only when it is not there,
`PUT /record/v1/vendor/eid:sup-7` (companyName, email, url, taxIdNum, currency, subsidiary), so a retry after a
timeout that hid the create finds or overwrites the one vendor, never a second.

Files (Oracle's documented way for REST: a File Cabinet file, then the record service's attach operation):
each file is uploaded to the File Cabinet folder PROCUREBOT_NETSUITE_FILE_FOLDER through the REST document
service (`POST /document/v1/file`: name, folder, externalId, content in base64; check the field names against
the account's `/document/v1/metadata-catalog`, which Oracle's page on File Cabinet records in REST points to),
with the external id `<requisition>-<first 20 hex of its SHA-256>`, then attached with
`POST /record/v1/purchaseOrder/<id>/!attach/file/<file id>` ("Attach and Detach Operations"; files and contacts
are what REST attaches). A retry finds a file already uploaded by its external id and only attaches it again,
which leaves one attachment. The document service takes files up to 10 MB; a bigger or refused file is reported
in `PoCreated.attachment_problems` while the PO stands. Without a folder configured, files are reported, not sent.

Budgets: Oracle's documentation does not confirm a SuiteQL table for budgets; we guess none.
When PROCUREBOT_NETSUITE_BUDGET_QUERY holds a SELECT the account's administrator wrote from its
Records Catalog, returning `cost_center` (our code), `budget` and optionally `spent`, its rows
are read through the same SuiteQL endpoint and summed per cost center. It runs with the
integration's credentials, so only a single SELECT is accepted, checked at start-up. Without
it, budgets come from our directory.

Auth is OAuth 2.0. In production, machine to machine (NetSuite's client credentials flow): we
sign a short-lived JWT with the private key whose certificate is mapped to the integration in
NetSuite (Setup > Integration > Manage Authentication > OAuth 2.0 Client Credentials (M2M)
Setup), post it to the token endpoint as the client assertion, and use the access token it
returns until shortly before it expires; a 401 on a call fetches a new one once and repeats
the call. A fixed bearer token (PROCUREBOT_NETSUITE_ACCESS_TOKEN) is still accepted for tests and
short trials.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Generator
from urllib.parse import quote

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

log = logging.getLogger(__name__)

WHAT = "NetSuite"
DOCUMENT_LIMIT = 10 * 1024 * 1024  # the REST document service's upload limit
PAGE = 1000  # rows per SuiteQL request: NetSuite's default page size (Collection Paging)
BUDGET_SETTING = "PROCUREBOT_NETSUITE_BUDGET_QUERY"
BUDGET_COLUMNS = ("cost_center", "budget")  # required result columns; "spent" is optional
# string literals and comments, blanked before the budget query is checked, so a ';' or a keyword inside
# them neither refuses a good query nor hides a bad one
_LITERALS_AND_COMMENTS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
# the query runs with the integration's role: refuse any word of a statement that writes (INTO too: SELECT ... INTO
# makes a table in some SQL dialects), whatever SuiteQL itself would allow
_NOT_READING = re.compile(
    r"\b(insert|into|update|delete|merge|upsert|drop|alter|create|truncate|grant|revoke|exec|execute|call|"
    r"commit|rollback)\b",
    re.I,
)
# purchase order status ids (https://.../purchaseOrder status field) -> ours
STATUS = {
    "A": "open",
    "B": "open",
    "C": "cancelled",
    "D": "partially_received",
    "E": "partially_received",
    "F": "received",
    "G": "closed",
    "H": "closed",
}
STATUS_NAMES = {
    "pending supervisor approval": "open",
    "pending receipt": "open",
    "rejected": "cancelled",
    "partially received": "partially_received",
    "pending billing/partially received": "partially_received",
    "pending bill": "received",
    "fully billed": "closed",
    "closed": "closed",
}


JWT_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")  # what NetSuite accepts
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials with a signed JWT assertion, as NetSuite documents it.

    The assertion: header {alg, typ: JWT, kid: the certificate id of the mapping}, payload {iss:
    the integration's client id, scope, aud: the token endpoint, iat, exp <= iat + 1 hour}. The
    token is fetched on the first call and again shortly before `expires_in` runs out, or once
    after a 401 (revoked early). Never logged; errors name what to check, not the key.
    """

    requires_response_body = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        certificate_id: str,
        private_key: Any,
        algorithm: str = "PS256",
        scopes: str = "rest_webservices",
        clock: Any = time.time,
    ) -> None:
        if algorithm not in JWT_ALGORITHMS:
            raise ValueError(f"PROCUREBOT_NETSUITE_JWT_ALGORITHM must be one of {', '.join(JWT_ALGORITHMS)}")
        self.token_url, self.client_id, self.certificate_id = token_url, client_id, certificate_id
        self.algorithm, self.scopes, self.clock = algorithm, scopes, clock
        self._key = _check_key(private_key, algorithm)
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def assertion(self) -> str:
        import jwt

        now = int(self.clock())
        payload = {
            "iss": self.client_id,
            "scope": self.scopes,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            payload, self._key, algorithm=self.algorithm, headers={"typ": "JWT", "kid": self.certificate_id}
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        for fresh in (False, True):
            token = self._valid_token(force=fresh)
            if token is None:
                response = yield self._token_request()
                token = self._store(response)
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
            if response.status_code != 401 or fresh:
                return

    def _valid_token(self, *, force: bool) -> str | None:
        with self._lock:
            if force:
                self._token = None
            if self._token and self.clock() < self._expires:
                return self._token
            return None

    def _token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        return httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})

    def _store(self, response: httpx.Response) -> str:
        if response.status_code >= 400:
            detail = _token_error(response)
            if response.status_code in (400, 401, 403):
                raise PermanentError(
                    f"{WHAT} refused our client credentials ({response.status_code}: {detail}). Check "
                    "PROCUREBOT_NETSUITE_CLIENT_ID, PROCUREBOT_NETSUITE_CERTIFICATE_ID and that the "
                    "certificate for the private key is mapped (and not revoked or expired) under "
                    "OAuth 2.0 Client Credentials (M2M) Setup.",
                    status=response.status_code,
                )
            raise classify_http(
                response.status_code,
                detail,
                what=f"{WHAT}'s token endpoint",
                retry_after=response.headers.get("Retry-After"),
            )
        data = read_json(response, f"{WHAT}'s token endpoint") or {}
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise TransientError(f"{WHAT}'s token endpoint answered without an access_token")
        try:
            lifetime = float(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        with self._lock:
            # renew a minute early (or at half-life for short tokens) so a call never carries a dying token
            self._token, self._expires = str(token), self.clock() + max(1.0, lifetime - 60, lifetime / 2)
            self.tokens_fetched += 1
        return str(token)


def _check_key(private_key: Any, algorithm: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    wanted = rsa.RSAPrivateKey if algorithm.startswith("PS") else ec.EllipticCurvePrivateKey
    if not isinstance(private_key, wanted):
        kind = "an RSA" if wanted is rsa.RSAPrivateKey else "an EC"
        raise ValueError(
            f"{algorithm} needs {kind} private key; set PROCUREBOT_NETSUITE_JWT_ALGORITHM to match the "
            "key whose certificate is mapped in NetSuite"
        )
    return private_key


def load_private_key(path: Path) -> Any:
    """The PEM private key (unencrypted PKCS#8 or traditional), with a clear error instead of a traceback."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ValueError(f"cannot read PROCUREBOT_NETSUITE_PRIVATE_KEY_FILE {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise ValueError(f"PROCUREBOT_NETSUITE_PRIVATE_KEY_FILE {path} is not an unencrypted PEM private key") from None


def _token_error(response: httpx.Response) -> str:
    try:
        data = response.json()
        return " ".join(str(data.get(k, "")) for k in ("error", "error_description")).strip() or "no details"
    except Exception:  # noqa: BLE001 - a non-JSON error page
        return response.text[:200]


class NetSuite:
    name = "netsuite"

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str | None = None,
        auth: httpx.Auth | None = None,
        subsidiary: str = "",
        generic_item: str = "",
        file_folder: str = "",
        budget_query: str = "",
        attachment_content: AttachmentContent | None = None,
        timeout: float = 15.0,
    ) -> None:
        if (access_token is None) == (auth is None):
            raise ValueError("NetSuite needs either client credentials (auth) or an access token, not both")
        self.budget_query = check_budget_query(budget_query) if budget_query.strip() else ""
        self.subsidiary = subsidiary
        self.generic_item = generic_item
        self.file_folder = file_folder
        self.attachment_content = attachment_content
        headers = {"User-Agent": "procurebot", "Accept": "application/json"}
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers, auth=auth)

    @classmethod
    def from_settings(cls, s: ErpSettings, *, attachment_content: AttachmentContent | None = None) -> "NetSuite":
        require(s, "netsuite", "netsuite_base_url")
        common = dict(
            attachment_content=attachment_content,
            base_url=s.netsuite_base_url,
            subsidiary=s.netsuite_subsidiary,
            generic_item=s.netsuite_generic_item,
            file_folder=s.netsuite_file_folder,
            budget_query=s.netsuite_budget_query,
            timeout=s.erp_timeout_seconds,
        )
        if s.netsuite_access_token is not None and not s.netsuite_client_id:
            return cls(access_token=s.netsuite_access_token.get_secret_value(), **common)  # type: ignore[arg-type]
        require(
            s,
            "netsuite (OAuth 2.0 client credentials)",
            "netsuite_client_id",
            "netsuite_certificate_id",
            "netsuite_private_key_file",
        )
        auth = ClientCredentials(
            token_url=s.netsuite_token_url or s.netsuite_base_url.rstrip("/") + "/auth/oauth2/v1/token",
            client_id=s.netsuite_client_id,
            certificate_id=s.netsuite_certificate_id,
            private_key=load_private_key(s.netsuite_private_key_file),  # type: ignore[arg-type]
            algorithm=s.netsuite_jwt_algorithm,
            scopes=s.netsuite_scopes,
        )
        return cls(auth=auth, **common)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ ErpConnector
    def create_po(self, order: PurchaseOrderRequest, progress: PoProgress | None = None) -> PoCreated:
        po = self._get(order.reference)
        created = po is None
        if po is None:
            self._request(
                "PUT",
                f"/record/v1/purchaseOrder/{_eid(order.reference)}",
                params={"replace": "item"},
                json=self._body(order),
            )
            po = self._get(order.reference)
            if po is None:
                raise TransientError(
                    f"{WHAT} accepted the purchase order for {order.reference} but does not show it yet"
                )
        problems = self._attach(str(po.get("id", "")), order) if order.attachments else ()
        return PoCreated(
            order.reference,
            str(po.get("id", "")),
            str(po.get("tranId") or ""),
            _status(po),
            created=created,
            attachment_problems=problems,
        )

    def get_po_status(self, reference: str, erp_id: str | None = None) -> PoStatus | None:
        po = self._get(reference)
        if po is None:
            return None
        status = _status(po)
        fraction = {"received": Decimal("1"), "closed": Decimal("1"), "partially_received": Decimal("0.5")}.get(
            status, Decimal("0")
        )
        return PoStatus(reference, str(po.get("id", "")), str(po.get("tranId") or ""), status, fraction)

    def create_supplier(self, request: NewSupplierRequest) -> ErpSupplier:
        """The vendor whose external id is the request number (lower-cased), read or upserted (module docstring)."""
        eid = request.reference.lower()
        vendor = self._get_record("vendor", eid)
        if vendor is None:
            body: dict[str, Any] = {
                "companyName": request.name.strip()[:83],
                "isPerson": False,
                "email": request.email,
                "currency": {"refName": request.currency.upper()},
            }
            if request.website:
                body["url"] = request.website
            if request.tax_id:
                body["taxIdNum"] = request.tax_id
            if self.subsidiary:
                body["subsidiary"] = {"id": self.subsidiary}
            self._request("PUT", f"/record/v1/vendor/{_eid(eid)}", json=body, subject="the new vendor")
            vendor = self._get_record("vendor", eid)
            if vendor is None:
                raise TransientError(f"{WHAT} accepted the vendor for {request.reference} but does not show it yet")
        return ErpSupplier(
            id=str(vendor.get("externalId") or eid).lower(),
            name=str(vendor.get("companyName") or vendor.get("entityId") or request.name),
            blocked=bool(vendor.get("isInactive")),
            currency=request.currency.upper(),
            erp_key=str(vendor.get("id", "")),
        )

    def list_suppliers(self) -> list[ErpSupplier]:
        rows = self._suiteql("SELECT id, entityid, companyname, externalid, isinactive FROM vendor")
        return [
            ErpSupplier(
                id=str(r.get("externalid") or r.get("entityid") or r["id"]).lower(),
                name=str(r.get("companyname") or r.get("entityid") or ""),
                blocked=str(r.get("isinactive", "F")).upper() == "T",
                block_reason=("inactive in NetSuite" if str(r.get("isinactive", "F")).upper() == "T" else None),
                erp_key=str(r["id"]),
            )
            for r in rows
        ]

    def list_items(self) -> list[ErpItem]:
        rows = self._suiteql("SELECT id, itemid, displayname, externalid, isinactive FROM item")
        return [
            ErpItem(
                sku=str(r.get("externalid") or r.get("itemid") or r["id"]),
                name=str(r.get("displayname") or r.get("itemid") or ""),
                blocked=str(r.get("isinactive", "F")).upper() == "T",
                erp_key=str(r["id"]),
            )
            for r in rows
        ]

    def list_budgets(self) -> list[ErpBudget]:
        """The configured budget query's rows summed per cost center, or none (the directory's) without one."""
        if not self.budget_query:
            return []
        rows = self._suiteql(self.budget_query, refused=f"{WHAT} refused {BUDGET_SETTING}")
        sums: dict[str, tuple[Decimal, Decimal]] = {}
        for n, raw in enumerate(rows, 1):
            row = {str(k).lower(): v for k, v in raw.items()}  # the contract's column names, in any case
            code = str(row.get("cost_center") or "").strip()
            budget, spent = _amount(row.get("budget")), _amount(row.get("spent") or 0)
            if not code or budget is None or spent is None:
                log.warning(
                    "%s budget row %d skipped: %s; %s must return cost_center, a numeric budget and optionally spent",
                    WHAT,
                    n,
                    "it has no cost_center"
                    if not code
                    else f"cost_center {code!r} has a non-numeric {'budget' if budget is None else 'spent'}",
                    BUDGET_SETTING,
                )
                continue
            had = sums.get(code, (Decimal(0), Decimal(0)))
            sums[code] = (had[0] + budget, had[1] + spent)
        return [ErpBudget(cost_center=code, budget=b, spent=a) for code, (b, a) in sorted(sums.items())]

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ requests
    def _body(self, order: PurchaseOrderRequest) -> dict[str, Any]:
        items = []
        for line in order.lines:
            code = line.sku or self.generic_item
            if not code:
                raise PermanentError(
                    f"line {line.line_no} has no SKU and PROCUREBOT_NETSUITE_GENERIC_ITEM names no item for such lines"
                )
            items.append(
                {
                    "item": {"externalId": code},
                    "description": line.description[:999],
                    "quantity": float(line.quantity),
                    "rate": float(line.unit_price),
                }
            )
        body: dict[str, Any] = {
            "entity": {"externalId": order.supplier},
            "memo": f"Requisition {order.reference}",
            "currency": {"refName": order.currency},
            "item": {"items": items},
        }
        if self.subsidiary:
            body["subsidiary"] = {"id": self.subsidiary}
        if order.need_by:
            body["dueDate"] = order.need_by.isoformat()
        return body

    def _get(self, reference: str) -> dict[str, Any] | None:
        return self._get_record("purchaseOrder", reference)

    def _get_record(self, kind: str, external_id: str, service: str = "record") -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/{service}/v1/{kind}/{_eid(external_id)}")
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise

    def _attach(self, po_id: str, order: PurchaseOrderRequest) -> tuple[str, ...]:
        """Upload each of the order's files to the File Cabinet (once, by external id) and attach it to the PO."""
        if not self.file_folder:
            return tuple(
                f"{a.filename}: PROCUREBOT_NETSUITE_FILE_FOLDER names no File Cabinet folder for purchase order files"
                for a in order.attachments
            )

        def send(a: PoAttachment, content: bytes) -> None:
            if len(content) > DOCUMENT_LIMIT:
                raise PermanentError(
                    f"{a.filename} is {len(content):,} bytes; {WHAT}'s REST document service takes files up to 10 MB"
                )
            eid = f"{order.reference}-{a.sha256[:20]}".lower()
            found = self._get_record("file", eid, service="document")
            if found is None:
                self._request(
                    "POST",
                    "/document/v1/file",
                    json={
                        "name": a.filename,
                        "folder": {"id": self.file_folder},
                        "externalId": eid,
                        "description": f"Requisition {order.reference}",
                        "content": base64.b64encode(content).decode(),
                    },
                    subject=f"the file {a.filename}",
                )
                found = self._get_record("file", eid, service="document")
                if found is None:
                    raise TransientError(f"{WHAT} accepted the file {a.filename} but does not show it yet")
            self._request(
                "POST",
                f"/record/v1/purchaseOrder/{po_id}/!attach/file/{found['id']}",
                json={},
                subject=f"attaching {a.filename}",
            )

        return send_files(order, self.attachment_content, lambda a: False, send)

    def _suiteql(self, query: str, *, refused: str = "") -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            data = (
                self._request(
                    "POST",
                    "/query/v1/suiteql",
                    params={"limit": PAGE, "offset": offset},
                    json={"q": query},
                    headers={"Prefer": "transient"},
                    refused=refused,
                )
                or {}
            )
            items = data.get("items") or []
            rows.extend(items)
            if not data.get("hasMore") or not items:  # an empty page claiming more would loop forever
                return rows
            offset += PAGE

    def _request(
        self, method: str, url: str, *, refused: str = "", subject: str = "the purchase order", **kw: Any
    ) -> Any:
        """One call; `refused` names what a 400 refused (default: the purchase order)."""
        response = guarded(lambda: self._http.request(method, url, **kw), WHAT)
        if response.status_code == 400 and refused:
            detail = " ".join(_error_text(response).split())[:300] or "no details given"
            raise PermanentError(
                f"{refused} (400): {detail}. Check its table and field names in the account's "
                "Records Catalog and that the integration's role may read them",
                status=400,
            )
        if response.status_code >= 400:
            raise classify_http(
                response.status_code,
                _error_text(response),
                what=WHAT,
                retry_after=response.headers.get("Retry-After"),
                subject=subject,
            )
        return read_json(response, WHAT)


def check_budget_query(query: str) -> str:
    """The budget query, stripped, if it is one SELECT naming cost_center and budget; else a ValueError saying why."""
    text = query.strip()
    skeleton = _LITERALS_AND_COMMENTS.sub(lambda m: "''" if m.group(0).startswith("'") else " ", text)
    if "'" in skeleton.replace("''", "") or "/*" in skeleton:
        raise ValueError(f"{BUDGET_SETTING} has a string or comment that is not closed")
    words = skeleton.split()
    if not words or words[0].lower() != "select":
        first = words[0][:20] if words else "nothing"
        raise ValueError(f"{BUDGET_SETTING} must be one SuiteQL SELECT statement; it starts with {first!r}")
    if ";" in skeleton:
        raise ValueError(
            f"{BUDGET_SETTING} must be a single SELECT statement: remove the ';' (it is run with the "
            "integration's credentials, so nothing may follow the SELECT)"
        )
    writing = _NOT_READING.search(skeleton)
    if writing:
        raise ValueError(
            f"{BUDGET_SETTING} may only read: it contains {writing.group(0).upper()}, and it is run with "
            "the integration's credentials"
        )
    missing = [c for c in BUDGET_COLUMNS if not re.search(rf"\b{c}\b", skeleton, re.I)]
    if missing:
        raise ValueError(
            f"{BUDGET_SETTING} must return columns named cost_center and budget (spent optional), e.g. "
            f"'SELECT ... AS cost_center, SUM(...) AS budget ...'; it does not name {', '.join(missing)}"
        )
    return text


def _amount(value: Any) -> Decimal | None:
    """A finite number from a SuiteQL cell (NetSuite may send numbers as strings), or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


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
            "title", ""
        )
    except Exception:  # noqa: BLE001 - a non-JSON error page
        return response.text[:200]
