"""The conversation's seams: which handler a message goes to, and the one place free text is understood."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.intake.assistant import Assistant
from bot.intake.extract import Extraction, Extractor
from bot.intake.routing import Route, route, route_action
from bot.intake.understand import RuleBased

WRAP = "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("help", Route("help")),
        ("stats this month", Route("stats")),
        ("cancel my delegation", Route("cancel_delegation")),
        ("delegate to Priya until Friday", Route("delegate")),
        ("my requests", Route("mine")),
        ("pending", Route("pending")),
        ("remind me in 2 hours", Route("snooze")),
        ("stop my daily digest", Route("digest_off")),
        ("start my digest", Route("digest_on")),
        ("status PR-1042", Route("status", "PR-1042")),
        ("where is my stretch wrap order?", Route("where_is", "stretch wrap")),
        ("cancel", Route("dialogue")),
        (WRAP, Route("dialogue")),
    ],
)
def test_each_message_goes_to_one_handler(text, expected):
    """Short commands reach their own handler in a fixed order; a plain "cancel" and a request go to the dialogue."""
    assert route(text) == expected


def test_each_tap_goes_to_one_handler():
    """Decisions, status, ERP retry and delegation taps have their handlers; draft buttons go to the dialogue."""
    assert [route_action(a) for a in ("approve", "withdraw", "status", "erp.retry", "cancel_delegation", "submit")] == [
        "decision",
        "decision",
        "status",
        "erp.retry",
        "cancel_delegation",
        "dialogue",
    ]


class Shorthand:
    """Another reader: "the usual" means the usual stretch wrap order; everything else reads as before."""

    def __init__(self, extractor: Extractor) -> None:
        self.rules = RuleBased(extractor)
        self.read_texts: list[str] = []

    def read(self, text: str, *, editing: bool, now: datetime, timezone: str) -> Extraction:
        self.read_texts.append(text)
        return self.rules.read(WRAP if text == "the usual" else text, editing=editing, now=now, timezone=timezone)

    def suppliers(self, text: str) -> list[str]:
        return self.rules.suppliers(text)

    def sites(self, text: str) -> list[str]:
        return self.rules.sites(text)


def test_a_replaced_reader_drafts_without_touching_the_dialogue(service, directory):
    """Jake says "the usual"; the replaced reader understands it, the unchanged dialogue shows the summary."""
    reader = Shorthand(Extractor(directory))
    bot = Assistant(service, directory, surface="web", draft_ttl=timedelta(hours=24), understanding=reader)
    replies = bot.handle_message("jake.miller", "the usual")
    summary = [r.card for r in replies if r.card and r.card.kind == "requisition_summary"]
    assert reader.read_texts == ["the usual"]
    assert summary and any("40 roll" in line and "$32.00" in line for line in summary[0].lines)
