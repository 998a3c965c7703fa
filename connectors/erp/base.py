"""The one interface every ERP connector implements, the data it speaks, and its typed errors.

The outbox owns retries (exactly one layer does), so a connector never retries on its own: it makes
one attempt and says, by the error it raises, whether trying again can help.

Exactly once is the connector's half of the bargain: `create_po` is keyed by our requisition
number (`PurchaseOrderRequest.reference`). Called twice with the same reference - because a
timeout hid a success, a dispatcher died mid-call, or a buyer pressed retry - it must end with
one purchase order in the ERP and return it both times. `create_supplier` keeps the same promise for a
vendor, keyed by our supplier-request number (`NewSupplierRequest.reference`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Protocol, runtime_checkable

# Statuses we show people, whatever the ERP calls them.
PO_STATUSES = ("open", "partially_received", "received", "closed", "cancelled")
# An ERP answer bigger than this is not a purchase order; refusing it keeps a broken or hostile
# endpoint from filling memory.
MAX_RESPONSE_BYTES = 2_000_000


class ErpError(Exception):
    """Base class. `reason` is one sentence a buyer can act on; it never holds a secret."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class PermanentError(ErpError):
    """Trying again will not help (4xx validation, unknown supplier or item, wrong credentials)."""


class TransientError(ErpError):
    """Trying again later may help (5xx, timeout, 429, dropped connection).

    `retry_after` is the ERP's own hint in seconds (Retry-After on a 429), when it gave one.
    """

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PoLine:
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit: str = "each"
    sku: str | None = None

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class PoAttachment:
    """A file the requisition carries, sent with its PO: what it is, its SHA-256, and where procurebot serves it
    (`download`: a path on procurebot's API, read with an API token that may see the requisition)."""

    attachment_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    download: str


