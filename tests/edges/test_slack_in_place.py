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
