"""Intake: messages written as people write outside a form (phone shorthand, dictation, forwarded quote tables,
budgets, British and European formats) give the facts they state and ask what they leave open."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.intake.extract import Extractor
from bot.intake.tables import rows_as_sentences
from tests.edges.test_intake_extraction import MONDAY, _check_line, understand

TABLE = yaml.safe_load((Path(__file__).parents[1] / "data" / "intake_written_forms.yaml").read_text())


@pytest.fixture(scope="module")
def extractor(directory):  # type: ignore[no-untyped-def]
    return Extractor(directory)


@pytest.mark.parametrize("case", TABLE, ids=[c["text"][:50] for c in TABLE])
def test_written_forms(case, extractor, directory):  # type: ignore[no-untyped-def]
    """Each message gives exactly the expected facts, and the expected first question (or none)."""
    ex, draft, question = understand(extractor, directory, case["text"], case.get("person", "jake.miller"))
    want, where = case["expect"], case["text"]
    if "lines" in want:
        assert len(draft.lines) == len(want["lines"]), f"{where}: lines {draft.lines}"
        for i, (got, line) in enumerate(zip(draft.lines, want["lines"])):
            _check_line(got, line, f"{where} line {i}")
    for key in ("site", "currency"):
        if key in want:
            assert getattr(draft, key) == want[key], f"{where}: {key} is {getattr(draft, key)!r}"
    if "problems" in want:
        assert any(want["problems"] in p for p in ex.problems), f"{where}: problems {ex.problems}"
    if "question" in want:
        assert (question.field if question else None) == want["question"], f"{where}: asked {question}"


def test_a_message_without_a_table_is_unchanged():
    """Prose with line breaks and double spaces is not mistaken for a quote table."""
    text = "need 40 rolls of stretch wrap\nfrom Uline  for Dallas\n\nthanks"
    assert rows_as_sentences(text) == text


def test_a_row_pasted_without_its_header_is_read_by_its_shape():
    """'Carton 20x12x12, bdl of 25 | 30 bundles | $46.25 | $1,387.50' is 30 bundles at $46.25, no header needed."""
    text = "Uline quote below\nS-4127 Carton 20x12x12, bdl of 25 | 30 bundles | $46.25 | $1,387.50"
    assert rows_as_sentences(text).endswith("30 bundles S-4127 Carton 20x12x12 bdl of 25 @ $46.25 = $1,387.50")


def test_a_bar_row_of_another_shape_is_left_as_written():
    """A bar row whose second cell is no count ('Delivery | Tuesday | am') is not made into a purchase line."""
    text = "notes\nDelivery | Tuesday | am"
    assert rows_as_sentences(text) == text


def test_a_table_row_without_a_count_is_left_as_written():
    """A row whose quantity cell is not a number ("TBD") is kept as it came, so the quantity is asked."""
    text = "Item | Qty | Price\nHex bolt | TBD | 0.42"
    assert rows_as_sentences(text).endswith("Hex bolt | TBD | 0.42")


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("order from grainger", ["items", "quantity", "price"]),
        ("$450 from CDW", ["items", "quantity"]),
        ("Staples, $12 each", ["items", "quantity"]),
        ("same as last order but 15 instead of 10", ["items", "price", "supplier"]),
    ],
)
def test_nothing_named_asks_everything_missing_at_once(text, asked, extractor, directory):  # type: ignore[no-untyped-def]
    """With no item named, the first reply asks for the item and for the count and price not said, never for one
    that was said."""
    from bot.intake.draft import questions

    _, draft, _ = understand(extractor, directory, text)
    assert [q.field for q in questions(draft, directory)] == asked


def test_an_unknown_cost_center_before_the_words_cost_centre_is_named_back(extractor, directory):  # type: ignore[no-untyped-def]
    """ "on the MKT-EVENTS cost centre": the code is named back, and the 4 still counts the scanners."""
    ex, draft, _ = understand(
        extractor, directory, "put 4 RF scanners on the MKT-EVENTS cost centre, CDW", "david.okafor"
    )
    assert ex.unknown_cost_center == "MKT-EVENTS"
    assert draft.lines[0].quantity == 4


def test_a_supplier_said_to_be_fine_is_named_back(extractor, directory):  # type: ignore[no-untyped-def]
    """ "Amazon is fine": a supplier the directory lacks is kept for the buyer, not dropped."""
    ex, _, _ = understand(
        extractor,
        directory,
        "Can we get a new microwave for the Phoenix break room? Budget around $150, Amazon is fine",
    )
    assert ex.unknown_supplier == "Amazon"


def test_no_category_is_asked_before_the_item_is_named(extractor, directory):  # type: ignore[no-untyped-def]
    """ "12 of them from fastenal at 8.25": the item is asked, not which of Fastenal's categories it is in."""
    from bot.intake.draft import questions

    _, draft, _ = understand(extractor, directory, "12 of them from fastenal at 8.25", "eric.larsen")
    assert [q.field for q in questions(draft, directory)] == ["items"]


