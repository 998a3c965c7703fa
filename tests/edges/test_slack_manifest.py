"""The Slack app manifest asks for exactly what the code uses: the command, shortcuts, events and scopes."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.settings.slack import SlackSettings
from bot.slack.handlers import shortcuts, uninstall

MANIFEST = Path(__file__).resolve().parents[2] / "manifest" / "slack.yaml"


def test_manifest_matches_the_code():
    """Every shortcut, the /purchase command, the events, the scopes and the URLs line up with the handlers."""
    doc = yaml.safe_load(MANIFEST.read_text())
    features, settings = doc["features"], doc["settings"]
    assert {s["callback_id"] for s in features["shortcuts"]} == {shortcuts.GLOBAL, shortcuts.FROM_MESSAGE}
    assert [c["command"] for c in features["slash_commands"]] == ["/purchase"]
    assert features["app_home"]["home_tab_enabled"] and features["app_home"]["messages_tab_enabled"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_home_opened", "message.im", *uninstall.EVENTS}
    assert set(doc["oauth_config"]["scopes"]["bot"]) == set(SlackSettings(_env_file=None).scopes.split(","))
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
        features["slash_commands"][0]["url"],
    ]
    assert all(u.endswith("/slack/events") for u in urls)
    assert doc["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
    assert len(doc["display_information"]["long_description"]) >= 174  # Slack refuses shorter ones
