"""A requisition too long for one Slack message: every reader of its card can open the whole of it."""

from __future__ import annotations

import json

import pytest
from factories import submit
from slack_harness import has_button, running, text_of

from bot.slack import blocks


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _long_requisition(slack) -> str:  # type: ignore[no-untyped-def]
    lines = [
        {
            "description": f"Corrugated box size {i:02d}, double wall, printed two colours, for the DAL dock",
            "sku": "PKG-BOX-2012",
            "quantity": 1,
            "unit_price": 48,
        }
        for i in range(60)
    ]
    result = slack.runtime.service.submit(submit(lines=lines))
    slack.settle()
    return result.requisition.number


def _opened(slack) -> dict:  # type: ignore[no-untyped-def]
    view = slack.fake.of("views.open")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_requester_and_approver_both_open_the_full_requisition(slack):  # type: ignore[no-untyped-def]
    """Jake's 60-line request is cut on both his card and the approver's; each taps 'See the full requisition'
    and gets all 60 lines in a modal. No card points at the admin console."""
    number = _long_requisition(slack)
    approver = slack.runtime.service.view(number).waiting_on[0]
    cards = [slack.root("jake.miller", number), slack.card_to(approver, "approve", number)]
    for card in cards:
        assert has_button(card, blocks.FULL) and "size 59" not in text_of(card)
        assert "/console" not in text_of(card)
    for person, card in zip(("jake.miller", approver), cards):
        opened = len(slack.fake.of("views.open"))
        slack.tap(person, card, blocks.FULL)
        assert len(slack.fake.of("views.open")) == opened + 1
        modal = json.dumps(_opened(slack))
        assert all(f"size {i:02d}" in modal for i in range(60)) and number in modal
    assert slack.runtime.service.view(number).state == "pending_approval"  # looking changes nothing
    assert slack.ephemerals_to("jake.miller") == [] and slack.ephemerals_to(approver) == []


def test_someone_outside_the_directory_is_told_so_instead(slack):  # type: ignore[no-untyped-def]
    """A Slack user the directory does not know taps the button on a forwarded card: no modal, a polite answer."""
    number = _long_requisition(slack)
    card = slack.root("jake.miller", number)
    opened = len(slack.fake.of("views.open"))
    slack.tap("USTRANGER", card, blocks.FULL)
    assert len(slack.fake.of("views.open")) == opened
    (answer,) = slack.responses_to("USTRANGER")  # in place, to them alone
    assert "directory" in answer.args["text"].lower()
