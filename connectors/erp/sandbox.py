"""The embedded ERP: a small real purchase-order ledger in its own tables, the default connector.

It numbers POs (PO-000001, ...), keeps one PO per requisition number (a unique key, so two
dispatchers racing on one requisition still make one PO), moves POs through their statuses on
command, and can inject latency and failures so demos and tests can watch the outbox cope:

    PROCUREBOT_ERP_SANDBOX_LATENCY_MS=10
    PROCUREBOT_ERP_SANDBOX_FAULTS="500:0.05,429:0.05,timeout_after_commit:0.05,drop:0.05"

Its vendor and item master is the company directory, so "supplier not in the ERP" behaves as
it would in a real one, plus the vendors procurement added through it (`create_supplier`): those
live in its own vendor table, numbered V00001, ..., one per supplier-request number.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Engine, Index
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from approvals.clock import utcnow
from approvals.columns import timestamp_field
from approvals.db import transaction
from approvals.directory import Directory
from approvals.models import Money
from connectors.erp.base import (
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
)

# status -> statuses it may move to
MOVES: dict[str, tuple[str, ...]] = {
    "open": ("partially_received", "received", "cancelled"),
    "partially_received": ("received",),
    "received": ("closed",),
    "closed": (),
    "cancelled": (),
}
FAULT_KINDS = ("500", "429", "timeout_after_commit", "drop")
# a dropped connection loses the request half the time and the answer the other half


class SandboxPurchaseOrder(SQLModel, table=True):
    """A purchase order in the sandbox ERP's own ledger (not our requisition tables)."""

    __tablename__ = "erp_sandbox_po"
    __table_args__ = (Index("ix_erp_sandbox_po_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=20, unique=True)
    reference: str = Field(max_length=40, unique=True)  # the requisition number: one PO per requisition
    supplier: str = Field(max_length=80)
    currency: str = Field(max_length=3)
    site: str = Field(max_length=20)
    cost_center: str = Field(max_length=40)
    total: Decimal = Field(sa_type=Money)
    received: Decimal = Field(default=Decimal("0"), sa_type=Money)
    status: str = Field(default="open", max_length=20)
    need_by: date | None = None
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = timestamp_field(default_factory=utcnow)
    updated_at: datetime = timestamp_field(default_factory=utcnow)


class SandboxPoAttachment(SQLModel, table=True):
    """A file that came with a purchase order, as the sandbox ERP files it: its name, type, size and SHA-256, and
    where procurebot serves it (the ERP keeps the reference, as document attachments by URL do)."""

    __tablename__ = "erp_sandbox_po_attachment"

    id: int | None = Field(default=None, primary_key=True)
    po_id: int = Field(foreign_key="erp_sandbox_po.id", index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=120)
    size: int
    sha256: str = Field(max_length=64)
    source: str = Field(max_length=300)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class SandboxVendor(SQLModel, table=True):
    """A vendor procurement added through the sandbox ERP (the directory's suppliers are its others)."""

    __tablename__ = "erp_sandbox_vendor"

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=20, unique=True)
    reference: str = Field(max_length=40, unique=True)  # the supplier-request number: one vendor per request
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    website: str | None = Field(default=None, max_length=300)
    currency: str = Field(max_length=3)
    tax_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = timestamp_field(default_factory=utcnow)


@dataclass
class SandboxFaults:
    """Failure injection. Each probability is per create_po (or create_supplier) call; `seed` makes a run repeatable."""

    latency_ms: float = 0.0
    rates: dict[str, float] = field(default_factory=dict)
    seed: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown sandbox fault(s) {sorted(unknown)}; use {', '.join(FAULT_KINDS)}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str, latency_ms: float = 0.0, seed: int | None = None) -> "SandboxFaults":
        """'500:0.05,429:0.05,timeout_after_commit:0.02,drop:0.02' -> SandboxFaults."""
        rates: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, _, p = part.partition(":")
            try:
                rates[kind.strip()] = float(p)
            except ValueError:
                raise ValueError(f"sandbox fault {part!r} must look like kind:probability, e.g. 500:0.05") from None
        return cls(latency_ms=latency_ms, rates=rates, seed=seed)

    def draw(self) -> str | None:
        with self._lock:
            roll = self._rng.random()
        for kind in FAULT_KINDS:
            p = self.rates.get(kind, 0.0)
            if roll < p:
                return "drop_before" if kind == "drop" and roll < p / 2 else kind
            roll -= p
        return None


