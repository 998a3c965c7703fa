"""Master data from the ERP: suppliers, items and cost-center budgets, stored so routing uses current facts.

The ERP is the system of record for vendors, the catalog and budgets. A sync (`procurebot erp
sync`, or the dispatcher's recurring `erp.sync_master` job) pulls each list through the
connector and `store` replaces that connector's rows in one transaction per list. Routing
stays pure: `overlay` returns a copy of the company directory with the ERP's values laid over
it, and the approval service reads facts from that directory exactly as before
(`build_facts(draft, directory, policy, committed)`), so the same request routes the same way
in a replay given the same directory.

What the ERP says wins where it says something: a supplier's blocked flag and reason, risk tier
and contract; an item's name, unit, price and category (when that category is one we route
on); a cost center's budget and its booked spend. Suppliers and items the directory does not
know are added, so intake accepts them. A list the ERP does not offer, or returns empty,
changes nothing (an empty answer is more often a fault than a company with no vendors).

Committed spend: requisitions approved or in flight count against their cost center (the
workflow's COMMITTED_STATES). Once the ERP has invoiced a PO (our status `closed`), its amount
is in the ERP's booked spend too, so `overlay` takes those requisitions back out of the booked
figure rather than count them twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Protocol

from sqlalchemy import Engine, UniqueConstraint, delete, func
from sqlmodel import Field, Session, SQLModel, col, select

from approvals import recurring
from approvals.clock import utcnow
from approvals.columns import timestamp_field
from approvals.db import transaction
from approvals.directory import CostCenter, Directory, Item, Supplier
from approvals.models import Money, Requisition
from approvals.outbox import ErpPurchaseOrder
from approvals.workflow.base import COMMITTED_STATES  # spend that counts against a budget

log = logging.getLogger("procurebot.erp")
_WARNED_CENTERS: set[str] = set()

SYNC_MASTER = "erp.sync_master"
RISK_TIERS = ("low", "medium", "high")
INVOICED_PO_STATUSES = ("closed",)


class ErpSupplierRecord(SQLModel, table=True):
    """A vendor as the ERP last described it."""

    __tablename__ = "erp_supplier"
    __table_args__ = (UniqueConstraint("connector", "supplier_id", name="uq_erp_supplier"),)

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=30)
    supplier_id: str = Field(max_length=80)
    name: str = Field(max_length=200)
    blocked: bool = False
    block_reason: str | None = Field(default=None, max_length=300)
    risk_tier: str | None = Field(default=None, max_length=10)
    contracted: bool | None = None
    currency: str | None = Field(default=None, max_length=3)
    erp_key: str = Field(default="", max_length=100)
    synced_at: datetime = timestamp_field(default_factory=utcnow)


class ErpItemRecord(SQLModel, table=True):
    """A catalog item as the ERP last described it."""

    __tablename__ = "erp_item"
    __table_args__ = (UniqueConstraint("connector", "sku", name="uq_erp_item"),)

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=30)
    sku: str = Field(max_length=80)
    name: str = Field(max_length=200)
    category: str | None = Field(default=None, max_length=60)
    unit: str | None = Field(default=None, max_length=20)
    unit_price: Decimal | None = Field(default=None, sa_type=Money)
    blocked: bool = False
    erp_key: str = Field(default="", max_length=100)
    synced_at: datetime = timestamp_field(default_factory=utcnow)


class ErpBudgetRecord(SQLModel, table=True):
    """A cost center's budget and booked (invoiced) spend in the ERP."""

    __tablename__ = "erp_budget"
    __table_args__ = (UniqueConstraint("connector", "cost_center", name="uq_erp_budget"),)

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=30)
    cost_center: str = Field(max_length=40)
    period: str = Field(default="", max_length=20)
    budget: Decimal = Field(sa_type=Money)
    spent: Decimal = Field(default=Decimal("0"), sa_type=Money)
    synced_at: datetime = timestamp_field(default_factory=utcnow)


