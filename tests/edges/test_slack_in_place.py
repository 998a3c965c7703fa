"""Answers where the person is: a command's or a tap's response_url (ephemeral, in place) wherever the bot is not
part of the conversation, and the bot's DM known from conversations.open, never guessed from a channel id."""

from __future__ import annotations

import pytest
from slack_harness import WRAP, has_button, running, slack_id, text_of

COLLEAGUES = "D0JAKEZOE"  # a DM between Jake and Zoe: procurebot is not in it


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def test_command_in_a_dm_with_a_colleague_is_answered_in_place(slack):  # type: ignore[no-untyped-def]
    """Jake types /purchase help in his DM with Zoe: the answer appears there for him alone (response_url)."""
    slack.command("jake.miller", "help", channel=COLLEAGUES)
    (answer,) = slack.responses_to("jake.miller")
    assert answer.args["channel"] == COLLEAGUES and answer.args["response_type"] == "ephemeral"
    assert "/purchase status PR-1042" in text_of(answer)
    assert slack.fake.of("chat.postMessage") == [] and slack.fake.of("chat.postEphemeral") == []


def test_a_colleagues_dm_is_never_remembered_as_the_bots_dm(slack):  # type: ignore[no-untyped-def]
    """After /purchase in a DM with Zoe, Jake's bot DM is the one conversations.open gives; his cards go there."""
    jake = slack_id("jake.miller")
    slack.command("jake.miller", WRAP, channel=COLLEAGUES)
    assert slack.fake.of("conversations.open", users=jake)
    assert slack.bot.dm_of("jake.miller") == "D" + jake
    summary = slack.responses_to("jake.miller")[-1]
    assert has_button(summary, "submit")
    slack.tap("jake.miller", summary, "submit")
    number = slack.runtime.service.list(requester="jake.miller")[0].number
    assert slack.root("jake.miller", number).args["channel"] == "D" + jake  # the requisition's thread: his bot DM
    assert not slack.fake.of("chat.postMessage", channel=COLLEAGUES)


def test_command_in_the_bots_dm_is_an_ordinary_message(slack):  # type: ignore[no-untyped-def]
    """/purchase help typed in Jake's DM with procurebot is answered there as a message, not an ephemeral."""
    slack.dm("jake.miller", "hello")  # an event in the bot's IM: that DM is the bot's
    slack.command("jake.miller", "help")
    assert "/purchase status PR-1042" in slack.fake.texts_to("D" + slack_id("jake.miller"))[-1]
    assert slack.responses_to("jake.miller") == []


def test_a_stranger_typing_the_command_anywhere_is_told_in_place(slack):  # type: ignore[no-untyped-def]
    """Someone outside the directory types /purchase in a channel: the polite answer reaches them alone, in place."""
    slack.command("USTRANGER", "need 10 boxes", channel="CPURCHASING")
    (answer,) = slack.responses_to("USTRANGER")
    assert "can't find you" in answer.args["text"] and answer.args["channel"] == "CPURCHASING"
    assert slack.fake.of("chat.postMessage") == []


def _buttons_left(slack, message) -> list[str]:  # type: ignore[no-untyped-def]
    from slack_harness import buttons_of

    return [b["action_id"] for b in buttons_of(slack.current(message))]


def test_submit_on_an_ephemeral_summary_replaces_it_and_answers_in_place(slack):  # type: ignore[no-untyped-def]
    """Jake drafts with /purchase in #purchasing and taps Submit: the summary loses its buttons (replace_original),
    the answer appears there for him alone, and nothing is posted into the channel."""
    slack.command("jake.miller", WRAP, channel="CPURCHASING")
    summary = slack.responses_to("jake.miller")[-1]
    assert has_button(summary, "submit") and has_button(summary, "edit") and has_button(summary, "cancel")
    slack.tap("jake.miller", summary, "submit")
    (replaced,) = slack.updates_of(summary)
    assert replaced.args["replace_original"] is True and _buttons_left(slack, summary) == []
    assert "Done: " in text_of(replaced)
    answer = slack.responses_to("jake.miller")[-1]
    assert answer is not summary and answer.args["channel"] == "CPURCHASING"
    assert slack.runtime.service.list(requester="jake.miller")
    assert not slack.fake.of("chat.postMessage", channel="CPURCHASING")
    assert not slack.fake.of("chat.postEphemeral")


