"""Intake: what the assistant understands from one free-text message, and the one question it asks next."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from approvals.classify import CatalogClassifier, Classification
from bot.intake.draft import DraftState, fill_defaults, merge, next_question
from bot.intake.extract import Extractor, parse_date

TABLE = yaml.safe_load((Path(__file__).parents[1] / "data" / "intake_messages.yaml").read_text())
MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # 9:00 in Dallas


@pytest.fixture(scope="module")
def extractor(directory):  # type: ignore[no-untyped-def]
    return Extractor(directory)


def understand(extractor, directory, text: str, person: str = "jake.miller"):  # type: ignore[no-untyped-def]
    p = directory.person(person)
    ex = extractor.extract(text, now=MONDAY, timezone=p.timezone or directory.site_by_code[p.site or "DAL"].timezone)
    draft = DraftState()
    merge(draft, ex)
    fill_defaults(draft, p, directory)
    return ex, draft, next_question(draft, directory)


def _check_line(got, want: dict[str, Any], where: str) -> None:  # type: ignore[no-untyped-def]
    for key, value in want.items():
        attr = {"qty": "quantity", "desc": "description"}.get(key, key)
        actual = getattr(got, attr)
        if key == "desc":
            assert value.lower() in actual.lower(), f"{where}: description {actual!r} lacks {value!r}"
        elif value is None or isinstance(value, (str, list)):
            assert actual == value, f"{where}: {attr} is {actual!r}, expected {value!r}"
        else:
            assert actual is not None and Decimal(str(actual)) == Decimal(str(value)), (
                f"{where}: {attr} is {actual!r}, expected {value!r}"
            )


@pytest.mark.parametrize("case", TABLE, ids=[c["text"][:50] for c in TABLE])
def test_message_table(case, extractor, directory):  # type: ignore[no-untyped-def]
    """Each realistic message gives exactly the expected facts, and the expected first question (or none)."""
    ex, draft, question = understand(extractor, directory, case["text"], case.get("person", "jake.miller"))
    want = case["expect"]
    where = case["text"]
    if "lines" in want:
        assert len(draft.lines) == len(want["lines"]), f"{where}: lines {draft.lines}"
        for i, (got, line) in enumerate(zip(draft.lines, want["lines"])):
            _check_line(got, line, f"{where} line {i}")
    for key in ("supplier", "site", "cost_center", "currency", "urgency", "supplier_choices", "site_choices"):
        if key in want:
            assert getattr(draft, key) == want[key], f"{where}: {key} is {getattr(draft, key)!r}"
    if "need_by" in want:
        assert draft.need_by == want["need_by"], f"{where}: need_by {draft.need_by}"
    if "justification" in want:
        assert want["justification"] in draft.justification
    if "problems" in want:
        assert any(want["problems"] in p for p in ex.problems), f"{where}: problems {ex.problems}"
    if "question" in want:
        assert (question.field if question else None) == want["question"], f"{where}: asked {question}"
    if "choices" in want:
        assert [c.value for c in question.choices][: len(want["choices"])] == want["choices"]


def test_table_is_big_enough():
    """The table holds at least 60 realistic messages."""
    assert len(TABLE) >= 60


def test_unknown_words_are_reported_not_guessed(extractor, directory):
    """Words that name nothing in the company are handed back as unread, never turned into facts."""
    ex, draft, _ = understand(extractor, directory, "flibber the quangle wangle please")
    assert not ex.lines and draft.supplier is None
    assert ex.unread


def test_dates_are_read_in_the_requesters_time_zone(extractor, directory):
    """Late Sunday evening in Seattle is already Monday in UTC: "tomorrow" means Seattle's Monday."""
    sunday_night_seattle = datetime(2026, 11, 23, 5, 0, tzinfo=timezone.utc)  # 21:00 Sunday in Seattle
    assert parse_date("tomorrow", now=sunday_night_seattle, timezone="America/Los_Angeles") == date(2026, 11, 23)
    assert parse_date("tomorrow", now=sunday_night_seattle, timezone="UTC") == date(2026, 11, 24)


def test_classifier_is_pluggable(directory):
    """An LLM classifier plugs in through the same interface; the catalog still decides catalog items."""

    class Always:
        def classify(self, text: str) -> Classification | None:
            return Classification("office_supplies", 0.6, "llm")

    ex = Extractor(directory, classifier=Always()).extract("10 mystery widgets from staples at $3 each", now=MONDAY)
    assert ex.lines[0].category == "office_supplies"
    ex = Extractor(directory, classifier=Always()).extract("10 laptops from cdw", now=MONDAY)
    assert ex.lines[0].category == "it_hardware" and ex.lines[0].category_source == "catalog"


def test_keyword_classifier_refuses_ties(directory):
    """When the words point to two categories equally, the classifier says nothing rather than guess."""
    c = CatalogClassifier(directory)
    assert c.classify("tape freight") is not None  # "tape" is a catalog item
    assert c.classify("repair the roof") is None  # mro vs facilities, one word each
    assert c.classify("hvac and lighting") is not None


@pytest.mark.parametrize(
    "text, supplier, unknown",
    [
        ("sprinkler inspection, 3200, vendor is SafeGuard Fire", None, "SafeGuard Fire"),
        ("new scale for shipping, Fairbanks quoted twenty-eight hundred", None, "Fairbanks"),
        ("Can you order 40 pallets for Phoenix? Acme usually has them, $14 each.", "acme-pallets", None),
        ("We need 3 cartridges, and Staples has them for $119.49 apiece.", "staples", None),
        ("Landscaping for Atlanta, BrightView, $450/month, April through September.", None, "BrightView"),
        ("WMS subscription for Phoenix, $1,150/month, 12 months, billed by Fishbowl directly.", None, "Fishbowl"),
        ("DOT inspections for the Dallas box trucks, Penske at $185 each, 6 trucks.", None, "Penske"),
        ("roof over dock 2 patched. Contractor is Midwest Roofing Inc., quote $3,400.", None, "Midwest Roofing Inc"),
        ("need 200 ft of fence repaired, fence guy is Desert Fence Co", None, "Desert Fence Co"),
        ("the guy is coming tomorrow to fix the door, 300", None, None),
    ],
)
def test_a_supplier_named_without_from_is_read_or_named_back_as_written(extractor, text, supplier, unknown):  # type: ignore[no-untyped-def]
    """'vendor is SafeGuard Fire', 'Fairbanks quoted', 'Acme usually has them': known ones set, others named back."""
    ex = extractor.extract(text, now=datetime(2026, 12, 7, 10))
    assert (ex.supplier, ex.unknown_supplier) == (supplier, unknown)