class MasterDataSource(Protocol):
    """What a sync reads: an ERP connector's master-data half (connectors.erp.base.ErpConnector)."""

    name: str

    def list_suppliers(self) -> list[Any]: ...

    def list_items(self) -> list[Any]: ...

    def list_budgets(self) -> list[Any]: ...


@dataclass(frozen=True)
class SyncCounts:
    """How many rows each list now has for the connector; None where the ERP offered nothing."""

    connector: str
    suppliers: int | None
    items: int | None
    budgets: int | None
    problems: tuple[str, ...] = ()

    def sentence(self) -> str:
        parts = [
            f"{n} {what}"
            for what, n in (("suppliers", self.suppliers), ("items", self.items), ("budgets", self.budgets))
            if n is not None
        ]
        got = ", ".join(parts) if parts else "nothing"
        skipped = [
            w for w, n in (("suppliers", self.suppliers), ("items", self.items), ("budgets", self.budgets)) if n is None
        ]
        out = f"master data from {self.connector}: {got}"
        if skipped:
            out += f" (the ERP offered no {', '.join(skipped)}; the directory's stand)"
        return out


@dataclass(frozen=True)
class MasterData:
    """One connector's stored master data, by our ids."""

    suppliers: dict[str, ErpSupplierRecord] = field(default_factory=dict)
    items: dict[str, ErpItemRecord] = field(default_factory=dict)
    budgets: dict[str, ErpBudgetRecord] = field(default_factory=dict)
    invoiced: dict[str, Decimal] = field(default_factory=dict)  # our committed amounts the ERP has invoiced

    @property
    def empty(self) -> bool:
        return not (self.suppliers or self.items or self.budgets)


# ---------------------------------------------------------------------------------- storing a pull


def sync(engine: Engine, source: MasterDataSource, *, now: datetime | None = None) -> SyncCounts:
    """Pull every list from `source` and store it. A list that fails is reported; the others still land.

    The connector's typed errors carry a `reason` a buyer can act on; anything else is named by type.
    """
    now = now or utcnow()
    counts: dict[str, int | None] = {}
    problems: list[str] = []
    for kind, pull, put in (
        ("suppliers", source.list_suppliers, _put_suppliers),
        ("items", source.list_items, _put_items),
        ("budgets", source.list_budgets, _put_budgets),
    ):
        try:
            rows = list(pull())
        except Exception as exc:  # noqa: BLE001 - one list failing must not stop the others
            problems.append(f"{kind}: {getattr(exc, 'reason', None) or type(exc).__name__}")
            counts[kind] = None
            continue
        if not rows:
            counts[kind] = None
            continue
        with transaction(engine) as session:
            counts[kind] = put(session, source.name, rows, now)
    return SyncCounts(source.name, counts["suppliers"], counts["items"], counts["budgets"], tuple(problems))


def _replace(
    session: Session, model: Any, key: str, connector: str, rows: dict[str, dict[str, Any]], now: datetime
) -> int:
    """Upsert `rows` (by our id) for `connector` and delete that connector's rows the ERP no longer has."""
    existing = {getattr(r, key): r for r in session.exec(select(model).where(model.connector == connector)).all()}
    for code, values in rows.items():
        row = existing.get(code) or model(connector=connector, **{key: code})
        for name, value in values.items():
            setattr(row, name, value)
        row.synced_at = now
        session.add(row)
    gone = [code for code in existing if code not in rows]
    if gone:
        session.execute(delete(model).where(model.connector == connector, getattr(model, key).in_(gone)))
    return len(rows)


def _put_suppliers(session: Session, connector: str, rows: Iterable[Any], now: datetime) -> int:
    data = {}
    for s in rows:
        if not s.id:
            continue
        risk = s.risk_tier if s.risk_tier in RISK_TIERS else None
        data[str(s.id)[:80]] = {
            "name": (s.name or s.id)[:200],
            "blocked": bool(s.blocked),
            "block_reason": (s.block_reason or None) and str(s.block_reason)[:300],
            "risk_tier": risk,
            "contracted": s.contracted,
            "currency": (s.currency or None) and str(s.currency)[:3].upper(),
            "erp_key": str(s.erp_key or "")[:100],
        }
    return _replace(session, ErpSupplierRecord, "supplier_id", connector, data, now)


