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


# what in the code needs each scope (Slack's method and event pages list the scopes they require)
SCOPE_USES = {
    "chat:write": ("chat_postMessage", "chat_update", "chat_postEphemeral"),
    "commands": ("app.command(",),
    "files:read": ("url_private_download",),
    "im:history": ('app.event("message")',),  # message.im
    "im:write": ("conversations_open",),
    "users:read": ("users_info",),
    "users:read.email": ("users_lookupByEmail", '"email"'),
}


def test_every_scope_asked_for_is_used_by_the_code():
    """The manifest and the default scopes ask only for what bot/slack calls: im:read (conversations.info, .list,
    .members on DMs) is not used, so it is not asked for."""
    source = "\n".join(p.read_text() for p in (MANIFEST.parents[1] / "bot" / "slack").rglob("*.py"))
    scopes = set(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])
    assert scopes == set(SCOPE_USES) and "im:read" not in SlackSettings(_env_file=None).scopes.split(",")
    for scope, uses in SCOPE_USES.items():
        assert any(use in source for use in uses), f"{scope} is asked for and never used"
    for method in ("conversations_info", "conversations_list", "conversations_members", "users_conversations"):
        assert method not in source  # these would need im:read (or channels:read) again
