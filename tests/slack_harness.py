"""Driving the real FastAPI app as Slack does: signed events, commands and interactivity payloads,
with a fake Slack Web API on 127.0.0.1 recording what the app says back."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from fake_slack import TEAM, Call, FakeSlack, FakeSlackServer, sign
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.settings.slack import SlackSettings
from bot.slack import mount as slack_mount

SECRET = "test-signing-secret-0123456789abcdef"
TOKEN = "xoxb-test-0000-procurebot"
WRAP = "need 40 rolls of stretch wrap for Dallas from Uline, about $32 a roll, by Friday, urgent"
STRANGER = "USTRANGER"


def slack_id(person_id: str) -> str:
    return "U" + person_id.replace(".", "").upper()


@dataclass
class Slack:
    client: TestClient
    fake: FakeSlack
    runtime: Any
    clock: Any
    _ts: Iterator[int]

    @property
    def bot(self) -> Any:
        return self.client.app.state.slack  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ sending like Slack
    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        secret: str = SECRET,
    ) -> Any:
        all_headers = {"Content-Type": content_type, **sign(secret, body, timestamp), **(headers or {})}
        return self.client.post("/slack/events", content=body, headers=all_headers)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None, settle: bool = True
    ) -> Any:
        body = {
            "token": "unused",
            "team_id": TEAM,
            "api_app_id": "APROCURE",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ts)}",
            "event_time": int(time.time()),
            "event": event,
        }
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        res = self.send(json.dumps(body).encode(), "application/json", headers=headers)
        if settle:
            self.settle()
        return res

    def dm(self, person: str, text: str, *, thread: str | None = None, **kw: Any) -> Any:
        user = person if person.startswith("U") else slack_id(person)
        ts = f"{1_800_000_000 + next(self._ts)}.000200"
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D" + user,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "team": TEAM,
        }
        if thread:
            event["thread_ts"] = thread
        return self.event(event, **kw)

    def interact(self, payload: dict[str, Any], *, settle: bool = True, **kw: Any) -> Any:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        res = self.send(body, "application/x-www-form-urlencoded", **kw)
        if settle:
            self.settle()
        return res

    def command(self, person: str, text: str, *, channel: str | None = None) -> Any:
        """/purchase `text` typed by `person` in `channel` (their DM with the bot unless told), with the response_url
        Slack sends along."""
        user = person if person.startswith("U") else slack_id(person)
        channel = channel or "D" + user
        form = {
            "token": "unused",
            "team_id": TEAM,
            "user_id": user,
            "command": "/purchase",
            "text": text,
            "channel_id": channel,
            "trigger_id": f"trig{next(self._ts)}",
            "response_url": self.fake.hook("commands", channel=channel, user=user),
        }
        res = self.send(urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded")
        self.settle()
        return res

    def tap(self, person: str, message: Call, action: str, *, settle: bool = True, **kw: Any) -> Any:
        """Tap the button `action` (approve, reject, submit...) on a message the app posted (or answered through a
        response_url: an ephemeral message), as Slack sends the block_actions payload, response_url included."""
        element = button(message, action)
        return self.tap_element(person, message, element["action_id"], element.get("value", ""), settle=settle, **kw)

    def tap_element(
        self, person: str, message: Call, action_id: str, value: str = "", *, settle: bool = True, **kw: Any
    ) -> Any:
        """A block_actions payload for the element `action_id` on `message`, whatever the element is."""
        user = person if person.startswith("U") else slack_id(person)
        channel = message.args["channel"]
        ts = message.result.get("ts") or message.result.get("message_ts")
        ephemeral = message.method in ("response_url", "chat.postEphemeral")
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "APROCURE",
            "trigger_id": f"trig{next(self._ts)}",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
            "channel": {"id": channel},
            "message": {"ts": ts, "blocks": blocks_of(message)},
            "response_url": self.fake.hook("actions", channel=channel, user=user, message_ts=ts),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": f"{time.time():.6f}{next(self._ts)}",
                }
            ],
        }
        return self.interact(payload, settle=settle, **kw)

    def submit_view(self, person: str, view: dict[str, Any], values: dict[str, Any]) -> Any:
        user = slack_id(person)
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "APROCURE",
            "trigger_id": f"trig{next(self._ts)}",
            "view": {**view, "id": f"V{next(self._ts)}", "hash": f"h{next(self._ts)}", "state": {"values": values}},
        }
        return self.interact(payload)

    def settle(self) -> None:
        """Let the work done after the acknowledgement finish, then the card fan-out, then its replies."""
        for _ in range(3):
            self.bot.background.join()
            self.runtime.chat.drain()
        self.bot.background.join()

    # ------------------------------------------------------------------ reading what the app said
    def posts_to(self, person: str) -> list[Call]:
        return self.fake.of("chat.postMessage", channel="D" + slack_id(person))

    def current(self, message: Call) -> Call:
        """A posted message as it looks now: its last chat.update, if any (same channel and ts)."""
        updates = self.updates_of(message)
        if not updates:
            return message
        return Call(
            message.method,
            {**message.args, "blocks": updates[-1].args.get("blocks")},
            message.token,
            updates[-1].at,
            message.result,
        )

    def card_to(self, person: str, action: str, number: str | None = None) -> Call:
        """The last message in the person's DM that carries the button `action` now (for the requisition)."""
        found = [
            c
            for c in map(self.current, self.posts_to(person))
            if has_button(c, action) and (number is None or number in json.dumps(blocks_of(c)))
        ]
        assert found, f"no {action} button in {person}'s DM: {[c.args.get('text') for c in self.posts_to(person)]}"
        return found[-1]

    def root(self, person: str, number: str) -> Call:
        """The requester's card for the requisition: the root of its thread in their DM."""
        return next(
            c
            for c in self.posts_to(person)
            if not c.args.get("thread_ts") and has_button(c, "withdraw") and number in json.dumps(blocks_of(c))
        )

    def thread(self, root: Call) -> list[str]:
        return [c.args["text"] for c in self.fake.of("chat.postMessage", thread_ts=root.result["ts"])]

    def ephemerals_to(self, person: str) -> list[str]:
        """What only this person was shown: chat.postEphemeral, and new messages through a response_url."""
        return [c.args.get("text", "") for c in self.ephemeral_calls(person)]

    def ephemeral_calls(self, person: str) -> list[Call]:
        user = person if person.startswith("U") else slack_id(person)
        return [
            c
            for c in self.fake.calls
            if c.args.get("user") == user
            and c.result.get("ok")
            and (c.method == "chat.postEphemeral" or (c.method == "response_url" and not c.args.get("replaces")))
        ]

    def responses_to(self, person: str) -> list[Call]:
        """The messages the app sent through response URLs of this person's commands and taps (new ones only)."""
        return [c for c in self.ephemeral_calls(person) if c.method == "response_url"]

    def updates_of(self, message: Call) -> list[Call]:
        ts = message.result.get("ts")
        if message.method == "response_url":
            return [c for c in self.fake.of("response_url") if c.args.get("replaces") == ts and c.result.get("ok")]
        return [c for c in self.fake.of("chat.update") if c.args.get("ts") == ts]