def _put_items(session: Session, connector: str, rows: Iterable[Any], now: datetime) -> int:
    data = {}
    for i in rows:
        if not i.sku:
            continue
        data[str(i.sku)[:80]] = {
            "name": (i.name or i.sku)[:200],
            "category": (i.category or None) and str(i.category)[:60],
            "unit": (i.unit or None) and str(i.unit)[:20],
            "unit_price": i.unit_price,
            "blocked": bool(i.blocked),
            "erp_key": str(i.erp_key or "")[:100],
        }
    return _replace(session, ErpItemRecord, "sku", connector, data, now)


def _put_budgets(session: Session, connector: str, rows: Iterable[Any], now: datetime) -> int:
    data = {
        str(b.cost_center)[:40]: {
            "budget": Decimal(b.budget),
            "spent": Decimal(b.spent or 0),
            "period": str(b.period or "")[:20],
        }
        for b in rows
        if b.cost_center
    }
    return _replace(session, ErpBudgetRecord, "cost_center", connector, data, now)


# ---------------------------------------------------------------------------------- reading it back


def load(engine: Engine, connector: str) -> MasterData:
    """The stored master data of `connector`, with our invoiced commitments per cost center."""
    with Session(engine) as session:
        suppliers = {
            r.supplier_id: r
            for r in session.exec(select(ErpSupplierRecord).where(ErpSupplierRecord.connector == connector)).all()
        }
        items = {
            r.sku: r for r in session.exec(select(ErpItemRecord).where(ErpItemRecord.connector == connector)).all()
        }
        budgets = {
            r.cost_center: r
            for r in session.exec(select(ErpBudgetRecord).where(ErpBudgetRecord.connector == connector)).all()
        }
        invoiced = invoiced_commitments(session) if budgets else {}
    return MasterData(suppliers, items, budgets, invoiced)


def last_synced(engine: Engine, connector: str) -> datetime | None:
    """When this connector's master data last changed, or None if it never synced (cheap: three max())."""
    with Session(engine) as session:
        stamps = [
            session.exec(select(func.max(m.synced_at)).where(m.connector == connector)).one()
            for m in (ErpSupplierRecord, ErpItemRecord, ErpBudgetRecord)
        ]
    stamps = [s for s in stamps if s is not None]
    return max(stamps) if stamps else None


def invoiced_commitments(session: Session) -> dict[str, Decimal]:
    """Per cost center: committed requisitions whose PO the ERP reports invoiced (in its booked spend)."""
    rows = session.exec(
        select(Requisition.cost_center, func.sum(Requisition.amount))
        .join(ErpPurchaseOrder, col(ErpPurchaseOrder.requisition_number) == col(Requisition.number))
        .where(
            col(Requisition.state).in_(COMMITTED_STATES),
            col(ErpPurchaseOrder.status).in_(INVOICED_PO_STATUSES),
        )
        .group_by(Requisition.cost_center)
    ).all()
    out = {cc: Decimal(str(total)) for cc, total in rows}
    # a recurring requisition's releases are POs of their own (PR-1042-R03): each invoiced one is booked
    for cc, amount in recurring.invoiced_releases(session, COMMITTED_STATES, INVOICED_PO_STATUSES):
        out[cc] = out.get(cc, Decimal(0)) + amount
    return out


# ---------------------------------------------------------------------------------- the facts routing sees


