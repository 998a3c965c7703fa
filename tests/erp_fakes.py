"""Small local HTTP servers that speak each ERP's documented protocol, for the connector tests.

Each fake keeps a real little ledger, checks the auth header the ERP checks, answers errors in
the ERP's documented error shape, and can be told to misbehave on coming requests:
    fake.faults += ["500", "429", "drop", "timeout_after_commit", "garbage", "huge"]
or on the next request whose "METHOD path" holds a fragment (the others pass untouched):
    fake.path_faults.append(("PATCH /companies(c1)/documentAttachments(", "500"))
A "4xx" fault (e.g. "400", "413") answers that status in the fake's documented error shape, as a refusal.
"drop" closes the connection before acting; "timeout_after_commit" acts, then holds the answer
until the client gives up (the server waits on an event, released when the fake stops).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from connectors.erp.base import PoAttachment, PurchaseOrderRequest

Reply = tuple[int, dict[str, str], Any]


class FakeServer:
    """A threading HTTP(S) server on 127.0.0.1 with a random port; subclasses implement `handle`."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.faults: list[str] = []
        self.path_faults: list[tuple[str, str]] = []  # ("METHOD path" fragment, fault): the first match gets it
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append((self.command, self.path, headers, body))
                    fault = next((f for f in fake.path_faults if f[0] in f"{self.command} {self.path}"), None)
                    if fault is not None:
                        fake.path_faults.remove(fault)
                        fault = fault[1]
                    elif fake.faults:
                        fault = fake.faults.pop(0)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault in ("500", "429") or (fault and fault.isdigit() and fault.startswith("4")):
                    self._send(
                        int(fault),
                        {"Retry-After": "0"} if fault == "429" else {},
                        fake.error_body(int(fault), "injected"),
                    )
                    return
                with fake._lock:
                    status, extra, payload = fake.handle(self.command, self.path, headers, body)
                if fault == "timeout_after_commit":
                    fake._release.wait(10)  # the work is done; the answer never comes in time
                    self.close_connection = True
                    return
                if fault == "garbage":
                    self._send(200, {"Content-Type": "text/html"}, b"<html>Service Unavailable - Zero size object")
                    return
                if fault == "huge":
                    self._send(200, {}, b'{"value": "' + b"x" * 2_100_000 + b'"}')
                    return
                self._send(status, extra, payload)

            def _send(self, status: int, extra: dict[str, str], payload: Any) -> None:
                if payload is None:
                    raw = b""
                elif isinstance(payload, bytes):
                    raw = payload
                else:
                    raw = json.dumps(payload).encode()
                self.send_response(status)
                if raw and "Content-Type" not in extra:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}


def _both_clocks() -> tuple[dt.datetime, dt.datetime]:
    """The earlier and the later of Python's wall clock and the system time. OpenSSL checks a certificate's
    validity against the system time, which `pytest --clock-ahead` does not move; the certificate must hold
    on both."""
    now = dt.datetime.now(dt.timezone.utc)
    try:
        from time_machine import escape_hatch
    except ImportError:
        return now, now
    if not escape_hatch.is_travelling():
        return now, now
    system = dt.datetime.fromtimestamp(escape_hatch.time.time(), dt.timezone.utc)
    return min(now, system), max(now, system)


