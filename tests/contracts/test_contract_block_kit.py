"""Every Block Kit message and view procurebot builds, checked with Slack's own models (slack_sdk.models).

Slack publishes no JSON schema for Block Kit; its SDK's block and view classes carry Slack's documented
limits (text lengths, element counts, required fields) and refuse what Slack would. A payload must parse
into a known class, pass its checks, and come back unchanged (nothing unknown dropped on the way).
"""

from __future__ import annotations

from typing import Any

import pytest
from contracts.samples import cards_of_every_kind, service_on
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.cards.model import Card
from bot.slack import blocks, views


@pytest.fixture
def every_card(tmp_path, sqlite_template, directory, policy, clock) -> list[tuple[str, Card]]:  # type: ignore[no-untyped-def]
    service = service_on(tmp_path, sqlite_template, directory, policy, clock)
    try:
        return cards_of_every_kind(service, directory)
    finally:
        service.engine.dispose()


def slack_problems(payload: list[dict[str, Any]]) -> list[str]:
    """What Slack's models refuse in a list of blocks (empty when every block is one Slack knows and accepts)."""
    out = []
    for i, block in enumerate(payload):
        try:
            parsed = Block.parse(block)
        except TypeError as exc:  # a required field is missing
            out.append(f"{i} ({block.get('type')}): {exc}")
            continue
        if parsed is None or type(parsed) is Block:
            out.append(f"{i}: unknown block {block.get('type')!r}")
            continue
        try:
            again = parsed.to_dict()
        except SlackObjectFormationError as exc:
            out.append(f"{i} ({block.get('type')}): {exc}")
            continue
        if again != block:
            out.append(f"{i} ({block.get('type')}): not read as sent: {again} != {block}")
    return out


def view_problems(view: dict[str, Any]) -> list[str]:
    try:
        again = View(**view).to_dict()
    except SlackObjectFormationError as exc:
        return [f"view: {exc}"]
    return slack_problems(view.get("blocks", [])) + ([] if again == view else [f"view not read as sent: {again}"])


def test_every_card_kind_is_a_valid_message(every_card):  # type: ignore[no-untyped-def]
    """Each card kind as a message (with words above it, as a kept copy, and without buttons) is valid Block Kit,
    within 50 blocks; the 200-line requisition is cut and offers the whole of it."""
    for name, card in every_card:
        for variant, payload in (
            ("card", blocks.card_blocks(card)),
            ("message", blocks.message_blocks(card, "Sent for approval to Zoe Martin.", kept=True)),
            ("history", blocks.without_actions(blocks.message_blocks(card, ""), note="Approved by Zoe Martin")),
        ):
            assert len(payload) <= blocks.MAX_BLOCKS, (name, variant)
            assert slack_problems(payload) == [], (name, variant)
    long = next(card for name, card in every_card if name == "long_approval_request")
    assert blocks.FULL in str(blocks.card_blocks(long))


def test_every_view_is_valid(every_card, directory):  # type: ignore[no-untyped-def]
    """The full-requisition modal of each card, the reason forms, the request form and a busy App Home are valid."""
    for name, card in every_card:
        assert view_problems(views.full_modal(card)) == [], name
    for action in ("reject", "request_info", "answer_info"):
        modal = views.reason_modal(action, {"number": "PR-1042", "key": "k"}, "Reason (required)", {"channel": "D1"})
        assert view_problems(modal) == [], action
    form = views.RequestForm(description="Stretch wrap", quantity="40", unit_price="32", supplier="uline", site="DAL")
    assert view_problems(views.request_modal(directory, form, {"channel": "D1"})) == []
    cards = [card for _, card in every_card]
    home = views.HomeData(
        pending=[c for c in cards if c.kind == "approval_request"] * 5,
        mine=[c for c in cards if c.number] * 2,
        delegations=["*Priya Nair* approves for you from Dec 20 to Jan 3"],
        end_delegation=[("End Priya's delegation", "7")],
        people=[("Priya Nair", "priya.nair"), ("Zoe Martin", "zoe.martin")],
        activity=["PR-1042 approved by Zoe Martin"] * 10,
        notice="Delegation set.",
        more_pending=3,
    )
    home_view = views.home_view(home)
    assert len(home_view["blocks"]) <= blocks.MAX_VIEW_BLOCKS and view_problems(home_view) == []


def test_the_check_can_fail():  # type: ignore[no-untyped-def]
    """A section over 3,000 characters, an unknown block, a carousel without elements and a 76-character button
    label are each reported."""
    found = slack_problems(
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
            {"type": "gallery"},
            {"type": "carousel"},
            {
                "type": "actions",
                "elements": [{"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 76}}],
            },
        ]
    )
    assert len(found) == 4, found