def blocks_of(call: Call) -> list[dict[str, Any]]:
    value = call.args.get("blocks") or []
    return json.loads(value) if isinstance(value, str) else value


def buttons_of(call: Call) -> list[dict[str, Any]]:
    return [e for b in blocks_of(call) if b.get("type") == "actions" for e in b.get("elements", [])]


def has_button(call: Call, action: str) -> bool:
    return any(e.get("action_id", "").startswith(f"pb:{action}:") for e in buttons_of(call))


def button(call: Call, action: str) -> dict[str, Any]:
    return next(e for e in buttons_of(call) if e.get("action_id", "").startswith(f"pb:{action}:"))


def text_of(call: Call) -> str:
    return json.dumps(blocks_of(call)) + " " + str(call.args.get("text", ""))


def number_in(call: Call) -> str:
    import re

    found = re.search(r"PR-\d+", text_of(call))
    assert found, text_of(call)
    return found.group(0)


@contextmanager
def running(db_url: str, clock: Any, directory: Any, *, socket_url: str = "", **slack_settings: Any) -> Iterator[Slack]:
    """The real app with Slack configured against a fake Slack Web API, for the test's database and clock."""
    server = FakeSlackServer()
    server.fake.socket_url = socket_url
    server.fake.users = {slack_id(p.id): p.email for p in directory.people}
    server.fake.users[STRANGER] = "stranger@elsewhere.example"
    with server as fake:
        settings = Settings(database_url=db_url, admin_token=None, env="dev", _env_file=None)
        runtime = build_runtime(settings)
        runtime.service.clock = clock
        runtime.chat.clock = clock
        app = create_app(settings, runtime=runtime)
        config = {"bot_token": TOKEN, "signing_secret": SECRET, **slack_settings}
        slack_mount.install(app, SlackSettings(api_base_url=server.base_url, _env_file=None, **config))
        with TestClient(app) as client:
            yield Slack(client, fake, runtime, clock, itertools.count(1))
        runtime.engine.dispose()
