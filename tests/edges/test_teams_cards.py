"""Adaptive Cards for Teams from the neutral card: schema 1.5, Action.Execute, signed data, forms, refresh."""

from __future__ import annotations

import pytest

from bot.cards.model import Card, CardAction, Fact
from bot.teams import cards

KEY = b"k" * 32


def _card(actions: list[CardAction] | None = None) -> Card:
    return Card(
        kind="approval_request",
        title="PR-1042: stretch wrap",
        number="PR-1042",
        status="Waiting on you.",
        facts=[Fact(label="Total", value="$1,280.00")],
        lines=["40 roll x stretch wrap"],
        why_you="Up to $5,000 -> the requester's manager",
        exceptions=["Urgent"],
        tone="warn",
        actions=actions
        if actions is not None
        else [
            CardAction(id="approve", label="Approve", style="primary", value={"number": "PR-1042", "key": "a"}),
            CardAction(
                id="reject",
                label="Reject",
                style="danger",
                value={"number": "PR-1042", "key": "r"},
                input_label="Reason (required)",
            ),
        ],
    )


def test_card_is_adaptive_1_5_with_execute_actions_forms_and_refresh():  # type: ignore[no-untyped-def]
    """Approve is a plain Action.Execute; Reject opens a form with a required text; approvers get a refresh."""
    content = cards.render(_card(), secret=KEY, refresh_user_ids=["29:zoe", "29:zoe", ""], banner="Done.")
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.5"
    approve, reject = content["actions"]
    assert approve["type"] == "Action.Execute" and approve["verb"] == "approve" and approve["style"] == "positive"
    assert approve["data"]["number"] == "PR-1042" and approve["data"]["pb_card"] == "PR-1042"
    assert approve["associatedInputs"] == "none"
    assert reject["type"] == "Action.ShowCard"
    (field,) = reject["card"]["body"]
    assert field == {**field, "type": "Input.Text", "id": "pb_text_reject", "isRequired": True}
    (submit,) = reject["card"]["actions"]
    assert submit["verb"] == "reject" and submit["style"] == "destructive" and submit["associatedInputs"] == "auto"
    assert content["refresh"]["userIds"] == ["29:zoe"] and content["refresh"]["action"]["verb"] == "refresh"
    assert content["body"][0]["items"][0]["text"] == "Done."


def test_signed_data_reads_back_and_any_change_is_refused():  # type: ignore[no-untyped-def]
    """The value comes back with the typed text; a changed field, verb, key or a missing signature is Tampered."""
    data = cards.render(_card(), secret=KEY)["actions"][0]["data"]
    value, typed, number = cards.read_action(KEY, "approve", {**data, cards.INPUT_ID: "looks fine"})
    assert value == {"number": "PR-1042", "key": "a"} and typed == "looks fine" and number == "PR-1042"
    for verb, forged, key in [
        ("approve", {**data, "number": "PR-1"}, KEY),
        ("reject", data, KEY),
        ("approve", data, b"other-key"),
        ("approve", {**data, "extra": "x"}, KEY),
        ("approve", {k: v for k, v in data.items() if k != "pb_sig"}, KEY),
        ("approve", {**data, "number": ["PR-1042"]}, KEY),
        ("approve", "PR-1042", KEY),
    ]:
        with pytest.raises(cards.Tampered):
            cards.read_action(key, verb, forged)


def test_many_actions_overflow_and_refresh_is_capped_at_sixty_users():  # type: ignore[no-untyped-def]
    """A queue of 12 requests shows 5 buttons and the rest in the overflow menu; refresh lists at most 60 people."""
    actions = [CardAction(id="status", label=f"Open PR-{i}", value={"number": f"PR-{i}"}) for i in range(12)]
    content = cards.render(_card(actions), secret=KEY, refresh_user_ids=[f"29:{i:03d}" for i in range(80)])
    modes = [a.get("mode") for a in content["actions"]]
    assert modes[:5] == [None] * 5 and set(modes[5:]) == {"secondary"}
    assert len(content["refresh"]["userIds"]) == cards.MAX_REFRESH_USERS


def test_a_card_without_a_requisition_has_no_refresh():  # type: ignore[no-untyped-def]
    """A question or help card is not tied to a requisition: no refresh, even with users given."""
    question = Card(
        kind="question",
        title="Which supplier?",
        actions=[CardAction(id="choose", label="Uline", value={"field": "supplier", "value": "uline"})],
    )
    content = cards.render(question, secret=KEY, refresh_user_ids=["29:a"])
    assert "refresh" not in content and content["actions"][0]["data"]["value"] == "uline"