def test_cancel_on_an_ephemeral_summary_leaves_no_live_buttons(slack):  # type: ignore[no-untyped-def]
    """Jake cancels a draft shown in his DM with Zoe: the summary is replaced without Submit/Edit/Cancel."""
    slack.command("jake.miller", WRAP, channel=COLLEAGUES)
    summary = slack.responses_to("jake.miller")[-1]
    slack.tap("jake.miller", summary, "cancel")
    assert _buttons_left(slack, summary) == []
    assert slack.runtime.service.list(requester="jake.miller") == []
    assert not slack.fake.of("chat.postMessage", channel=COLLEAGUES)


def test_approve_from_an_ephemeral_pending_list_replaces_it(slack):  # type: ignore[no-untyped-def]
    """Zoe types /purchase pending in a channel and approves from the answer: recorded, and that answer's buttons go."""
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    (waiting,) = slack.runtime.service.list(waiting_on="zoe.martin")
    slack.command("zoe.martin", "pending", channel="CPURCHASING")
    listed = next(c for c in slack.responses_to("zoe.martin") if has_button(c, "approve"))
    answers = len(slack.responses_to("zoe.martin"))
    slack.tap("zoe.martin", listed, "approve")
    assert slack.runtime.service.view(waiting.number).state in ("approved", "po_pending", "po_created")
    assert not any(a.startswith("pb:approve:") for a in _buttons_left(slack, listed))
    (replaced,) = slack.updates_of(listed)
    assert "approved" in text_of(replaced).lower()
    assert len(slack.responses_to("zoe.martin")) == answers  # the replaced answer says it; no second message
    assert not slack.fake.of("chat.postMessage", channel="CPURCHASING")


def test_reject_through_the_modal_from_an_ephemeral_list_replaces_it(slack):  # type: ignore[no-untyped-def]
    """Zoe rejects from a /purchase pending answer in a channel, giving her reason in the modal: the answer she
    tapped is replaced with what happened, no buttons left."""
    import json

    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    (waiting,) = slack.runtime.service.list(waiting_on="zoe.martin")
    slack.command("zoe.martin", "pending", channel="CPURCHASING")
    listed = next(c for c in slack.responses_to("zoe.martin") if has_button(c, "reject"))
    slack.tap("zoe.martin", listed, "reject")
    view = slack.fake.of("views.open")[-1].args["view"]
    modal = json.loads(view) if isinstance(view, str) else view
    slack.submit_view("zoe.martin", modal, {"reason": {"value": {"type": "plain_text_input", "value": "Too dear"}}})
    assert slack.runtime.service.view(waiting.number).state == "rejected"
    (replaced,) = slack.updates_of(listed)
    assert _buttons_left(slack, listed) == [] and "reject" in text_of(replaced).lower()
    assert not slack.fake.of("chat.postMessage", channel="CPURCHASING")


def test_an_old_wrong_dm_address_still_gets_the_answer_in_place(slack):  # type: ignore[no-untyped-def]
    """Jake's bot DM was once remembered wrongly as his DM with Zoe: /purchase typed there is still answered, in
    place, instead of failing with channel_not_found."""
    jake = slack_id("jake.miller")
    slack.bot.addresses.remember("slack", "jake.miller", {"channel": "DMISSING", "user": jake, "person": "jake.miller"})
    slack.bot._dms.clear()
    slack.fake.fail_next("chat.postMessage", "channel_not_found", when=lambda a: a.get("channel") == "DMISSING")
    slack.command("jake.miller", "help", channel="DMISSING")
    assert any("/purchase status PR-1042" in text_of(c) for c in slack.responses_to("jake.miller"))
