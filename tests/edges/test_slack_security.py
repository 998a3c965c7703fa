"""Every Slack request is verified, and only the person a card waits on may act on it."""

from __future__ import annotations

import json
import time

import pytest
from slack_harness import STRANGER, WRAP, has_button, number_in, running, slack_id


@pytest.fixture
def slack(db_url, clock, directory):  # type: ignore[no-untyped-def]
    with running(db_url, clock, directory) as harness:
        yield harness


def _body() -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0PROCURE",
            "event_id": "EvX",
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "DX",
                "user": "UX",
                "text": "hi",
                "ts": "1.2",
            },
        }
    ).encode()


def test_forged_signature_is_refused_with_401(slack):  # type: ignore[no-untyped-def]
    """A request signed with the wrong secret gets 401 and nothing is answered or recorded."""
    res = slack.send(_body(), "application/json", secret="not-the-signing-secret")
    assert res.status_code == 401
    slack.settle()
    assert slack.fake.of("chat.postMessage") == []


def test_missing_signature_is_refused_with_401(slack):  # type: ignore[no-untyped-def]
    """A request without Slack's signature headers gets 401."""
    res = slack.client.post("/slack/events", content=_body(), headers={"Content-Type": "application/json"})
    assert res.status_code == 401


def test_stale_timestamp_is_refused_with_401(slack):  # type: ignore[no-untyped-def]
    """A correctly signed request older than five minutes (a replay) gets 401."""
    res = slack.send(_body(), "application/json", timestamp=int(time.time()) - 6 * 60)
    assert res.status_code == 401
    assert slack.fake.of("chat.postMessage") == []


def test_url_verification_answers_the_challenge(slack):  # type: ignore[no-untyped-def]
    """Slack's URL check when the events URL is saved gets its challenge back."""
    body = json.dumps({"type": "url_verification", "token": "x", "challenge": "c-123"}).encode()
    res = slack.send(body, "application/json")
    assert res.status_code == 200 and "c-123" in res.text


def test_unassigned_user_tapping_approve_is_refused(slack):  # type: ignore[no-untyped-def]
    """Emily replays Zoe's Approve button as herself: refused by the core, nothing decided, she is told why."""
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    zoe = slack.card_to("zoe.martin", "approve")
    number = number_in(zoe)
    res = slack.tap("emily.davis", zoe, "approve")
    assert res.status_code == 200
    view = slack.runtime.service.view(number)
    assert view.state == "pending_approval" and not [d for d in view.decisions if d.action == "approve"]
    (told,) = slack.ephemerals_to("emily.davis")
    assert "Zoe Martin" in told
    assert has_button(slack.current(zoe), "approve")  # Zoe's own card is untouched


def test_requester_cannot_approve_their_own_request_by_forging_a_payload(slack):  # type: ignore[no-untyped-def]
    """Jake sends an Approve payload for his own request: the core refuses; the requisition still waits on Zoe."""
    slack.dm("jake.miller", WRAP)
    slack.tap("jake.miller", slack.card_to("jake.miller", "submit"), "submit")
    zoe = slack.card_to("zoe.martin", "approve")
    slack.tap("jake.miller", zoe, "approve")
    assert slack.runtime.service.view(number_in(zoe)).waiting_on == ["zoe.martin"]


def test_unknown_slack_user_gets_a_polite_explanation(slack):  # type: ignore[no-untyped-def]
    """Someone in Slack but not in the company directory is told how to get added, not shown an error."""
    res = slack.dm(STRANGER, "need 10 boxes")
    assert res.status_code == 200
    (reply,) = slack.fake.texts_to("D" + STRANGER)
    assert "can't find you in the company directory" in reply and "stranger@elsewhere.example" in reply
    slack.dm(STRANGER, "hello again")
    assert len(slack.fake.of("users.info", user=STRANGER)) <= 3  # the miss is cached, not looked up every time


def test_people_are_found_by_their_slack_email_once(slack):  # type: ignore[no-untyped-def]
    """Jake is matched to the directory by the e-mail Slack reports, looked up once and then remembered."""
    slack.dm("jake.miller", "help")
    slack.dm("jake.miller", "pending")
    assert len(slack.fake.of("users.info", user=slack_id("jake.miller"))) == 1