class SandboxErp:
    """The embedded ERP connector (see module docstring)."""

    name = "sandbox"

    def __init__(self, engine: Engine, directory: Directory, *, faults: SandboxFaults | None = None) -> None:
        self.engine = engine
        self.directory = directory
        self.faults = faults or SandboxFaults()

    # ------------------------------------------------------------------ ErpConnector
    def create_po(self, order: PurchaseOrderRequest, progress: PoProgress | None = None) -> PoCreated:
        fault = self._fault_before()
        self._validate(order)
        result = self._insert(order)
        self._fault_after(fault)  # the PO exists now; the caller may just never hear so
        return result

    def create_supplier(self, request: NewSupplierRequest) -> ErpSupplier:
        """The vendor for `request.reference`, created once in the sandbox's vendor table (V00001, ...)."""
        fault = self._fault_before()
        if not request.name.strip():
            raise PermanentError("the sandbox ERP needs the new vendor's name", status=422)
        if len(request.currency) != 3:
            raise PermanentError(
                f"the sandbox ERP needs a three-letter currency code, not {request.currency!r}", status=422
            )
        result = self._insert_vendor(request)
        self._fault_after(fault)
        return result

    def get_po_status(self, reference: str, erp_id: str | None = None) -> PoStatus | None:
        with Session(self.engine) as session:
            po = session.exec(select(SandboxPurchaseOrder).where(SandboxPurchaseOrder.reference == reference)).first()
            if po is None:
                return None
            fraction = (po.received / po.total) if po.total else Decimal("0")
            return PoStatus(reference, str(po.id), po.number or "", po.status, fraction)

    def list_suppliers(self) -> list[ErpSupplier]:
        return [
            ErpSupplier(
                id=s.id,
                name=s.name,
                blocked=s.blocked,
                block_reason=s.block_reason,
                risk_tier=s.risk_tier,
                contracted=s.contracted,
                currency=s.currency,
                erp_key=s.id,
            )
            for s in self.directory.suppliers
        ] + self.added_vendors()

    def added_vendors(self) -> list[ErpSupplier]:
        """The vendors procurement added through `create_supplier`, oldest first."""
        with Session(self.engine) as session:
            rows = session.exec(select(SandboxVendor).order_by(col(SandboxVendor.id))).all()
            return [_vendor(v) for v in rows]

    def list_items(self) -> list[ErpItem]:
        return [
            ErpItem(sku=i.sku, name=i.name, category=i.category, unit=i.unit, unit_price=i.unit_price, erp_key=i.sku)
            for i in self.directory.items
        ]

    def list_budgets(self) -> list[ErpBudget]:
        return [ErpBudget(cost_center=c.code, budget=c.budget, spent=c.spent) for c in self.directory.cost_centers]

    def close(self) -> None:
        return None

    # ------------------------------------------------------------------ the ledger
    def move(self, number: str, status: str, *, received: Decimal | None = None) -> PoStatus:
        """Move a PO to `status` (open, partially_received, received, closed, cancelled) as the ERP would."""
        with transaction(self.engine) as session:
            po = session.exec(
                select(SandboxPurchaseOrder).where(SandboxPurchaseOrder.number == number.upper()).with_for_update()
            ).first()
            if po is None:
                raise PermanentError(f"the sandbox ERP has no purchase order {number}")
            if status not in MOVES.get(po.status, ()):
                allowed = ", ".join(MOVES.get(po.status, ())) or "nothing (it is final)"
                raise PermanentError(f"{po.number} is {po.status.replace('_', ' ')}; it can move to {allowed}")
            po.status = status
            if status == "received":
                po.received = po.total
            elif status == "partially_received":
                po.received = received if received is not None else (po.total / 2).quantize(Decimal("0.01"))
            po.updated_at = utcnow()
            session.add(po)
        return self.get_po_status(po.reference)  # type: ignore[return-value]

    def attachments(self, number: str) -> list[SandboxPoAttachment]:
        """The files filed with a PO (by its number, PO-000001), in the order they came."""
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(SandboxPoAttachment)
                    .join(SandboxPurchaseOrder, col(SandboxPurchaseOrder.id) == col(SandboxPoAttachment.po_id))
                    .where(SandboxPurchaseOrder.number == number.upper())
                    .order_by(col(SandboxPoAttachment.id))
                ).all()
            )

    def count(self) -> int:
        with Session(self.engine) as session:
            return len(session.exec(select(SandboxPurchaseOrder.id)).all())

    def _fault_before(self) -> str | None:
        """Sleep the configured latency and draw this call's fault; raise the ones that strike before acting."""
        self._latency()
        fault = self.faults.draw()
        if fault == "500":
            raise TransientError("the sandbox ERP failed with 500: injected server error", status=500)
        if fault == "429":
            raise TransientError("the sandbox ERP is rate limiting us (429): injected", status=429, retry_after=0)
        if fault == "drop_before":
            raise TransientError("no answer from the sandbox ERP (connection dropped before it acted)")
        return fault

    @staticmethod
    def _fault_after(fault: str | None) -> None:
        if fault in ("timeout_after_commit", "drop"):
            raise TransientError(f"no answer from the sandbox ERP ({fault.replace('_', ' ')}); it may have acted")

    def _latency(self) -> None:
        if self.faults.latency_ms > 0:
            time.sleep(self.faults.latency_ms / 1000)  # the point of the setting: a slow ERP on purpose

    def _validate(self, order: PurchaseOrderRequest) -> None:
        supplier = self.directory.supplier_by_id.get(order.supplier)
        # a vendor added through create_supplier is known and not blocked
        if supplier is None and not self._added(order.supplier):
            raise PermanentError(
                f"the sandbox ERP has no vendor {order.supplier!r}; add the vendor in the ERP "
                "or correct the requisition's supplier",
                status=422,
            )
        if supplier is not None and supplier.blocked:
            raise PermanentError(
                f"vendor {supplier.name} is blocked in the sandbox ERP ({supplier.block_reason or 'no reason given'})",
                status=422,
            )
        for line in order.lines:
            if line.sku and line.sku not in self.directory.item_by_sku:
                raise PermanentError(
                    f"the sandbox ERP has no item {line.sku!r} (line {line.line_no}); "
                    "create the item or remove the SKU from the line",
                    status=422,
                )
            if line.quantity <= 0:
                raise PermanentError(
                    f"line {line.line_no} has quantity {line.quantity}; it must be positive", status=422
                )
        if not order.lines:
            raise PermanentError("a purchase order needs at least one line", status=422)

    def _insert(self, order: PurchaseOrderRequest) -> PoCreated:
        existing = self._existing(order.reference)
        if existing is not None:
            return existing
        try:
            with transaction(self.engine) as session:
                po = SandboxPurchaseOrder(
                    reference=order.reference,
                    supplier=order.supplier,
                    currency=order.currency,
                    site=order.site,
                    cost_center=order.cost_center,
                    total=order.total,
                    need_by=order.need_by,
                    lines=order.to_payload()["lines"],
                )
                session.add(po)
                session.flush()
                assert po.id is not None  # the flush numbered it
                po.number = f"PO-{po.id:06d}"
                session.add(po)
                for a in order.attachments:
                    session.add(
                        SandboxPoAttachment(
                            po_id=po.id,
                            filename=a.filename,
                            content_type=a.content_type,
                            size=a.size,
                            sha256=a.sha256,
                            source=a.download,
                        )
                    )
                number, po_id = po.number, po.id
        except IntegrityError:
            # another caller created it between our look and our insert: theirs is the one
            found = self._existing(order.reference)
            if found is None:
                raise
            return found
        return PoCreated(order.reference, str(po_id), number, "open", created=True)

    def _existing(self, reference: str) -> PoCreated | None:
        with Session(self.engine) as session:
            po = session.exec(select(SandboxPurchaseOrder).where(SandboxPurchaseOrder.reference == reference)).first()
            if po is None:
                return None
            return PoCreated(reference, str(po.id), po.number or "", po.status, created=False)

    # ------------------------------------------------------------------ vendors added
    def _added(self, supplier_id: str) -> bool:
        with Session(self.engine) as session:
            return (
                session.exec(select(SandboxVendor.id).where(SandboxVendor.number == supplier_id.upper())).first()
                is not None
            )

    def _vendor_for(self, reference: str) -> ErpSupplier | None:
        with Session(self.engine) as session:
            row = session.exec(select(SandboxVendor).where(SandboxVendor.reference == reference)).first()
            return _vendor(row) if row is not None else None

    def _insert_vendor(self, request: NewSupplierRequest) -> ErpSupplier:
        existing = self._vendor_for(request.reference)
        if existing is not None:
            return existing
        try:
            with transaction(self.engine) as session:
                row = SandboxVendor(
                    reference=request.reference,
                    name=request.name.strip(),
                    email=request.email,
                    website=request.website,
                    currency=request.currency.upper(),
                    tax_id=request.tax_id,
                )
                session.add(row)
                session.flush()
                row.number = f"V{row.id:05d}"
                session.add(row)
                session.flush()
                created = _vendor(row)
        except IntegrityError:
            found = self._vendor_for(request.reference)  # a racing caller created it first: theirs stands
            if found is None:
                raise
            return found
        return created


def _vendor(row: SandboxVendor) -> ErpSupplier:
    number = row.number or ""
    return ErpSupplier(id=number.lower(), name=row.name, currency=row.currency, erp_key=number)
