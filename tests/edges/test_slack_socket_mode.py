"""Socket Mode: with SLACK_APP_TOKEN the app connects out to Slack at start-up; no public URL is needed."""

from __future__ import annotations

import json

from fake_slack import TEAM, FakeSocketMode
from slack_harness import running, slack_id


def test_socket_mode_receives_a_dm_acks_it_and_answers(db_url, clock, directory):  # type: ignore[no-untyped-def]
    """The app opens a Socket Mode connection; a DM arrives over it, is acknowledged, and Jake gets his answer."""
    with (
        FakeSocketMode() as socket,
        running(db_url, clock, directory, socket_url=socket.url, app_token="xapp-1-A1-test") as slack,
    ):
        assert slack.fake.of("apps.connections.open")[0].token == "xapp-1-A1-test"
        user = slack_id("jake.miller")
        event = {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "APROCURE",
            "event_id": "EvSOCKET",
            "event_time": 1,
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "D" + user,
                "user": user,
                "text": "help",
                "ts": "1800000000.000100",
            },
        }
        ack = socket.send(
            {
                "envelope_id": "env-1",
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": event,
            }
        )
        assert ack is not None and ack["envelope_id"] == "env-1"
        slack.settle()
        (reply,) = slack.posts_to("jake.miller")
        assert "status PR-1042" in json.dumps(reply.args)


def test_socket_mode_without_a_signing_secret_serves_no_http_endpoint(db_url, clock, directory):  # type: ignore[no-untyped-def]
    """Socket Mode set up without SLACK_SIGNING_SECRET: an unsigned POST to /slack/events finds nothing to run,
    so nobody can forge a tap over HTTP."""
    with (
        FakeSocketMode() as socket,
        running(
            db_url, clock, directory, socket_url=socket.url, app_token="xapp-1-A1-test", signing_secret=None
        ) as slack,
    ):
        user = slack_id("jake.miller")
        forged = {
            "type": "event_callback",
            "team_id": TEAM,
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "D" + user,
                "user": user,
                "text": "help",
                "ts": "1800000000.000200",
            },
        }
        answer = slack.client.post("/slack/events", json=forged)
        assert answer.status_code == 404
        slack.settle()
        assert slack.posts_to("jake.miller") == []
