"""Slack's Web API misbehaving: rate limits are waited out, a vanished DM is reopened, outages are retried."""

from __future__ import annotations

import pytest
from slack_harness import WRAP, has_button, running, slack_id

from bot.chat.identity import Addresses


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _submit(slack) -> None:  # type: ignore[no-untyped-def]
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")


def test_rate_limited_post_is_retried_after_retry_after(slack):  # type: ignore[no-untyped-def]
    """Slack answers 429 with Retry-After: 1 to the approver's card: the SDK waits and posts it once."""
    slack.dm("jake.miller", WRAP)
    slack.fake.rate_limit_next("chat.postMessage", retry_after=1)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    limited = [c for c in slack.fake.of("chat.postMessage") if c.result.get("error") == "ratelimited"]
    assert len(limited) == 1
    first = limited[0]
    retried = [
        c
        for c in slack.fake.of("chat.postMessage")
        if c.at > first.at
        and c.args["channel"] == first.args["channel"]
        and c.args.get("text") == first.args.get("text")
    ]
    assert retried and retried[0].result.get("ok") is True
    assert len([c for c in slack.posts_to("zoe.martin") if has_button(c, "approve")]) == 1


def test_dm_channel_gone_is_reopened_and_the_card_delivered(slack):  # type: ignore[no-untyped-def]
    """Zoe's remembered DM no longer exists (channel_not_found): the app opens it again and posts the card there."""
    gone = {"channel": "CMISSING1", "user": slack_id("zoe.martin"), "team": "T0PROCURE", "person": "zoe.martin"}
    Addresses(slack.runtime.engine).remember("slack", "zoe.martin", gone)
    _submit(slack)
    assert slack.fake.of("chat.postMessage", channel="CMISSING1")[0].result["error"] == "channel_not_found"
    assert slack.card_to("zoe.martin", "approve")
    assert Addresses(slack.runtime.engine).get("slack", "zoe.martin")["channel"] == "D" + slack_id("zoe.martin")


def _card_with(action: str):  # type: ignore[no-untyped-def]
    """Which chat.postMessage calls a scripted failure hits: a card with the button `action`."""
    return lambda args: f"pb:{action}:" in str(args.get("blocks"))


def test_slack_outage_is_retried_by_the_delivery_job(slack):  # type: ignore[no-untyped-def]
    """Slack fails the approver's card with an internal error: the job retries later and the card arrives once."""
    slack.dm("jake.miller", WRAP)
    slack.fake.fail_next("chat.postMessage", "internal_error", when=_card_with("approve"))
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    zoe = "D" + slack_id("zoe.martin")
    assert [c.result["error"] for c in slack.posts_to("zoe.martin") if not c.result.get("ok")] == ["internal_error"]
    assert slack.fake.delivered("chat.postMessage", channel=zoe) == []  # not yet: the job waits for its retry
    slack.clock.advance(minutes=5)
    slack.settle()
    slack.clock.advance(minutes=5)
    slack.settle()
    assert len([c for c in slack.fake.delivered("chat.postMessage", channel=zoe) if has_button(c, "approve")]) == 1
    jake = "D" + slack_id("jake.miller")
    jake_cards = [
        c
        for c in slack.fake.delivered("chat.postMessage", channel=jake)
        if has_button(c, "withdraw") and not c.args.get("thread_ts")
    ]
    assert len(jake_cards) == 1
    assert len([t for t in slack.thread(jake_cards[0]) if t.startswith("Sent for approval")]) == 1


def test_failed_requester_card_is_posted_once_by_the_retry(slack):  # type: ignore[no-untyped-def]
    """Slack fails Jake's own card (the root of the request's thread): the retry posts it once, then Zoe's card
    and the thread's first line, each once. A failed post is no card: Slack showed nothing for it."""
    slack.dm("jake.miller", WRAP)
    slack.fake.fail_next("chat.postMessage", "internal_error", when=_card_with("withdraw"))
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    jake, zoe = "D" + slack_id("jake.miller"), "D" + slack_id("zoe.martin")
    assert [c.result.get("error") for c in slack.posts_to("jake.miller") if has_button(c, "withdraw")] == [
        "internal_error"
    ]
    slack.clock.advance(minutes=5)
    slack.settle()
    slack.clock.advance(minutes=5)
    slack.settle()
    roots = [
        c
        for c in slack.fake.delivered("chat.postMessage", channel=jake)
        if has_button(c, "withdraw") and not c.args.get("thread_ts")
    ]
    assert len(roots) == 1
    assert len([c for c in slack.fake.delivered("chat.postMessage", channel=zoe) if has_button(c, "approve")]) == 1
    assert len([t for t in slack.thread(roots[0]) if t.startswith("Sent for approval")]) == 1


def test_person_not_in_slack_is_not_posted_to(slack):  # type: ignore[no-untyped-def]
    """An approver Slack does not know (users_not_found) gets no Slack card; nothing fails."""
    del slack.fake.users[slack_id("zoe.martin")]
    _submit(slack)
    assert slack.posts_to("zoe.martin") == []
    assert slack.fake.of("users.lookupByEmail", email="zoe.martin@lonestar.example")