@pytest.mark.parametrize(
    ("text", "seller"),
    [
        ("sherwin williams, traffic paint, 8 gal", "sherwin williams"),
        ("5gal paint x4 sherwin", "sherwin"),
        ("Team lunch for the Seattle crew - budget $25 a head, 18 people, Costco", "Costco"),
    ],
)
def test_a_known_store_named_without_from_is_named_back(text, seller, extractor, directory):  # type: ignore[no-untyped-def]
    """A well-known store named on its own ("sherwin williams, traffic paint") is named back as the supplier the
    directory lacks, and its name stays out of the item's description."""
    ex, draft, _ = understand(extractor, directory, text, "paul.russo")
    assert ex.unknown_supplier == seller
    assert seller.lower() not in draft.lines[0].description.lower()


def test_two_counts_for_one_item_are_asked_not_guessed(extractor, directory):  # type: ignore[no-untyped-def]
    """ "3 M 8210 masks 20 boxes": when a second count stays in the item's words, the count is asked with both
    named, never multiplied by the wrong one."""
    ex, draft, question = understand(extractor, directory, "grainger 3 M 8210 masks 20 boxes 24.50 per box")
    assert draft.lines[0].quantity is None
    assert any("two counts" in p for p in ex.problems)
    assert question is not None and question.field == "quantity"


@pytest.mark.parametrize(
    ("text", "seller"),
    [
        ("diesel for the yard tractor - 400 gal at 3.79, Pacific Pride", "Pacific Pride"),
        ("HVAC repair on the office unit, Goettl Air, 1,250", "Goettl Air"),
        ("quarterly pest control for the Kent DC - Western Exterminator, 310", "Western Exterminator"),
        ("walk-in freezer at CHI is not cooling. Polar Refrigeration 1,150 to fix", "Polar Refrigeration"),
        ("Gate motor died at the Tolleson yard; Desert Gate Co. says $2,300 installed", "Desert Gate Co."),
        ("urgent: lift inspection overdue. Summit Elevator Services, $480", "Summit Elevator Services"),
    ],
)
def test_a_seller_named_apart_by_commas_is_named_back(extractor, text, seller):  # type: ignore[no-untyped-def]
    """A capitalised name standing alone after the item ("..., Pacific Pride") is the unknown seller, named back."""
    ex = extractor.extract(text, now=MONDAY)
    assert ex.unknown_supplier == seller
    assert all(seller.lower() not in line.description.lower() for line in ex.lines)


@pytest.mark.parametrize(
    "text",
    [
        "40 rolls of stretch wrap from uline at 32 a roll, Dallas",
        "need 6 pallets of bottled water, thanks, Rosa",
        "10 cases of copy paper from staples, ASAP, Maria approved",
    ],
)
def test_a_site_a_sign_off_or_a_person_is_not_a_seller(extractor, text):  # type: ignore[no-untyped-def]
    """Words set apart by commas that name a site, a sign-off or a person of the company are never the seller."""
    assert extractor.extract(text, now=MONDAY).unknown_supplier is None
