"""docs/slack.md's installation guide, followed step by step in the order written, against the fake Slack: the
events URL answers Slack's check with only the signing secret set, before a bot token exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from fake_slack import FakeSlackServer, sign
from fastapi.testclient import TestClient
from slack_harness import SECRET, running, slack_id

from bot.api.app import create_app
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.settings.slack import SlackSettings
from bot.slack import mount as slack_mount

ROOT = Path(__file__).resolve().parents[2]
HOST = "https://procurebot.example.com"


def _steps() -> list[str]:
    doc = (ROOT / "docs" / "slack.md").read_text()
    guide = doc[doc.index("## Install (one workspace)") : doc.index("People are matched")]
    return [m.group(1) for m in re.finditer(r"^\d\. (.*?)(?=^\d\. |\Z)", guide, re.S | re.M)]


def _urls(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [u for v in node.values() for u in _urls(v)]
    if isinstance(node, list):
        return [u for v in node for u in _urls(v)]
    return [node] if isinstance(node, str) and node.startswith(HOST) else []


def _check(client: TestClient, challenge: str, secret: str = SECRET) -> Any:
    body = json.dumps({"type": "url_verification", "token": "x", "challenge": challenge}).encode()
    headers = {"Content-Type": "application/json", **sign(secret, body)}
    return client.post("/slack/events", content=body, headers=headers)


def test_the_install_guide_works_in_the_order_written(db_url, clock, directory):  # type: ignore[no-untyped-def]
    """Create from the manifest (five URLs), set only the signing secret: Slack's URL check passes (a forged one
    does not); install, set the token, restart: a DM is answered."""
    create, secret, verify, token = _steps()
    urls = _urls(yaml.safe_load((ROOT / "manifest" / "slack.yaml").read_text()))
    assert len(urls) == 5 and "five URLs" in create
    assert "SLACK_SIGNING_SECRET" in secret and "SLACK_BOT_TOKEN" not in create + secret + verify
    assert "SLACK_BOT_TOKEN" in token and "Install to Workspace" in token

    # steps 2 and 3: only the signing secret; Slack checks the events URL
    with FakeSlackServer() as fake:
        settings = Settings(database_url=db_url, admin_token=None, env="dev", _env_file=None)
        runtime = build_runtime(settings)
        app = create_app(settings, runtime=runtime)
        only_secret = SlackSettings(signing_secret=SECRET, api_base_url=fake.hooks_url + "/api/", _env_file=None)
        assert slack_mount.install(app, only_secret) is False  # not on yet: no token
        with TestClient(app) as client:
            checked = _check(client, "c-before-token")
            assert checked.status_code == 200 and checked.json() == {"challenge": "c-before-token"}
            assert _check(client, "c-forged", secret="not-the-secret").status_code == 401
            event = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
            other = client.post(
                "/slack/events", content=event, headers={"Content-Type": "application/json", **sign(SECRET, event)}
            )
            assert other.status_code == 200 and other.json()["error"] == "slack_not_installed"
        assert fake.calls == []  # nothing is asked of Slack before the token
        runtime.engine.dispose()

    # step 4: installed, the token set, restarted
    with running(db_url, clock, directory) as slack:
        assert _check(slack.client, "c-after").json() == {"challenge": "c-after"}
        slack.dm("jake.miller", "help")
        assert slack.fake.texts_to("D" + slack_id("jake.miller"))