@dataclass(frozen=True)
class PurchaseOrderRequest:
    """What the ERP is asked to create: a snapshot of the approved requisition."""

    reference: str  # our requisition number, PR-1042: the idempotency anchor
    supplier: str  # our supplier id; connectors map it to the ERP's vendor key
    currency: str
    site: str
    cost_center: str
    requester: str
    lines: tuple[PoLine, ...]
    need_by: date | None = None
    notes: str = ""
    # the requisition's files (quotes, specs, photos) as they are when the PO is sent
    attachments: tuple[PoAttachment, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0"))

    def to_payload(self) -> dict[str, Any]:
        """JSON-safe form, as stored in the outbox job."""
        data = asdict(self)
        data["need_by"] = self.need_by.isoformat() if self.need_by else None
        data["lines"] = [
            {**asdict(line), "quantity": str(line.quantity), "unit_price": str(line.unit_price)} for line in self.lines
        ]
        data["attachments"] = [asdict(a) for a in self.attachments]
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> "PurchaseOrderRequest":
        lines = tuple(
            PoLine(
                line_no=int(x["line_no"]),
                description=str(x["description"]),
                quantity=Decimal(str(x["quantity"])),
                unit_price=Decimal(str(x["unit_price"])),
                unit=str(x.get("unit") or "each"),
                sku=x.get("sku"),
            )
            for x in data["lines"]
        )
        need_by = date.fromisoformat(data["need_by"]) if data.get("need_by") else None
        return cls(
            reference=data["reference"],
            supplier=data["supplier"],
            currency=data["currency"],
            site=data["site"],
            cost_center=data["cost_center"],
            requester=data["requester"],
            lines=lines,
            need_by=need_by,
            notes=data.get("notes") or "",
            attachments=tuple(
                PoAttachment(
                    attachment_id=int(a["attachment_id"]),
                    filename=str(a["filename"]),
                    content_type=str(a["content_type"]),
                    size=int(a["size"]),
                    sha256=str(a["sha256"]),
                    download=str(a["download"]),
                )
                for a in data.get("attachments") or ()
            ),
        )


@dataclass(frozen=True)
class NewSupplierRequest:
    """A supplier procurement approved adding: created in the ERP once, keyed by our request number."""

    reference: str  # our supplier-request number, e.g. "SUP-7": the idempotency anchor
    name: str
    email: str
    website: str | None = None
    currency: str = "USD"
    tax_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        """JSON-safe form, as stored in the outbox job."""
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> "NewSupplierRequest":
        return cls(
            reference=str(data["reference"]),
            name=str(data["name"]),
            email=str(data["email"]),
            website=str(data["website"]) if data.get("website") else None,
            currency=str(data.get("currency") or "USD"),
            tax_id=str(data["tax_id"]) if data.get("tax_id") else None,
        )


@dataclass(frozen=True)
class PoCreated:
    """The ERP's purchase order for one requisition. `created` is False when it already existed.

    `attachment_problems`: one sentence per file the ERP refused or we could not read (the PO stands without it;
    the dispatcher logs each). A file that failed only for now (5xx, 429, timeout) is not here: the call raised
    TransientError instead, and the retry finds the PO and attaches only the files it does not hold yet.
    """

    reference: str
    erp_id: str  # the ERP's own key (a GUID, an internal id)
    number: str  # the PO number people see
    status: str = "open"
    created: bool = True
    attachment_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoStatus:
    reference: str
    erp_id: str
    number: str
    status: str  # one of PO_STATUSES
    received_fraction: Decimal = Decimal("0")


@dataclass(frozen=True)
class ErpSupplier:
    id: str  # our supplier id (the ERP's vendor number, lower-cased, unless mapped)
    name: str
    blocked: bool = False
    block_reason: str | None = None
    risk_tier: str | None = None
    contracted: bool | None = None
    currency: str | None = None
    erp_key: str = ""


@dataclass(frozen=True)
class ErpItem:
    sku: str
    name: str
    category: str | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    blocked: bool = False
    erp_key: str = ""


@dataclass(frozen=True)
class ErpBudget:
    cost_center: str
    budget: Decimal
    spent: Decimal  # actuals the ERP has booked (invoiced)
    period: str = ""


class AttachmentContent(Protocol):
    """Reads the bytes of a file a purchase order carries, from procurebot's attachment store.

    Whoever dispatches the job gives it to the connector (`build_connector(..., attachment_content=...)`);
    connectors whose ERP takes the file itself (Business Central, Odoo, NetSuite) call it once per file they
    still have to send. Raises LookupError when the store no longer has the bytes, or they do not match the
    attachment's SHA-256.
    """

    def __call__(self, attachment: PoAttachment) -> bytes: ...


class PoProgress(Protocol):
    """Where a connector keeps the ERP's id of a PO it is still filling in (the outbox job).

    `save` commits before it returns, so a connector that creates a header and then adds lines
    stores the header's id first: a crash or timeout after that resumes the same PO.
    """

    erp_id: str | None

    def save(self, erp_id: str) -> None: ...


@runtime_checkable
class ErpConnector(Protocol):
    """One ERP. Every method makes one attempt and raises PermanentError or TransientError."""

    name: str

    def create_po(self, order: PurchaseOrderRequest, progress: PoProgress | None = None) -> PoCreated:
        """Create the PO for `order.reference`, or return the one that already exists for it."""

    def get_po_status(self, reference: str, erp_id: str | None = None) -> PoStatus | None:
        """The PO's status now, found by its ERP id when known, else by our reference; None if none."""

    def create_supplier(self, request: NewSupplierRequest) -> ErpSupplier:
        """Create the vendor for `request.reference`, or return the one that already exists for it.

        Exactly once, as create_po: called twice with the same reference it ends with one vendor and returns it
        both times. The returned `id` is our supplier id: the ERP's vendor number lower-cased, as list_suppliers
        gives it; `erp_key` is the ERP's own key.
        """

    def list_suppliers(self) -> list[ErpSupplier]: ...

    def list_items(self) -> list[ErpItem]: ...

    def list_budgets(self) -> list[ErpBudget]: ...

    def close(self) -> None: ...


# ----------------------------------------------------------------- HTTP helpers shared by connectors


def send_files(
    order: PurchaseOrderRequest,
    content: AttachmentContent | None,
    held: Callable[[PoAttachment], bool],
    send: Callable[[PoAttachment, bytes], None],
) -> tuple[str, ...]:
    """Send each of the order's files the PO does not hold yet (`held`), exactly once across retries.

    Returns one sentence per file left out: the store no longer has it, or the ERP refused it for good
    (PermanentError). A TransientError goes up, so the outbox retries the whole call: the retry finds the PO,
    and `held` skips the files already there.
    """
    problems: list[str] = []
    for attachment in order.attachments:
        if held(attachment):
            continue
        if content is None:
            problems.append(f"{attachment.filename}: this dispatcher was given no attachment store to read it from")
            continue
        try:
            data = content(attachment)
        except LookupError as exc:
            problems.append(f"{attachment.filename}: {exc}")
            continue
        try:
            send(attachment, data)
        except PermanentError as exc:
            problems.append(f"{attachment.filename}: {exc.reason}")
    return tuple(problems)


def classify_http(
    status: int,
    detail: str,
    *,
    retry_after: str | None = None,
    what: str = "the ERP",
    subject: str = "the purchase order",
) -> ErpError:
    """The typed error for an HTTP failure: 429 and 5xx are transient, other 4xx permanent. `subject`: what a
    refusal refused (the purchase order, the vendor, the file)."""
    detail = " ".join(detail.split())[:300] or "no details given"
    if status == 429:
        return TransientError(
            f"{what} is rate limiting us (429): {detail}", status=status, retry_after=_seconds(retry_after)
        )
    if status in (408, 425) or status >= 500:
        return TransientError(
            f"{what} failed with {status}: {detail}", status=status, retry_after=_seconds(retry_after)
        )
    if status in (401, 403):
        return PermanentError(
            f"{what} refused our credentials ({status}): {detail}. Check the connector's client id, secret or API key.",
            status=status,
        )
    if status == 404:
        return PermanentError(f"{what} does not know something we referred to (404): {detail}", status=status)
    return PermanentError(f"{what} refused {subject} ({status}): {detail}", status=status)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: our own backoff is good enough


def read_json(response: Any, what: str = "the ERP") -> Any:
    """The JSON body of an httpx response, refusing huge or unparseable answers as transient garbage."""
    body = response.content
    if len(body) > MAX_RESPONSE_BYTES:
        raise TransientError(
            f"{what} sent an answer of {len(body):,} bytes, far more than a purchase order; "
            "ask its administrator what is in front of the API"
        )
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        snippet = body[:80].decode("utf-8", "replace")
        raise TransientError(
            f"{what} answered something that is not JSON ({snippet!r}...); it may be a proxy or maintenance page"
        ) from None


def transport_error(exc: Exception, what: str = "the ERP") -> TransientError:
    """A timeout or a dropped connection: the ERP may or may not have acted, so try again (idempotently)."""
    kind = type(exc).__name__
    return TransientError(
        f"no answer from {what} ({kind}); it may have acted, so the retry looks "
        "for the purchase order before creating one"
    )


def guarded(call: Callable[[], Any], what: str) -> Any:
    """Run one httpx call, turning transport failures into TransientError."""
    import httpx

    try:
        return call()
    except httpx.TransportError as exc:
        raise transport_error(exc, what) from exc
