"""Taps and events procurebot cannot act on are answered politely, to the person alone, and change nothing else:
an unknown action, a Slack user outside the directory, a tap on a message that is not one of our cards, an event
without a user."""

from __future__ import annotations

import json

import pytest
from fake_slack import Call
from slack_harness import STRANGER, WRAP, has_button, number_in, running, slack_id


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _submit(slack) -> str:  # type: ignore[no-untyped-def]
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    return number_in(slack.card_to("zoe.martin", "approve"))


def test_an_unknown_action_is_acknowledged_with_a_polite_answer(slack):  # type: ignore[no-untyped-def]
    """A button procurebot no longer has (action_id 'old_approve_button'): HTTP 200 and a polite ephemeral answer."""
    slack.dm("jake.miller", "hello")
    message = slack.posts_to("jake.miller")[-1]
    res = slack.tap_element("jake.miller", message, "old_approve_button", "x")
    assert res.status_code == 200
    (answer,) = slack.responses_to("jake.miller")
    assert "don't know that button" in answer.args["text"] and answer.args["response_type"] == "ephemeral"
    assert slack.fake.of("chat.update") == []


def test_a_stranger_tapping_approve_is_told_alone_and_the_approvers_dm_is_untouched(slack):  # type: ignore[no-untyped-def]
    """A Slack user outside the directory taps Approve on Zoe's card: 'I can't find you' reaches them (response_url),
    nothing is posted into Zoe's DM, her card keeps its buttons and nothing is decided."""
    number = _submit(slack)
    zoe = slack.card_to("zoe.martin", "approve")
    before = len(slack.posts_to("zoe.martin"))
    slack.tap(STRANGER, zoe, "approve")
    (answer,) = slack.responses_to(STRANGER)
    assert "can't find you" in answer.args["text"]
    assert len(slack.posts_to("zoe.martin")) == before and not slack.fake.of("chat.postEphemeral")
    assert has_button(slack.current(zoe), "approve")
    assert slack.runtime.service.view(number).state == "pending_approval"


def test_a_refused_tap_on_a_message_that_is_not_our_card_never_rewrites_it(slack):  # type: ignore[no-untyped-def]
    """Jake's payload carries an Approve for his own request on a message of other words: refused, and that message
    is not redrawn (no chat.update with blank text)."""
    number = _submit(slack)
    jake = slack_id("jake.miller")
    other = Call(
        "chat.postMessage",
        {"channel": "D" + jake, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "lunch at 12?"}}]},
        None,
        0.0,
        {"ok": True, "ts": "1700000999.000100"},
    )
    value = json.dumps({"number": number, "key": f"{number}:0:0:jake.miller:a"})
    slack.tap_element("jake.miller", other, "pb:approve:0", value)
    assert [c for c in slack.fake.of("chat.update") if c.args.get("ts") == "1700000999.000100"] == []
    assert slack.runtime.service.view(number).state == "pending_approval"
    assert slack.ephemerals_to("jake.miller")  # he is told why, to him alone


def test_an_event_without_a_user_never_looks_up_an_empty_user(slack):  # type: ignore[no-untyped-def]
    """A message event in the bot's IM with no user (a system message) is dropped: no users.info(""), no reply."""
    ts = "1800000001.000200"
    event = {"type": "message", "channel_type": "im", "channel": "DSYSTEM", "text": "joined", "ts": ts}
    assert slack.event(event).status_code == 200
    assert slack.fake.of("users.info", user="") == [] and slack.fake.of("chat.postMessage") == []
    assert slack.bot.person("T0PROCURE", "") is None and "directory" in slack.bot.unknown("T0PROCURE", "")
    assert slack.fake.of("users.info", user="") == []


def test_a_home_opened_without_a_user_publishes_nothing(slack):  # type: ignore[no-untyped-def]
    """An app_home_opened event with no user: no users.info(""), no views.publish for nobody."""
    assert slack.event({"type": "app_home_opened", "tab": "home"}).status_code == 200
    assert slack.fake.of("users.info") == [] and slack.fake.of("views.publish") == []
