"""History signals and the summary's number check: pure functions over plain data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

from approvals.signals import (
    OrderSize,
    PastLine,
    PastRequest,
    PriceBook,
    all_signals,
    amount_thresholds,
    near_duplicates,
    price_signals,
    quantity_signals,
    split_purchases,
)
from approvals.summary import Finding, SummaryFacts, check_summary, deterministic_summary, numbers_in

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def req(
    number: str,
    amount: str,
    *,
    days: float = 0,
    requester: str = "jake.miller",
    supplier: str = "uline",
    site: str = "DAL",
    lines: tuple[PastLine, ...] = (),
    state: str = "approved",
) -> PastRequest:
    return PastRequest(number, requester, supplier, site, D(amount), "USD", T0 + timedelta(days=days), state, lines)


def wrap(qty: str, price: str) -> PastLine:
    return PastLine("Stretch wrap", D(qty), D(price), "roll", "PKG-SW-18")


HISTORY = [req(f"PR-{900 + i}", str(40 * 32), days=-30 + i, lines=(wrap("40", "32"),)) for i in range(5)]


def test_price_far_above_the_items_usual_is_a_signal():
    """Stretch wrap at $41 a roll when it was $32 five times before: 28% above the usual, said with the numbers."""
    current = req("PR-1000", "1640", lines=(wrap("40", "41"),))
    [s] = price_signals(current, HISTORY)
    assert s.kind == "price_high"
    assert "$41.00 a roll is 28% above this item's usual $32.00 (5 past requests)" in s.text


def test_usual_prices_and_short_histories_say_nothing():
    """A normal price, or fewer than three past purchases, gives no price signal."""
    assert price_signals(req("PR-1000", "1320", lines=(wrap("40", "33"),)), HISTORY) == []
    assert price_signals(req("PR-1000", "1640", lines=(wrap("40", "41"),)), HISTORY[:2]) == []


def test_rejected_history_does_not_count():
    """Rejected or withdrawn requests are not part of what is usual."""
    dead = [req(p.number, str(p.amount), days=-3, lines=(wrap("40", "10"),), state="rejected") for p in HISTORY]
    assert price_signals(req("PR-1000", "1280", lines=(wrap("40", "32"),)), HISTORY + dead) == []


def test_quantity_many_times_the_usual_is_a_signal():
    """400 rolls when 40 is the usual order is ten times the usual quantity."""
    [s] = quantity_signals(req("PR-1000", "12800", lines=(wrap("400", "32"),)), HISTORY)
    assert s.kind == "quantity_high" and "400 is 10 times the usual quantity of 40" in s.text


WRAP_ORDERS = PriceBook(orders={"PKG-SW-18": OrderSize("roll", usual=D(50), largest=D(1000))})


def test_a_quantity_with_little_history_is_compared_with_the_catalogs_usual_order():
    """Never bought before, 500 rolls where the catalog's usual order is 50: ten times it, said with the numbers;
    149 rolls (under three times) says nothing, and with no catalog figure a thin history says nothing."""
    [s] = quantity_signals(req("PR-1000", "16000", lines=(wrap("500", "32"),)), [], prices=WRAP_ORDERS)
    assert s.kind == "quantity_high" and s.details["scope"] == "catalog"
    assert s.text == "Stretch wrap: 500 is 10 times the catalog's usual order of 50."
    assert s.numbers == (D(500), D(10), D(50))
    assert quantity_signals(req("PR-1000", "4768", lines=(wrap("149", "32"),)), [], prices=WRAP_ORDERS) == []
    assert quantity_signals(req("PR-1000", "16000", lines=(wrap("500", "32"),)), HISTORY[:2]) == []


def test_history_at_any_site_wins_over_the_catalogs_usual_order():
    """Five earlier orders of 400 rolls, at Chicago: 500 rolls at Dallas is usual for this item, whatever the
    catalog says; with two earlier orders the catalog speaks."""
    chicago = [req(f"PR-{900 + i}", "12800", days=-30 + i, site="CHI", lines=(wrap("400", "32"),)) for i in range(5)]
    current = req("PR-1000", "16000", lines=(wrap("500", "32"),))
    assert quantity_signals(current, chicago, prices=WRAP_ORDERS) == []
    [s] = quantity_signals(current, chicago[:2], prices=WRAP_ORDERS)
    assert "the catalog's usual order of 50" in s.text


def test_above_the_catalogs_largest_order_is_said_whatever_the_history():
    """The catalog allows 1000 rolls in one order: after five earlier orders of 400, 1100 rolls (under three times
    the usual) is above the catalog's largest order; 1200 (three times the usual) is said once, by the history."""
    big = [req(f"PR-{900 + i}", "12800", days=-30 + i, lines=(wrap("400", "32"),)) for i in range(5)]
    [s] = quantity_signals(req("PR-1000", "35200", lines=(wrap("1100", "32"),)), big, prices=WRAP_ORDERS)
    assert s.text == "Stretch wrap: 1,100 is more than the catalog's largest order of 1,000."
    assert s.numbers == (D(1100), D(1000)) and s.details["scope"] == "catalog_largest"
    [once] = quantity_signals(req("PR-1000", "38400", lines=(wrap("1200", "32"),)), big, prices=WRAP_ORDERS)
    assert "3 times the usual quantity of 400 (5 past requests)" in once.text  # one line, one signal


