"""Price signals against the catalog and the supplier's contract price when an item has little history, and the
catalog's order sizes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from approvals.directory import Directory
from approvals.errors import DirectoryInvalid
from approvals.signals import (
    OrderSize,
    PastLine,
    PastRequest,
    PriceBook,
    ReferencePrice,
    all_signals,
    price_book,
    price_signals,
)

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
CATALOG = {"PKG-SW-18": ReferencePrice(D(32), "USD", "roll", "catalog")}
BOOK = PriceBook(CATALOG, {("uline", "PKG-SW-18"): ReferencePrice(D(24), "USD", "roll", "contract", "Uline")})


def wrap(price: str, qty: str = "40", unit: str = "roll") -> PastLine:
    return PastLine("Stretch wrap", D(qty), D(price), unit, "PKG-SW-18")


def req(number: str, price: str, *, supplier: str = "uline", days: float = 0, **extra) -> PastRequest:  # type: ignore[no-untyped-def]
    line = wrap(price)
    amount = extra.pop("amount", line.quantity * line.unit_price)
    return PastRequest(
        number, "jake.miller", supplier, "DAL", D(amount), extra.pop("currency", "USD"), T0 + timedelta(days=days),
        "approved", (line,), **extra,
    )  # fmt: skip


def test_almost_twice_the_catalog_price_with_no_history_is_a_signal():
    """Stretch wrap at $60 a roll from a supplier with no contract price, never bought before: 88% above the
    catalog's $32.00, said with the numbers."""
    [s] = price_signals(req("PR-1000", "60", supplier="acme-pallets"), [], prices=PriceBook(CATALOG))
    assert s.kind == "price_high" and s.details["scope"] == "catalog"
    assert s.text == "Stretch wrap: $60.00 a roll is 88% above the catalog price of $32.00."
    assert s.numbers == (D(60), D(88), D(32))


def test_a_price_at_the_contract_price_raises_nothing_and_above_it_names_the_contract():
    """Uline's contract price is $24 (the catalog says $32): $24 raises nothing; $36 is 50% above Uline's contract
    price, not 12% above the catalog."""
    assert price_signals(req("PR-1000", "24"), [], prices=BOOK) == []
    [s] = price_signals(req("PR-1000", "36"), [], prices=BOOK)
    assert s.text == "Stretch wrap: $36.00 a roll is 50% above Uline's contract price of $24.00."
    # another supplier is held to the catalog price
    [low] = price_signals(req("PR-1000", "20", supplier="acme-pallets"), [], prices=BOOK)
    assert low.kind == "price_low" and "38% below the catalog price of $32.00" in low.text


def test_history_still_wins_when_there_is_enough():
    """Five earlier purchases at $55 a roll: $60 is usual for this item, whatever the catalog says."""
    past = [req(f"PR-90{i}", "55", days=-10 + i) for i in range(5)]
    assert price_signals(req("PR-1000", "60"), past, prices=PriceBook(CATALOG)) == []
    [s] = price_signals(req("PR-1000", "80"), past, prices=PriceBook(CATALOG))
    assert "above this item's usual $55.00 (5 past requests)" in s.text
    # two earlier purchases are not a history: the catalog speaks
    found = all_signals(req("PR-1000", "60"), past[:2], prices=PriceBook(CATALOG))
    assert [s.kind for s in found] == ["duplicate", "price_high"]
    assert "above the catalog price of $32.00" in found[1].text


def test_the_reference_is_shown_in_the_requests_currency_or_not_at_all():
    """A euro request converted at routing's rate (1.10 dollars a euro) compares with the catalog in euros; a
    different unit (a case, not a roll) or no rate between the currencies says nothing."""
    euro = req("PR-1000", "55", supplier="acme-pallets", currency="EUR", amount=D("2420.00"), policy_currency="USD")
    [s] = price_signals(euro, [], prices=PriceBook(CATALOG))
    assert s.text == "Stretch wrap: \u20ac55.00 a roll is 89% above the catalog price of \u20ac29.09."
    case = PastRequest(
        "PR-1001", "jake.miller", "acme-pallets", "DAL", D(600), "USD", T0, lines=(wrap("60", unit="case"),)
    )
    assert price_signals(case, [], prices=PriceBook(CATALOG)) == []
    pounds = req("PR-1002", "60", supplier="acme-pallets", currency="GBP", policy_currency="EUR")
    assert price_signals(pounds, [], prices=PriceBook(CATALOG)) == []


def with_contract(directory: Directory, supplier: str, prices: dict[str, object], status: str = "active") -> Directory:
    data = directory.model_dump()
    for s in data["suppliers"]:
        if s["id"] == supplier:
            s["contract_prices"], s["contract_status"] = prices, status
    return Directory.model_validate(data)


def test_the_directory_gives_contract_prices_while_the_contract_is_in_force(directory):
    """Uline's contract lists stretch wrap at $24 a roll: the price book has it for Uline while the contract is
    active, the catalog's $32 for everyone else, and an expired contract binds nobody."""
    book = price_book(with_contract(directory, "uline", {"PKG-SW-18": "24"}))
    assert book.reference("uline", "PKG-SW-18") == ReferencePrice(D(24), "USD", "roll", "contract", "Uline")
    assert book.reference("acme-pallets", "PKG-SW-18") == ReferencePrice(D(32), "USD", "roll", "catalog")
    expired = price_book(with_contract(directory, "uline", {"PKG-SW-18": "24"}, status="expired"))
    assert expired.reference("uline", "PKG-SW-18").kind == "catalog"  # type: ignore[union-attr]


def test_a_contract_price_for_an_unknown_item_or_of_zero_is_refused(directory):
    """A contract price must name a catalog item and be more than zero; the directory says which supplier."""
    with pytest.raises(DirectoryInvalid) as refused:
        with_contract(directory, "uline", {"NO-SUCH-SKU": "24", "PKG-SW-18": "0"})
    text = str(refused.value)
    assert "supplier uline: contract price for 'NO-SUCH-SKU', which is not a catalog item" in text
    assert "supplier uline: contract price for PKG-SW-18 must be more than 0, not 0" in text


def with_order_sizes(directory: Directory, sku: str, **sizes: object) -> Directory:
    data = directory.model_dump()
    for it in data["items"]:
        if it["sku"] == sku:
            it.update(sizes)
    return Directory.model_validate(data)


def test_the_sample_catalog_gives_usual_and_largest_orders_in_the_items_unit(directory):
    """The sample catalog says stretch wrap is usually ordered 40 rolls at a time and never more than 400; an item
    with no figures has none in the price book."""
    book = price_book(directory)
    assert book.orders["PKG-SW-18"] == OrderSize("roll", usual=D(40), largest=D(400))
    assert "PKG-BOX-2012" not in book.orders


def test_an_order_size_of_zero_or_a_largest_order_under_the_usual_is_refused(directory):
    """A usual order must be more than zero, and the largest order cannot be smaller than the usual one; the
    directory says which item and what to fix."""
    with pytest.raises(DirectoryInvalid) as zero:
        with_order_sizes(directory, "PKG-TAPE-2", usual_quantity="0")
    assert "item PKG-TAPE-2: usual_quantity must be more than 0, not 0" in str(zero.value)
    with pytest.raises(DirectoryInvalid) as inverted:
        with_order_sizes(directory, "PKG-TAPE-2", usual_quantity="12", max_order_quantity="6")
    assert "item PKG-TAPE-2: max_order_quantity 6 is less than its usual_quantity 12" in str(inverted.value)
