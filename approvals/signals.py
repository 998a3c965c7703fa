"""What is unusual about a requisition against history: pure functions over plain data.

Price and quantity against this item's history and this supplier's (when the item has fewer than three earlier
purchases: a price against the supplier's contract price, else the catalog price, and a quantity against the
catalog's usual order), a quantity above the catalog's largest order, near-duplicate requests,
and split purchases (several requests just under an approval threshold from one requester, or
to one supplier at one site, in a short time). Each finding is a `Signal` with one plain
sentence and the numbers that sentence states, so a summary written from signals can be checked
number by number. No database, no clock, no network: callers pass the history in
(approvals.history loads it).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Sequence

from rapidfuzz import fuzz

if TYPE_CHECKING:
    from approvals.directory import Directory

SignalKind = Literal["price_high", "price_low", "quantity_high", "duplicate", "split_purchase"]
DEAD_STATES = frozenset({"rejected", "withdrawn", "stopped", "draft"})
PRICE_BAND = Decimal("0.25")  # a unit price 25% off the usual is worth a line on the card
QUANTITY_FACTOR = Decimal(3)  # three times the usual quantity
MIN_POINTS = 3  # fewer past purchases than this is not a history
DUPLICATE_WINDOW = timedelta(days=30)
DUPLICATE_AMOUNT = Decimal("0.25")
SPLIT_WINDOW = timedelta(days=7)
SPLIT_BAND = Decimal("0.15")  # "just under" a threshold: within 15% below it
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class PastLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit: str = "each"
    sku: str | None = None


@dataclass(frozen=True)
class PastRequest:
    """A requisition as the signals see it: no names, only ids, amounts and items."""

    number: str
    requester: str
    supplier: str
    site: str
    amount: Decimal  # in the policy currency, as routing saw it
    currency: str  # of the line prices
    created_at: datetime
    state: str = "pending_approval"
    lines: tuple[PastLine, ...] = ()
    policy_currency: str = "USD"  # of `amount`

    def rate_to_policy(self) -> Decimal | None:
        """Policy-currency units per unit of the line currency, as routing converted this request."""
        if self.currency == self.policy_currency:
            return Decimal(1)
        total = sum((ln.quantity * ln.unit_price for ln in self.lines), Decimal(0))
        return self.amount / total if total > 0 and self.amount > 0 else None


@dataclass(frozen=True)
class ReferencePrice:
    """A price the company agreed or lists for an item: a supplier's contract price, or the catalog's."""

    price: Decimal
    currency: str
    unit: str
    kind: Literal["contract", "catalog"]
    supplier: str = ""  # the supplier's name, for a contract price


@dataclass(frozen=True)
class OrderSize:
    """What the catalog says about how much of an item one order asks for, in the catalog's unit."""

    unit: str
    usual: Decimal | None = None  # a usual order
    largest: Decimal | None = None  # the most one order should ask for


@dataclass(frozen=True)
class PriceBook:
    """Reference figures by SKU: the catalog's prices, each supplier's contract prices (by supplier id and SKU), and
    the catalog's usual and largest order quantities."""

    catalog: Mapping[str, ReferencePrice] = field(default_factory=dict)
    contracts: Mapping[tuple[str, str], ReferencePrice] = field(default_factory=dict)
    orders: Mapping[str, OrderSize] = field(default_factory=dict)

    def reference(self, supplier: str, sku: str) -> ReferencePrice | None:
        """What this supplier's price for `sku` should be: its contract price, else the catalog price."""
        return self.contracts.get((supplier, sku)) or self.catalog.get(sku)