def self_signed_cert(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files (msal speaks only https)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    earliest, latest = _both_clocks()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(earliest - dt.timedelta(days=1))
        .not_valid_after(latest + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


# ====================================================================== Microsoft Entra ID (token)


class FakeEntra(FakeServer):
    """OIDC discovery and the v2.0 token endpoint, client-credentials grant only."""

    def __init__(self, tls: tuple[str, str], *, tenant: str, client_id: str, secret: str) -> None:
        super().__init__(tls)
        self.tenant, self.client_id, self.secret = tenant, client_id, secret
        self.tokens_issued = 0

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        base = f"{self.url}/{self.tenant}"
        if method == "GET" and path.startswith(f"/{self.tenant}/v2.0/.well-known/openid-configuration"):
            return (
                200,
                {},
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                },
            )
        if method == "POST" and path == f"/{self.tenant}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
                return 400, {}, {"error": "invalid_request", "error_description": "AADSTS900144: bad grant"}
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.secret:
                return (
                    401,
                    {},
                    {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."},
                )
            self.tokens_issued += 1
            return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "access_token": "bc-token-1"}
        return 404, {}, {"error": "not_found"}


# ====================================================================== Business Central API v2.0


class FakeBusinessCentral(FakeServer):
    """companies({id})/purchaseOrders, purchaseOrderLines, vendors, items, documentAttachments; Bearer token; etags.

    Vendors: GET (with `$filter=email eq '...'`) and POST, which numbers a new vendor from a number series
    (V90001, ...) when the body gives none, as the vendor page does. documentAttachments: POST the metadata
    (fileName, parentType, parentId; a parentId that is no purchase order is refused), then PATCH the bytes to
    documentAttachments({id})/attachmentContent with If-Match; GET filtered by parentId and parentType. The bytes
    are kept in `attachments[id]["content"]`.

    Served at the root or under /api/v2.0. A custom API page is served when `budget_api`
    ("publisher/group/v1.0/entitySet") is given: GET /api/<publisher>/<group>/<version>/companies({id})/
    <entitySet> answers `budgets` two rows a page, with @odata.nextLink; an API page not published
    answers 404 as Business Central does.
    """

    def __init__(
        self,
        *,
        company: str,
        vendors: set[str],
        items: set[str],
        token: str = "bc-token-1",
        budget_api: str = "",
        budgets: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.company, self.vendors, self.items, self.token = company, vendors, items, token
        self.orders: dict[str, dict[str, Any]] = {}
        self.next_number = 106001
        self.added_vendors: dict[str, dict[str, Any]] = {}  # by number
        self.next_vendor = 90001
        self.attachments: dict[str, dict[str, Any]] = {}  # documentAttachments by id
        self.budget_api, self.budgets = budget_api, budgets or []

    def _custom_api(self, method: str, path: str, query: dict[str, str]) -> Reply:
        publisher, group, version, entity_set = (self.budget_api or "///").split("/")
        if method == "GET" and path == f"/api/{publisher}/{group}/{version}/companies({self.company})/{entity_set}":
            start = int(query.get("$skiptoken") or 0)
            page: dict[str, Any] = {"value": self.budgets[start : start + 2]}
            if start + 2 < len(self.budgets):
                page["@odata.nextLink"] = f"{self.url}{path}?$skiptoken={start + 2}"
            return 200, {}, page
        return 404, {}, self.error_body(404, "No HTTP resource was found that matches the request URI")

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": f"Fake_{status}", "message": message}}

    def _etag(self, po: dict[str, Any]) -> None:
        po["@odata.etag"] = f'W/"JzE5OzE{uuid.uuid4().hex[:10]}MDsn"'

    def _full(self, po: dict[str, Any], expand: bool) -> dict[str, Any]:
        out = {k: v for k, v in po.items() if k != "lines"}
        if expand:
            out["purchaseOrderLines"] = list(po["lines"])
        return out

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, self.error_body(401, "The credentials provided are incorrect")
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/api/") and not url.path.startswith("/api/v2.0/"):
            return self._custom_api(method, url.path, query)
        prefix = f"/companies({self.company})"
        api_path = url.path.removeprefix("/api/v2.0")
        if not api_path.startswith(prefix):
            return 404, {}, self.error_body(404, "BadRequest_NotFound: company")
        rest = api_path[len(prefix) :]
        if rest == "/documentAttachments" or rest.startswith("/documentAttachments("):
            return self._document_attachments(method, rest, query, headers, body)
        data = json.loads(body) if body else {}
        expand = query.get("$expand") == "purchaseOrderLines"
        if rest == "/purchaseOrders" and method == "GET":
            m = re.fullmatch(r"(\w+) eq '((?:[^']|'')*)'", query.get("$filter", ""))
            rows = list(self.orders.values())
            if m:
                rows = [po for po in rows if po.get(m.group(1)) == m.group(2).replace("''", "'")]
            return 200, {}, {"value": [self._full(po, expand) for po in rows]}
        if rest == "/purchaseOrders" and method == "POST":
            if data.get("vendorNumber") not in self.vendors | set(self.added_vendors):
                return (
                    400,
                    {},
                    self.error_body(
                        400,
                        f"The Vendor does not exist. Identification fields and values: "
                        f"No.='{data.get('vendorNumber')}'",
                    ),
                )
            po = {
                **data,
                "id": str(uuid.uuid4()),
                "number": str(self.next_number),
                "status": "Draft",
                "fullyReceived": False,
                "lines": [],
            }
            self.next_number += 1
            self._etag(po)
            self.orders[po["id"]] = po
            return 201, {}, self._full(po, False)
        m = re.fullmatch(r"/purchaseOrders\(([-0-9a-f]+)\)(/purchaseOrderLines)?", rest)
        if m:
            po = self.orders.get(m.group(1))
            if po is None:
                return 404, {}, self.error_body(404, "BadRequest_NotFound: The purchaseOrder does not exist.")
            if m.group(2) and method == "POST":
                if data.get("lineType") == "Item" and data.get("lineObjectNumber") not in self.items:
                    missing = data.get("lineObjectNumber")
                    return 400, {}, self.error_body(400, f"The Item does not exist. No.='{missing}'")
                line = {**data, "id": str(uuid.uuid4()), "documentId": po["id"], "receivedQuantity": 0}
                po["lines"].append(line)
                self._etag(po)
                return 201, {}, line
            if m.group(2):
                return 200, {}, {"value": list(po["lines"])}
            if method == "GET":
                return 200, {}, self._full(po, expand)
            if method == "PATCH":
                if "if-match" not in headers:
                    return 428, {}, self.error_body(428, "An If-Match header is required")
                if headers["if-match"] not in ("*", po["@odata.etag"]):
                    return 412, {}, self.error_body(412, "Another user has modified the record")
                po.update(data)
                self._etag(po)
                return 200, {}, self._full(po, False)
        if rest == "/vendors" and method == "POST":
            return self._create_vendor(data)
        if rest == "/vendors":
            m = re.fullmatch(r"email eq '((?:[^']|'')*)'", query.get("$filter", ""))
            if m:
                email = m.group(1).replace("''", "'")
                return 200, {}, {"value": [v for v in self.added_vendors.values() if v["email"] == email]}
            return (
                200,
                {},
                {
                    "value": [
                        {
                            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, v)),
                            "number": v,
                            "displayName": v.title(),
                            "blocked": " ",
                        }
                        for v in sorted(self.vendors)
                    ]
                    + list(self.added_vendors.values())
                },
            )
        if rest == "/items":
            return (
                200,
                {},
                {
                    "value": [
                        {
                            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, i)),
                            "number": i,
                            "displayName": i,
                            "baseUnitOfMeasureCode": "PCS",
                            "unitCost": 1.5,
                            "blocked": False,
                        }
                        for i in sorted(self.items)
                    ]
                },
            )
        return 404, {}, self.error_body(404, "BadRequest_MethodNotFound")

    def _create_vendor(self, data: dict[str, Any]) -> Reply:
        if not str(data.get("displayName") or "").strip():
            return 400, {}, self.error_body(400, "Name must have a value in Vendor: No.=. It cannot be zero or empty.")
        number = str(data.get("number") or f"V{self.next_vendor}")
        if number in self.vendors or number in self.added_vendors:
            return 400, {}, self.error_body(400, f"The record in table Vendor already exists. No.='{number}'")
        self.next_vendor += 1
        vendor = {
            "id": str(uuid.uuid4()),
            "number": number,
            "displayName": data["displayName"],
            "email": data.get("email") or "",
            "website": data.get("website") or "",
            "taxRegistrationNumber": data.get("taxRegistrationNumber") or "",
            "currencyCode": data.get("currencyCode") or "",
            "blocked": " ",
        }
        self.added_vendors[number] = vendor
        return 201, {}, vendor

    def _document_attachments(
        self, method: str, rest: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        def public(a: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in a.items() if k != "content"}

        if rest == "/documentAttachments" and method == "GET":
            m = re.fullmatch(r"parentId eq ([-0-9a-f]+) and parentType eq '([^']*)'", query.get("$filter", ""))
            rows = list(self.attachments.values())
            if m:
                rows = [a for a in rows if a["parentId"] == m.group(1) and a["parentType"] == m.group(2)]
            return 200, {}, {"value": [public(a) for a in rows]}
        if rest == "/documentAttachments" and method == "POST":
            data = json.loads(body or b"{}")
            if data.get("parentType") != "Purchase Order" or data.get("parentId") not in self.orders:
                return 400, {}, self.error_body(400, "The parent document does not exist.")
            if not data.get("fileName"):
                return 400, {}, self.error_body(400, "fileName must have a value.")
            attachment = {
                "id": str(uuid.uuid4()),
                "fileName": data["fileName"],
                "byteSize": 0,
                "parentType": data["parentType"],
                "parentId": data["parentId"],
                "lineNumber": 10000 * (len(self.attachments) + 1),
                "content": b"",
            }
            self.attachments[attachment["id"]] = attachment
            return 201, {}, public(attachment)
        m = re.fullmatch(r"/documentAttachments\(([-0-9a-f]+)\)/attachmentContent", rest)
        if m and method == "PATCH":
            attachment = self.attachments.get(m.group(1))
            if attachment is None:
                return 404, {}, self.error_body(404, "BadRequest_NotFound: The documentAttachment does not exist.")
            if "if-match" not in headers:
                return 428, {}, self.error_body(428, "An If-Match header is required")
            attachment["content"], attachment["byteSize"] = body, len(body)
            return 204, {}, None
        return 404, {}, self.error_body(404, "BadRequest_MethodNotFound")


# ====================================================================== Odoo JSON-2


class FakeOdoo(FakeServer):
    """POST /json/2/<model>/<method> with `Authorization: bearer <key>` and X-Odoo-Database.

    The Budget app is installed when `budget_lines` is given: `budget.line` rows as search_read returns
    them (`account_id` a [id, display name] pair or False, the budget's state and type under the field
    paths a domain names) and `account.analytic.account` rows by id. Without it, `budget.line` is an
    unknown model: 404 NotFound, as Odoo's JSON-2 controller answers.

    res.partner: `partners` (ref -> id) and those created (`create`, kept in `added_partners`), `write` of
    fields. ir.attachment: `create` with name, res_model, res_id (an existing record) and `datas` (base64, decoded;
    bad base64 is a 422 ValidationError), with `checksum` (SHA-1) and `file_size` computed as Odoo does;
    `search_read`. The bytes are kept in `attachments[id]["raw"]`.
    """

    def __init__(
        self,
        *,
        api_key: str,
        database: str,
        partners: dict[str, int],
        products: dict[str, int],
        budget_lines: list[dict[str, Any]] | None = None,
        analytic_accounts: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.api_key, self.database = api_key, database
        self.partners, self.products = partners, products
        self.orders: dict[int, dict[str, Any]] = {}
        self.added_partners: dict[int, dict[str, Any]] = {}
        self.attachments: dict[int, dict[str, Any]] = {}
        self.budget_lines, self.analytic_accounts = budget_lines, analytic_accounts or {}

    def error_body(self, status: int, message: str) -> Any:
        return {
            "name": "werkzeug.exceptions.InternalServerError" if status >= 500 else "odoo.exceptions.UserError",
            "message": message,
            "arguments": [message],
            "context": {},
            "debug": "Traceback (most recent call last): ... (never shown to people)",
        }

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if headers.get("authorization") != f"bearer {self.api_key}":
            return (
                401,
                {},
                {
                    "name": "werkzeug.exceptions.Unauthorized",
                    "message": "Invalid apikey",
                    "arguments": ["Invalid apikey", 401],
                    "context": {},
                    "debug": "Traceback ...",
                },
            )
        if headers.get("x-odoo-database") != self.database:
            return 404, {}, self.error_body(404, "database not found")
        m = re.fullmatch(r"/json/2/([\w.]+)/(\w+)", path)
        if method != "POST" or not m or not headers.get("content-type", "").startswith("application/json"):
            return 404, {}, self.error_body(404, "Not Found")
        model, meth = m.groups()
        args = json.loads(body or b"{}")
        if model == "purchase.order":
            if meth == "search_read":
                rows = [po for po in self.orders.values() if _match(po, args.get("domain", []))]
                return 200, {}, [_pick(po, args.get("fields")) for po in rows]
            if meth == "read":
                return (
                    200,
                    {},
                    [_pick(self.orders[i], args.get("fields")) for i in args.get("ids", []) if i in self.orders],
                )
            if meth == "create":
                ids = []
                for vals in args["vals_list"]:
                    if vals.get("partner_id") not in set(self.partners.values()) | set(self.added_partners):
                        return 422, {}, self.error_body(422, "Missing required field partner_id")
                    for _, _, line in vals.get("order_line", []):
                        if line.get("product_id") not in self.products.values():
                            missing = line.get("product_id")
                            return 422, {}, self.error_body(422, f"Record does not exist: product {missing}")
                    po_id = len(self.orders) + 1
                    self.orders[po_id] = {
                        **vals,
                        "id": po_id,
                        "name": f"P{po_id:05d}",
                        "state": "draft",
                        "receipt_status": False,
                    }
                    ids.append(po_id)
                return 200, {}, ids
            if meth == "button_confirm":
                for i in args["ids"]:
                    if self.orders[i]["state"] in ("draft", "sent"):
                        self.orders[i]["state"] = "purchase"
                        self.orders[i]["receipt_status"] = "pending"
                return 200, {}, True
        if model == "res.partner" and meth == "search_read":
            rows = [
                {"id": i, "name": ref.title(), "ref": ref, "active": True, "supplier_rank": 1, "email": False}
                for ref, i in self.partners.items()
            ] + list(self.added_partners.values())
            return 200, {}, [_pick(r, args.get("fields")) for r in rows if _match(r, args.get("domain", []))]
        if model == "res.partner" and meth == "create":
            ids = []
            for vals in args["vals_list"]:
                if not str(vals.get("name") or "").strip():
                    return 422, {}, self.error_body(422, "Contacts require a name")
                partner_id = 100 + len(self.added_partners) + 1
                self.added_partners[partner_id] = {"active": True, "supplier_rank": 0, "email": False, **vals}
                self.added_partners[partner_id]["id"] = partner_id
                ids.append(partner_id)
            return 200, {}, ids
        if model == "res.partner" and meth == "write":
            for i in args["ids"]:
                if i not in self.added_partners:
                    return (
                        422,
                        {},
                        self.error_body(422, f"Record does not exist or has been deleted. (res.partner({i},))"),
                    )
                self.added_partners[i].update(args["vals"])
            return 200, {}, True
        if model == "ir.attachment" and meth == "search_read":
            rows = [{k: v for k, v in a.items() if k != "raw"} for a in self.attachments.values()]
            return 200, {}, [_pick(r, args.get("fields")) for r in rows if _match(r, args.get("domain", []))]
        if model == "ir.attachment" and meth == "create":
            ids = []
            for vals in args["vals_list"]:
                if vals.get("res_model") != "purchase.order" or vals.get("res_id") not in self.orders:
                    return 422, {}, self.error_body(422, "Record does not exist or has been deleted.")
                try:
                    raw = base64.b64decode(vals.get("datas") or "", validate=True)
                except ValueError:
                    return 422, {}, self.error_body(422, "Incorrect padding: the file's data is not base64")
                attachment_id = len(self.attachments) + 1
                self.attachments[attachment_id] = {
                    "id": attachment_id,
                    "name": vals.get("name"),
                    "res_model": vals["res_model"],
                    "res_id": vals["res_id"],
                    "mimetype": vals.get("mimetype") or "application/octet-stream",
                    "file_size": len(raw),
                    "checksum": hashlib.sha1(raw).hexdigest(),
                    "raw": raw,
                }
                ids.append(attachment_id)
            return 200, {}, ids
        if model == "product.product" and meth == "search_read":
            rows = [
                {
                    "id": i,
                    "default_code": code,
                    "name": code,
                    "purchase_ok": True,
                    "categ_id": [1, "All"],
                    "uom_id": [1, "Units"],
                    "standard_price": 2.0,
                }
                for code, i in self.products.items()
            ]
            return 200, {}, [_pick(r, args.get("fields")) for r in rows if _match(r, args.get("domain", []))]
        if model == "budget.line" and meth == "search_read" and self.budget_lines is not None:
            rows = [r for r in self.budget_lines if _match(r, args.get("domain", []))]
            return 200, {}, [_pick(r, args.get("fields")) for r in rows]
        if model == "account.analytic.account" and meth == "search_read" and self.budget_lines is not None:
            rows = [{"id": i, **a} for i, a in self.analytic_accounts.items()]
            return 200, {}, [_pick(r, args.get("fields")) for r in rows if _match(r, args.get("domain", []))]
        if model not in ("purchase.order", "res.partner", "product.product", "ir.attachment"):
            return (
                404,
                {},
                {**self.error_body(404, f"the model {model!r} does not exist"), "name": "werkzeug.exceptions.NotFound"},
            )
        return 404, {}, self.error_body(404, f"no method {meth} on {model}")


def _match(row: dict[str, Any], domain: list[Any]) -> bool:
    for field, op, value in domain:
        have = row.get(field)
        ops = {
            "=": lambda: have == value,
            "!=": lambda: have != value,
            "in": lambda: have in (value or []),
            ">": lambda: (have or 0) > value,
            "<=": lambda: have is not None and have <= value,
            ">=": lambda: have is not None and have >= value,
        }
        ok = ops[op]()
        if not ok:
            return False
    return True


def _pick(row: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return {k: row.get(k) for k in fields} if fields else dict(row)


# ====================================================================== NetSuite REST


class FakeNetSuite(FakeServer):
    """record/v1/purchaseOrder with eid: upsert, and query/v1/suiteql (paged by limit/offset); Bearer token.

    SuiteQL knows the vendor and item queries and, when given, one budget query answered with
    `budget_rows`; any other query is refused with 400 as NetSuite refuses a table it does not have.

    record/v1/vendor/eid:<id>: GET and PUT (upsert; companyName required), kept in `added_vendors`.
    The REST document service: POST document/v1/file (name, folder: the one File Cabinet folder `folder`,
    externalId, content in base64; over 10 MB is refused), GET document/v1/file/eid:<id>; and
    POST record/v1/purchaseOrder/<id>/!attach/file/<file id>, which attaches a file once however often it is
    called. Uploaded bytes are in `files[external id]["raw"]`, a PO's attached file ids in its "files" list.
    """

    def __init__(
        self,
        *,
        token: str,
        vendors: set[str],
        items: set[str],
        client_id: str | None = None,
        certificate_id: str | None = None,
        public_key: Any = None,
        budget_query: str | None = None,
        budget_rows: list[dict[str, Any]] | None = None,
        folder: str = "",
    ) -> None:
        super().__init__()
        self.token, self.vendors, self.items = token, vendors, items
        self.budget_query, self.budget_rows = budget_query, budget_rows or []
        self.orders: dict[str, dict[str, Any]] = {}  # by external id
        self.added_vendors: dict[str, dict[str, Any]] = {}  # by external id
        self.folder = folder
        self.files: dict[str, dict[str, Any]] = {}  # File Cabinet files by external id
        # OAuth 2.0 client credentials (M2M): the integration's client id and the mapped certificate
        self.client_id, self.certificate_id, self.public_key = client_id, certificate_id, public_key
        self.issued: set[str] = set()
        self.clock: Any = time.time
        self.assertions: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (header, payload) as received

    def revoke(self) -> None:
        """Every access token issued so far stops working (an admin revoked them, or they expired early)."""
        self.issued.clear()

    def _token(self, body: bytes) -> Reply:
        """POST /auth/oauth2/v1/token: the client credentials grant with a JWT assertion, checked as NetSuite does."""
        import jwt

        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            or not form.get("client_assertion")
        ):
            return 400, {}, {"error": "invalid_request"}
        try:
            header = jwt.get_unverified_header(form["client_assertion"])
            if header.get("kid") != self.certificate_id or header.get("typ") != "JWT":
                return 400, {}, {"error": "invalid_client"}
            if header.get("alg") not in ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512"):
                return 400, {}, {"error": "invalid_request"}
            payload = jwt.decode(
                form["client_assertion"],
                self.public_key,
                algorithms=[header["alg"]],
                audience=f"{self.url}/auth/oauth2/v1/token",
                issuer=self.client_id,
                options={"require": ["exp", "iat", "iss", "aud"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return 400, {}, {"error": "invalid_client"}
        now = self.clock()  # times are checked on the fake's clock, so a test can move it
        if not (payload["iat"] - 60 <= now < payload["exp"]) or payload["exp"] - payload["iat"] > 3600:
            return 400, {}, {"error": "invalid_grant", "error_description": "assertion expired or not yet valid"}
        if "rest_webservices" not in str(payload.get("scope", "")).split(","):
            return 400, {}, {"error": "invalid_request"}
        self.assertions.append((header, payload))
        token = f"ns-m2m-{len(self.assertions)}"
        self.issued.add(token)
        return 200, {}, {"access_token": token, "expires_in": "3600", "token_type": "bearer"}

    def error_body(self, status: int, message: str) -> Any:
        return {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15",
            "title": "Error",
            "status": status,
            "o:errorDetails": [
                {"detail": message, "o:errorCode": "INVALID_CONTENT" if status < 500 else "UNEXPECTED_ERROR"}
            ],
        }

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if method == "POST" and path == "/auth/oauth2/v1/token" and self.client_id:
            return self._token(body)
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if bearer != self.token and bearer not in self.issued:
            return (
                401,
                {},
                {
                    "type": "...",
                    "title": "Unauthorized",
                    "status": 401,
                    "o:errorDetails": [
                        {
                            "detail": "Invalid login attempt. For more details, see the Login "
                            "Audit Trail in the NetSuite UI",
                            "o:errorCode": "INVALID_LOGIN",
                        }
                    ],
                },
            )
        url = urlsplit(path)
        m = re.fullmatch(r"/record/v1/purchaseOrder/eid:(.+)", url.path)
        if m:
            eid = unquote(m.group(1))
            if method == "GET":
                po = self.orders.get(eid)
                if po is None:
                    return (
                        404,
                        {},
                        self.error_body(
                            404, f"The record instance does not exist. Provide a valid record instance ID (eid:{eid})."
                        ),
                    )
                return 200, {}, po
            if method == "PUT":
                data = json.loads(body)
                vendor = data.get("entity", {}).get("externalId")
                if vendor not in self.vendors | set(self.added_vendors):
                    return (
                        400,
                        {},
                        self.error_body(
                            400, f"Error while accessing a resource. Invalid reference '{vendor}' for field entity."
                        ),
                    )
                for line in data["item"]["items"]:
                    if line["item"]["externalId"] not in self.items:
                        missing = line["item"]["externalId"]
                        return 400, {}, self.error_body(400, f"Invalid reference '{missing}' for item.")
                existing = self.orders.get(eid)
                internal = existing["id"] if existing else str(1000 + len(self.orders))
                self.orders[eid] = {
                    **data,
                    "id": internal,
                    "externalId": eid,
                    "tranId": f"PO{internal}",
                    "status": {"id": "B", "refName": "Pending Receipt"},
                }
                return 204, {"Location": f"{self.url}/record/v1/purchaseOrder/{internal}"}, None
        m = re.fullmatch(r"/record/v1/vendor/eid:(.+)", url.path)
        if m:
            return self._vendor(method, unquote(m.group(1)), body)
        if url.path.startswith("/document/v1/file") or "/!attach/" in url.path:
            return self._file_cabinet(method, url.path, body)
        if url.path == "/query/v1/suiteql" and method == "POST":
            if headers.get("prefer") != "transient":
                return 400, {}, self.error_body(400, "Prefer: transient header is required")
            return self._suiteql(parse_qs(url.query), json.loads(body)["q"])
        return 404, {}, self.error_body(404, "Invalid URL")

    def _vendor(self, method: str, eid: str, body: bytes) -> Reply:
        if method == "GET":
            vendor = self.added_vendors.get(eid)
            if vendor is None:
                return 404, {}, self.error_body(404, f"The record instance does not exist (eid:{eid}).")
            return 200, {}, vendor
        if method == "PUT":
            data = json.loads(body)
            if not str(data.get("companyName") or "").strip():
                return 400, {}, self.error_body(400, "Please enter value(s) for: Company Name")
            existing = self.added_vendors.get(eid)
            internal = existing["id"] if existing else str(2000 + len(self.added_vendors))
            self.added_vendors[eid] = {**data, "id": internal, "externalId": eid, "entityId": f"V{internal}"}
            return 204, {"Location": f"{self.url}/record/v1/vendor/{internal}"}, None
        return 405, {}, self.error_body(405, "Method not allowed")

    def _file_cabinet(self, method: str, path: str, body: bytes) -> Reply:
        m = re.fullmatch(r"/document/v1/file/eid:(.+)", path)
        if m and method == "GET":
            found = self.files.get(unquote(m.group(1)))
            if found is None:
                return 404, {}, self.error_body(404, "The record instance does not exist.")
            return 200, {}, {k: v for k, v in found.items() if k != "raw"}
        if path == "/document/v1/file" and method == "POST":
            data = json.loads(body)
            if (data.get("folder") or {}).get("id") != self.folder:
                return 400, {}, self.error_body(400, "Invalid reference for field folder.")
            if not data.get("name"):
                return 400, {}, self.error_body(400, "Please enter value(s) for: Name")
            raw = base64.b64decode(data.get("content") or "")
            if len(raw) > 10 * 1024 * 1024:
                return 400, {}, self.error_body(400, "The file exceeds the 10 MB upload limit.")
            internal = str(3000 + len(self.files))
            eid = data.get("externalId") or internal
            self.files[eid] = {
                "id": internal,
                "name": data["name"],
                "externalId": eid,
                "folder": {"id": self.folder},
                "fileSize": len(raw),
                "raw": raw,
            }
            return 204, {"Location": f"{self.url}/document/v1/file/{internal}"}, None
        m = re.fullmatch(r"/record/v1/purchaseOrder/(\d+)/!attach/file/(\d+)", path)
        if m and method == "POST":
            po = next((p for p in self.orders.values() if p["id"] == m.group(1)), None)
            if po is None or not any(f["id"] == m.group(2) for f in self.files.values()):
                return 400, {}, self.error_body(400, "That record does not exist.")
            if m.group(2) not in po.setdefault("files", []):
                po["files"].append(m.group(2))
            return 204, {}, None
        return 404, {}, self.error_body(404, "Invalid URL")

    def attached(self, reference: str) -> dict[str, bytes]:
        """The files attached to the PO for `reference`: name -> bytes."""
        ids = set(self.orders[reference].get("files", []))
        return {f["name"]: f["raw"] for f in self.files.values() if f["id"] in ids}

    def _suiteql(self, query: dict[str, list[str]], q: str) -> Reply:
        """One page of a query's rows: `limit` (1-1000, default 1000) from `offset`, and whether more follow."""
        try:
            limit, offset = int(query.get("limit", ["1000"])[0]), int(query.get("offset", ["0"])[0])
        except ValueError:
            return 400, {}, self.error_body(400, "Invalid value for the query parameter limit or offset.")
        if not (1 <= limit <= 1000 and offset >= 0):
            return 400, {}, self.error_body(400, "Invalid value for the query parameter limit or offset.")
        if self.budget_query is not None and q == self.budget_query:
            rows = self.budget_rows
        elif "FROM vendor" in q:
            rows = [
                {"id": str(i), "entityid": v, "companyname": v.title(), "externalid": v, "isinactive": "F"}
                for i, v in enumerate(sorted(self.vendors))
            ] + [
                {
                    "id": v["id"],
                    "entityid": v["entityId"],
                    "companyname": v["companyName"],
                    "externalid": eid,
                    "isinactive": "F",
                }
                for eid, v in self.added_vendors.items()
            ]
        elif "FROM item" in q:
            rows = [
                {"id": str(i), "itemid": s, "displayname": s, "externalid": s, "isinactive": "F"}
                for i, s in enumerate(sorted(self.items))
            ]
        else:
            return (
                400,
                {},
                self.error_body(
                    400,
                    "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
                    "Record 'budget' was not found.",
                ),
            )
        page = [{"links": [], **row} for row in rows[offset : offset + limit]]
        return (
            200,
            {},
            {
                "links": [],
                "count": len(page),
                "hasMore": offset + limit < len(rows),
                "items": page,
                "offset": offset,
                "totalResults": len(rows),
            },
        )


# ====================================================================== signed webhook receiver


class FakeWebhookReceiver(FakeServer):
    """An integration platform's endpoint: checks the signature, one PO per Idempotency-Key."""

    def __init__(
        self, *, secret: str, vendors: set[str], master: dict[str, list[dict[str, Any]]] | None = None
    ) -> None:
        super().__init__()
        self.secret, self.vendors = secret, vendors
        self.orders: dict[str, dict[str, Any]] = {}
        self.suppliers: dict[str, dict[str, Any]] = {}  # by supplier-request number
        # master_data.<kind> answers: {"suppliers": [...], "items": [...], "budgets": [...]}; suppliers
        # default to the vendors by name, a kind not given is "not offered" (501)
        self.master = master or {}

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        from connectors.erp.webhook import verify_signature

        if not verify_signature(
            self.secret, headers.get("x-procurebot-timestamp", ""), body, headers.get("x-procurebot-signature", "")
        ):
            return 401, {}, {"error": "signature does not match"}
        data = json.loads(body)
        if data.get("schema") != "procurebot.erp.v1":
            return 400, {}, {"error": "unknown schema"}
        if data["event"] == "purchase_order.create":
            order = data["order"]
            if headers.get("idempotency-key") != order["reference"]:
                return 400, {}, {"error": "Idempotency-Key must be the requisition number"}
            if order["supplier"] not in self.vendors:
                return 422, {}, {"error": f"unknown vendor {order['supplier']}"}
            if order["reference"] in self.orders:
                return 200, {}, {**self.orders[order["reference"]], "created": False}
            n = len(self.orders) + 1
            self.orders[order["reference"]] = {"erp_id": str(n), "po_number": f"WH-{n:04d}", "status": "open"}
            return 201, {}, {**self.orders[order["reference"]], "created": True}
        if data["event"] == "supplier.create":
            supplier = data["supplier"]
            if headers.get("idempotency-key") != supplier["reference"]:
                return 400, {}, {"error": "Idempotency-Key must be the supplier-request number"}
            if not str(supplier.get("name") or "").strip():
                return 422, {}, {"error": "a vendor needs a name"}
            if supplier["reference"] in self.suppliers:
                return 200, {}, {**self.suppliers[supplier["reference"]], "created": False}
            n = len(self.suppliers) + 1
            self.suppliers[supplier["reference"]] = {
                "erp_id": f"vendor-{n}",
                "vendor_number": f"WV-{n:04d}",
                "name": supplier["name"],
                "currency": supplier.get("currency") or "USD",
            }
            return 201, {}, {**self.suppliers[supplier["reference"]], "created": True}
        if data["event"] == "purchase_order.status":
            po = self.orders.get(data["reference"])
            return (200, {}, po) if po else (404, {}, {"error": "no such purchase order"})
        kind = data["event"].removeprefix("master_data.")
        if kind in self.master:
            return 200, {}, {kind: self.master[kind]}
        if kind == "suppliers":
            return 200, {}, {"suppliers": [{"id": v, "name": v.title()} for v in sorted(self.vendors)]}
        return 501, {}, {"error": "not offered"}


# ====================================================================== a PO's files and the store that serves them
# Two files a requisition carries (a PDF quote and a PNG spec) and an attachment store that serves their bytes, for
# the connector tests that send POs with their files.

QUOTE = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n% Uline quote Q-88213: 40 rolls stretch wrap\n%%EOF\n"
SPEC = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00spec"


def _file(attachment_id: int, name: str, content_type: str, data: bytes, number: str) -> PoAttachment:
    return PoAttachment(
        attachment_id=attachment_id,
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        download=f"/api/v1/requisitions/{number}/attachments/{attachment_id}",
    )


def with_files(order: PurchaseOrderRequest) -> PurchaseOrderRequest:
    return replace(
        order,
        attachments=(
            _file(1, "Uline quote.pdf", "application/pdf", QUOTE, order.reference),
            _file(2, "Pallet spec.png", "image/png", SPEC, order.reference),
        ),
    )


class Store:
    """The attachment store as the dispatcher's reader sees it: bytes by attachment id; `gone` ids are missing."""

    def __init__(self, *gone: int) -> None:
        self.data = {1: QUOTE, 2: SPEC}
        self.gone = set(gone)
        self.reads: list[int] = []

    def __call__(self, attachment: PoAttachment) -> bytes:
        self.reads.append(attachment.attachment_id)
        if attachment.attachment_id in self.gone:
            raise LookupError(f"the attachment store (database) no longer has {attachment.filename} as it was attached")
        return self.data[attachment.attachment_id]