def test_a_catalog_quantity_in_another_unit_says_nothing():
    """The catalog counts rolls; 500 cases of stretch wrap are not compared with a usual order of 50 rolls."""
    cases = PastLine("Stretch wrap", D(500), D(32), "case", "PKG-SW-18")
    assert quantity_signals(req("PR-1000", "16000", lines=(cases,)), [], prices=WRAP_ORDERS) == []


def test_all_signals_compare_quantities_with_the_catalog():
    """The card's signals include the catalog's usual order when the price book carries one."""
    found = all_signals(req("PR-1000", "16000", lines=(wrap("500", "32"),)), [], prices=WRAP_ORDERS)
    assert [s.text for s in found] == ["Stretch wrap: 500 is 10 times the catalog's usual order of 50."]


def test_near_duplicate_names_the_earlier_request():
    """The same items from the same supplier to the same site, at a close amount, two days apart."""
    earlier = req("PR-990", "1280", days=-2, lines=(wrap("40", "32"),), state="pending_approval")
    [s] = near_duplicates(req("PR-1000", "1300", lines=(wrap("40", "32.5"),)), [earlier])
    assert s.kind == "duplicate" and s.related == ("PR-990",) and "repeat of PR-990" in s.text
    other_site = req("PR-991", "1280", days=-2, site="CHI", lines=(wrap("40", "32"),))
    assert near_duplicates(req("PR-1000", "1300", lines=(wrap("40", "32.5"),)), [other_site]) == []


def test_split_purchase_just_under_a_threshold():
    """Three requests of $2,400 from one requester in three days, each under $2,500, together pass it."""
    past = [req("PR-1", "2400", days=-2, supplier="grainger"), req("PR-2", "2450", days=-1, supplier="fastenal")]
    [s] = split_purchases(req("PR-3", "2400"), past, [D(2500), D(10000)])
    assert s.kind == "split_purchase" and s.related == ("PR-1", "PR-2")
    assert "3 requests from the same requester" in s.text and "$2,500.00" in s.text and "$7,250.00" in s.text


def test_no_split_when_far_under_or_long_ago():
    """Requests well under the threshold, or weeks apart, are not a split."""
    assert split_purchases(req("PR-3", "1000"), [req("PR-1", "1000", days=-1)], [D(2500)]) == []
    assert split_purchases(req("PR-3", "2400"), [req("PR-1", "2400", days=-20)], [D(2500)]) == []


def test_thresholds_come_from_the_policy_and_the_limits(policy, directory):
    """Every amount the policy compares against, plus the people's approval limits, is a threshold."""
    found = amount_thresholds(policy.spec.model_dump(mode="json"), [p.approval_limit for p in directory.people])
    assert D(2500) in found and D(5000) in found
    assert amount_thresholds({"rules": [{"when": {"amount": {"gt": 750, "lte": "1200"}, "line_count": 3}}]}) == [
        D(750),
        D(1200),
    ]


def test_all_signals_puts_the_split_first():
    """A split purchase is the most telling finding and comes first."""
    past = [req("PR-1", "2400", days=-1, lines=(wrap("75", "32"),))]
    found = all_signals(req("PR-2", "2400", lines=(wrap("75", "32"),)), past, [D(2500)])
    assert [s.kind for s in found][:2] == ["split_purchase", "duplicate"]


FACTS = SummaryFacts(
    number="PR-1000",
    total="$7,250.00",
    category="mro",
    item_type="mro",
    urgency="standard",
    supplier="Acme",
    supplier_risk="high",
    lines=({"item": "Gloves", "quantity": "40", "unit_price": "$54.00"},),
    findings=(
        Finding(
            "split_purchase",
            "Possible split purchase: 3 requests from the same "
            "requester in 3 days, each just under $2,500.00, add up to $7,250.00.",
        ),
        Finding("supplier", "Acme: risk tier high, no contract."),
    ),
)


def test_a_summary_with_our_numbers_passes_in_any_spelling():
    """ "$2,500" and "$2,500.00" are the same number; a grounded summary is accepted."""
    text = "Three requests in 3 days each came in just under $2,500, together $7,250. Acme has no contract."
    assert check_summary(text, FACTS) is None
    assert numbers_in("$2,500.00 and 28% of 1,500 units, PR-1042.") == {D(2500), D(28), D(1500), D(1042)}


def test_a_summary_with_a_number_we_did_not_give_is_dropped():
    """An invented amount, a decision, or a link makes the summary unusable."""
    assert "not in the facts: 9999" in (check_summary("The total is $9,999 over budget.", FACTS) or "")
    assert check_summary("Acme is risky; I recommend you approve it.", FACTS) == "speaks of approving or rejecting"
    assert check_summary("See https://example.com for Acme.", FACTS) == "contains a link or an address"
    assert check_summary("", FACTS) == "empty"


def test_deterministic_summary_is_the_first_findings():
    """Without an LLM the note is the findings' own sentences; nothing unusual means no note."""
    assert deterministic_summary(FACTS) == " ".join(f.text for f in FACTS.findings)
    plain = SummaryFacts("PR-1", "$1.00", "it", "stock", "standard", "CDW", "low", (), ())
    assert deterministic_summary(plain) is None