def price_book(directory: Directory) -> PriceBook:
    """The directory's catalog prices (in the company currency), the contract prices of suppliers whose contract is
    in force (active or expiring; an expired contract's prices no longer bind), in their currency, and the catalog's
    usual and largest order quantities."""
    catalog = {
        i.sku: ReferencePrice(i.unit_price, directory.currency, i.unit, "catalog")
        for i in directory.items
        if i.unit_price is not None and i.unit_price > 0
    }
    contracts: dict[tuple[str, str], ReferencePrice] = {}
    for s in directory.suppliers:
        if s.contract_status not in ("active", "expiring"):
            continue
        for sku, price in s.contract_prices.items():
            item = directory.item_by_sku.get(sku)
            if item is not None and price > 0:
                contracts[(s.id, sku)] = ReferencePrice(Decimal(price), s.currency, item.unit, "contract", s.name)
    orders = {
        i.sku: OrderSize(i.unit, i.usual_quantity, i.max_order_quantity)
        for i in directory.items
        if i.usual_quantity is not None or i.max_order_quantity is not None
    }
    return PriceBook(catalog, contracts, orders)


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    text: str  # one sentence, numbers written as they should appear on the card
    numbers: tuple[Decimal, ...] = ()  # every number the sentence states
    related: tuple[str, ...] = ()  # other requisitions it points at
    details: dict[str, Any] = field(default_factory=dict, compare=False)


def money(amount: Decimal, currency: str = "USD") -> str:
    symbol = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}.get(currency)
    text = f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def _qty(value: Decimal) -> str:
    """A quantity as people write it: 40, 1,100, 2.5."""
    return f"{value.to_integral():,f}" if value == value.to_integral() else f"{value:,f}".rstrip("0")


def _pct(part: Decimal, whole: Decimal) -> int:
    return int((part / whole * 100).quantize(Decimal(1), ROUND_HALF_UP))


def item_key(line: PastLine) -> str:
    """Lines are the same item when they share a SKU, else when their words are the same."""
    if line.sku:
        return f"sku:{line.sku}"
    return "text:" + " ".join(sorted(set(_WORD.findall(line.description.lower()))))


def _live(history: Iterable[PastRequest], current: PastRequest) -> list[PastRequest]:
    return [p for p in history if p.number != current.number and p.state not in DEAD_STATES]


def _median(values: list[Decimal]) -> Decimal:
    return Decimal(statistics.median(values))


def _reference_signal(current: PastRequest, line: PastLine, prices: PriceBook, band: Decimal) -> Signal | None:
    """A unit price far from the supplier's contract price or the catalog price (converted to the request's
    currency at the rate routing used); None when it is close, or there is nothing to compare with."""
    ref = prices.reference(current.supplier, line.sku or "")
    if ref is None or ref.unit.lower() != (line.unit or "each").lower():
        return None
    usual = ref.price
    if ref.currency != current.currency:
        to_policy = current.rate_to_policy()
        if to_policy is None or ref.currency != current.policy_currency:
            return None  # no rate between the two currencies: say nothing rather than guess
        usual = (ref.price / to_policy).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if usual <= 0:
        return None
    off = (line.unit_price - usual) / usual
    if abs(off) < band:
        return None
    pct = _pct(abs(line.unit_price - usual), usual)
    unit = f" a {line.unit}" if line.unit and line.unit != "each" else " each"
    whose = f"{ref.supplier}'s contract price" if ref.kind == "contract" else "the catalog price"
    kind: SignalKind = "price_high" if off > 0 else "price_low"
    text = (
        f"{line.description}: {money(line.unit_price, current.currency)}{unit} is {pct}% "
        f"{'above' if off > 0 else 'below'} {whose} of {money(usual, current.currency)}."
    )
    return Signal(kind, text, (line.unit_price, Decimal(pct), usual), details={"scope": ref.kind, "sku": line.sku})


def price_signals(
    current: PastRequest,
    history: Sequence[PastRequest],
    *,
    band: Decimal = PRICE_BAND,
    min_points: int = MIN_POINTS,
    prices: PriceBook | None = None,
) -> list[Signal]:
    """Unit prices far from this item's usual price (all suppliers) or this supplier's usual price for it; with
    fewer than `min_points` earlier purchases, far from the supplier's contract price or the catalog price."""
    out: list[Signal] = []
    past = _live(history, current)
    for line in current.lines:
        key = item_key(line)
        same = [(p, ln) for p in past for ln in p.lines if item_key(ln) == key and ln.unit == line.unit]
        if len(same) < min_points and prices is not None and line.sku:
            found = _reference_signal(current, line, prices, band)
            if found is not None:
                out.append(found)
            continue
        for scope, points in (
            ("item", [ln.unit_price for _, ln in same]),
            ("supplier", [ln.unit_price for p, ln in same if p.supplier == current.supplier]),
        ):
            if len(points) < min_points:
                continue
            usual = _median(points)
            if usual <= 0:
                continue
            off = (line.unit_price - usual) / usual
            if abs(off) < band:
                continue
            pct = _pct(abs(line.unit_price - usual), usual)
            unit = f" a {line.unit}" if line.unit and line.unit != "each" else " each"
            where = "this item's" if scope == "item" else "this supplier's"
            kind: SignalKind = "price_high" if off > 0 else "price_low"
            text = (
                f"{line.description}: {money(line.unit_price, current.currency)}{unit} is {pct}% "
                f"{'above' if off > 0 else 'below'} {where} usual {money(usual, current.currency)} "
                f"({len(points)} past requests)."
            )
            out.append(
                Signal(
                    kind,
                    text,
                    (line.unit_price, Decimal(pct), usual, Decimal(len(points))),
                    details={"scope": scope, "sku": line.sku},
                )
            )
            break  # the item-wide comparison says it; the supplier's would repeat it
    return out


