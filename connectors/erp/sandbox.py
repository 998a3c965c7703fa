"""The embedded ERP: a small real purchase-order ledger in its own tables, the default connector.

It numbers POs (PO-000001, ...), keeps one PO per requisition number (a unique key, so two
dispatchers racing on one requisition still make one PO), moves POs through their statuses on
command, and can inject latency and failures so demos and tests can watch the outbox cope:

    PROCUREBOT_ERP_SANDBOX_LATENCY_MS=10
    PROCUREBOT_ERP_SANDBOX_FAULTS="500:0.05,429:0.05,timeout_after_commit:0.05,drop:0.05"

Its vendor and item master is the company directory, so "supplier not in the ERP" behaves as
it would in a real one.
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


@dataclass
class SandboxFaults:
    """Failure injection. Each probability is per create_po call; `seed` makes a run repeatable."""

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
        self._latency()
        fault = self.faults.draw()
        if fault == "500":
            raise TransientError("the sandbox ERP failed with 500: injected server error", status=500)
        if fault == "429":
            raise TransientError("the sandbox ERP is rate limiting us (429): injected", status=429, retry_after=0)
        if fault == "drop_before":
            raise TransientError("no answer from the sandbox ERP (connection dropped before it acted)")
        self._validate(order)
        result = self._insert(order)
        if fault in ("timeout_after_commit", "drop"):
            # the PO exists now; the caller just never hears so
            raise TransientError(f"no answer from the sandbox ERP ({fault.replace('_', ' ')}); it may have acted")
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
        ]

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

    def _latency(self) -> None:
        if self.faults.latency_ms > 0:
            time.sleep(self.faults.latency_ms / 1000)  # the point of the setting: a slow ERP on purpose

    def _validate(self, order: PurchaseOrderRequest) -> None:
        supplier = self.directory.supplier_by_id.get(order.supplier)
        if supplier is None:
            raise PermanentError(
                f"the sandbox ERP has no vendor {order.supplier!r}; add the vendor in the ERP "
                "or correct the requisition's supplier",
                status=422,
            )
        if supplier.blocked:
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