def overlay(directory: Directory, data: MasterData) -> Directory:
    """The directory with the ERP's master data laid over it (pure: same inputs, same directory)."""
    if data.empty:
        return directory
    suppliers = [_supplier(s, data.suppliers.get(s.id)) for s in directory.suppliers]
    known = {s.id for s in directory.suppliers}
    suppliers += [
        Supplier(
            id=r.supplier_id,
            name=r.name,
            blocked=r.blocked,
            block_reason=r.block_reason,
            risk_tier=r.risk_tier or "medium",
            contracted=bool(r.contracted),
            currency=r.currency or directory.currency,
        )
        for code, r in sorted(data.suppliers.items())
        if code not in known
    ]
    categories = {c.code for c in directory.categories}
    items = [_item(i, data.items.get(i.sku), categories) for i in directory.items]
    known_items = {i.sku for i in directory.items}
    items += [
        Item(sku=r.sku, name=r.name, category=r.category, unit=r.unit or "each", unit_price=r.unit_price)
        for sku, r in sorted(data.items.items())
        if sku not in known_items and r.category in categories and not r.blocked
    ]
    centers = [
        _budget(c, data.budgets.get(c.code), data.invoiced.get(c.code, Decimal(0))) for c in directory.cost_centers
    ]
    _warn_unknown_cost_centers(set(data.budgets) - {c.code for c in directory.cost_centers})
    values = {
        **{k: getattr(directory, k) for k in type(directory).model_fields},
        "suppliers": tuple(suppliers),
        "items": tuple(items),
        "cost_centers": tuple(centers),
    }
    return Directory.model_validate(values)


def _warn_unknown_cost_centers(codes: set[str]) -> None:
    """Once per code and process: an ERP budget no cost center of ours carries is not used (the mapping is off)."""
    for code in sorted(codes - _WARNED_CENTERS):
        _WARNED_CENTERS.add(code)
        log.warning(
            "the ERP has a budget for cost center %r, which the company directory does not know; it is "
            "not used (check the ERP field mapped to our cost-center codes, see docs/erp.md)",
            code,
        )


def _supplier(s: Supplier, r: ErpSupplierRecord | None) -> Supplier:
    if r is None:
        return s
    changes: dict[str, Any] = {"blocked": r.blocked, "block_reason": r.block_reason if r.blocked else None}
    if r.risk_tier:
        changes["risk_tier"] = r.risk_tier
    if r.contracted is not None:
        changes["contracted"] = r.contracted
    return s.model_copy(update=changes)


def _item(i: Item, r: ErpItemRecord | None, categories: set[str]) -> Item:
    if r is None:
        return i
    changes: dict[str, Any] = {"name": r.name}
    if r.category in categories:
        changes["category"] = r.category
    if r.unit:
        changes["unit"] = r.unit
    if r.unit_price is not None:
        changes["unit_price"] = r.unit_price
    return i.model_copy(update=changes)


def _budget(c: CostCenter, r: ErpBudgetRecord | None, invoiced: Decimal) -> CostCenter:
    if r is None:
        return c
    # the ERP's booked spend already holds what it invoiced of ours; our committed spend counts it too
    return c.model_copy(update={"budget": r.budget, "spent": max(Decimal(0), r.spent - invoiced)})


# ---------------------------------------------------------------------------------- budgets for people


@dataclass(frozen=True)
class BudgetLine:
    cost_center: str
    budget: Decimal
    booked: Decimal  # the ERP's invoiced spend (or the directory's, where the ERP has no budget)
    committed: Decimal  # ours, approved or in flight and not yet invoiced
    source: str  # "erp" or "directory"

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.booked - self.committed


def budget_lines(engine: Engine, directory: Directory, connector: str) -> list[BudgetLine]:
    """Committed spend against each cost center's budget, from the ERP where it has one."""
    data = load(engine, connector)
    with Session(engine) as session:
        committed = dict(
            session.exec(
                select(Requisition.cost_center, func.sum(Requisition.amount))
                .where(col(Requisition.state).in_(COMMITTED_STATES))
                .group_by(Requisition.cost_center)
            ).all()
        )
        invoiced = invoiced_commitments(session)
        # recurring requisitions: releases skipped or ended are no longer committed
        dropped = recurring.dropped_by_cost_center(session, COMMITTED_STATES)
    out = []
    for c in directory.cost_centers:
        mine = Decimal(str(committed.get(c.code) or 0)) - dropped.get(c.code, Decimal(0))
        r = data.budgets.get(c.code)
        if r is None:
            out.append(BudgetLine(c.code, c.budget, c.spent, mine, "directory"))
        else:
            out.append(BudgetLine(c.code, r.budget, r.spent, mine - invoiced.get(c.code, Decimal(0)), "erp"))
    return out