def quantity_signals(
    current: PastRequest,
    history: Sequence[PastRequest],
    *,
    factor: Decimal = QUANTITY_FACTOR,
    min_points: int = MIN_POINTS,
    prices: PriceBook | None = None,
) -> list[Signal]:
    """Quantities several times this item's usual order (its median over every earlier request, whatever the site or
    supplier); with fewer than `min_points` earlier purchases, several times the catalog's usual order. A quantity
    above the catalog's largest order is said whatever the history, unless the history already said the line is
    large. At most one signal a line."""
    out: list[Signal] = []
    past = _live(history, current)
    for line in current.lines:
        key = item_key(line)
        points = [ln.quantity for p in past for ln in p.lines if item_key(ln) == key and ln.unit == line.unit]
        found = _history_quantity(line, points, factor) if len(points) >= min_points else None
        order = prices.orders.get(line.sku) if prices is not None and line.sku else None
        if order is not None and order.unit.lower() != (line.unit or "each").lower():
            order = None  # a case is not a roll: no comparison rather than a wrong one
        if found is None and order is not None:
            found = _catalog_quantity(line, order, factor, thin=len(points) < min_points)
        if found is not None:
            out.append(found)
    return out


def _times(quantity: Decimal, usual: Decimal) -> Decimal:
    return (quantity / usual).quantize(Decimal("0.1"), ROUND_HALF_UP).normalize()


def _history_quantity(line: PastLine, points: list[Decimal], factor: Decimal) -> Signal | None:
    usual = _median(points)
    if usual <= 0 or line.quantity < factor * usual:
        return None
    times = _times(line.quantity, usual)
    text = (
        f"{line.description}: {_qty(line.quantity)} is {_qty(times)} times the usual quantity of "
        f"{_qty(usual)} ({len(points)} past requests)."
    )
    numbers = (line.quantity, times, usual, Decimal(len(points)))
    return Signal("quantity_high", text, numbers, details={"scope": "item", "sku": line.sku})


def _catalog_quantity(line: PastLine, order: OrderSize, factor: Decimal, *, thin: bool) -> Signal | None:
    """Above the catalog's largest order (whatever the history), else, for an item with little history, several
    times the catalog's usual order."""
    if order.largest is not None and order.largest > 0 and line.quantity > order.largest:
        most = order.largest
        text = f"{line.description}: {_qty(line.quantity)} is more than the catalog's largest order of {_qty(most)}."
        details = {"scope": "catalog_largest", "sku": line.sku}
        return Signal("quantity_high", text, (line.quantity, most), details=details)
    usual = order.usual
    if not thin or usual is None or usual <= 0 or line.quantity < factor * usual:
        return None
    times = _times(line.quantity, usual)
    text = (
        f"{line.description}: {_qty(line.quantity)} is {_qty(times)} times the catalog's usual order of {_qty(usual)}."
    )
    return Signal("quantity_high", text, (line.quantity, times, usual), details={"scope": "catalog", "sku": line.sku})


def near_duplicates(
    current: PastRequest,
    history: Sequence[PastRequest],
    *,
    window: timedelta = DUPLICATE_WINDOW,
    tolerance: Decimal = DUPLICATE_AMOUNT,
) -> list[Signal]:
    """Recent requests for the same items from the same supplier to the same site, at a close amount."""
    words = " ".join(ln.description for ln in current.lines).lower()
    skus = {ln.sku for ln in current.lines if ln.sku}
    found: list[PastRequest] = []
    for p in _live(history, current):
        if p.supplier != current.supplier or p.site != current.site:
            continue
        if abs(current.created_at - p.created_at) > window:
            continue
        if abs(p.amount - current.amount) > tolerance * max(p.amount, current.amount):
            continue
        if (
            skus & {ln.sku for ln in p.lines if ln.sku}
            or fuzz.token_set_ratio(words, " ".join(ln.description for ln in p.lines).lower()) >= 80
        ):
            found.append(p)
    if not found:
        return []
    found.sort(key=lambda p: p.created_at, reverse=True)
    latest = found[0]
    days = max(0, (current.created_at - latest.created_at).days)
    when = "today" if days == 0 else ("1 day earlier" if days == 1 else f"{days} days earlier")
    others = f" ({len(found)} similar in {window.days} days)" if len(found) > 1 else ""
    text = (
        f"Looks like a repeat of {latest.number}: same supplier, site and items, "
        f"{money(latest.amount, current.policy_currency)}, {when}{others}."
    )
    numbers = (latest.amount, Decimal(days), Decimal(len(found)), Decimal(window.days))
    return [Signal("duplicate", text, numbers, tuple(p.number for p in found))]


def split_purchases(
    current: PastRequest,
    history: Sequence[PastRequest],
    thresholds: Iterable[Decimal],
    *,
    window: timedelta = SPLIT_WINDOW,
    band: Decimal = SPLIT_BAND,
) -> list[Signal]:
    """Several requests just under one threshold, from one requester or to one supplier at one site, in a short
    time, that together pass it: the pattern of a purchase split to stay under an approval limit."""
    past = [p for p in _live(history, current) if abs(current.created_at - p.created_at) <= window]
    for threshold in sorted(set(thresholds), reverse=True):
        if threshold <= 0 or not (threshold * (1 - band) <= current.amount < threshold):
            continue
        near = [p for p in past if threshold * (1 - band) <= p.amount < threshold]
        for who, group in (
            ("the same requester", [p for p in near if p.requester == current.requester]),
            (
                "the same supplier and site",
                [p for p in near if p.supplier == current.supplier and p.site == current.site],
            ),
        ):
            if not group:
                continue
            together = current.amount + sum((p.amount for p in group), Decimal(0))
            if together < threshold:
                continue
            count = len(group) + 1
            span = max(abs(current.created_at - p.created_at) for p in group)
            days = max(1, span.days + (1 if span.seconds else 0))
            cur = current.policy_currency
            text = (
                f"Possible split purchase: {count} requests from {who} in {days} days, each just under "
                f"{money(threshold, cur)}, add up to {money(together, cur)}."
            )
            return [
                Signal(
                    "split_purchase",
                    text,
                    (Decimal(count), Decimal(days), threshold, together),
                    tuple(sorted(p.number for p in group)),
                    details={"threshold": str(threshold)},
                )
            ]
    return []


def amount_thresholds(policy_data: Any, limits: Iterable[Decimal] = ()) -> list[Decimal]:
    """Every amount a policy compares against (any `amount:` test, however nested) plus approval limits."""
    found: set[Decimal] = {Decimal(x) for x in limits if Decimal(x) > 0}

    def walk(node: Any, under_amount: bool = False) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, under_amount or key == "amount")
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value, under_amount)
        elif under_amount and isinstance(node, (int, float, Decimal)) and not isinstance(node, bool) and node > 0:
            found.add(Decimal(str(node)))
        elif under_amount and isinstance(node, str) and re.fullmatch(r"\d+(\.\d+)?", node):
            found.add(Decimal(node))

    walk(policy_data)
    return sorted(found)


def all_signals(
    current: PastRequest,
    history: Sequence[PastRequest],
    thresholds: Iterable[Decimal] = (),
    prices: PriceBook | None = None,
) -> list[Signal]:
    """Every signal for `current`, most telling first: split purchase, duplicate, price, quantity."""
    return (
        split_purchases(current, history, thresholds)
        + near_duplicates(current, history)
        + price_signals(current, history, prices=prices)
        + quantity_signals(current, history, prices=prices)
    )
