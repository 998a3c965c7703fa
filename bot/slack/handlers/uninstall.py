"""app_uninstalled and tokens_revoked: a workspace removed procurebot, or revoked its tokens.

Slack sends these events (to apps subscribed to them) with the workspace in ``team_id`` and, for
tokens_revoked, the user ids whose tokens went: ``tokens.bot`` for the bot, ``tokens.oauth`` for
user tokens. Many workspaces (OAuth): the workspace's installation rows go, as bolt's own
token-revocation listeners do. One workspace (SLACK_BOT_TOKEN): the token is set aside and the
log says how to reconnect. Either way the Slack surface stops posting there, and the delivery
layer skips that workspace's card copies instead of retrying them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.slack.bot import SlackBot

log = logging.getLogger("procurebot.slack")
EVENTS = ("app_uninstalled", "tokens_revoked")  # subscribed in manifest/slack.yaml


def register(app: Any, bot: SlackBot) -> None:
    @app.event("app_uninstalled")
    async def on_app_uninstalled(body: dict[str, Any], context: Any) -> None:
        await asyncio.to_thread(uninstalled, bot, context.enterprise_id, _team(body, context))

    @app.event("tokens_revoked")
    async def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        tokens = event.get("tokens") or {}
        await asyncio.to_thread(
            revoked,
            bot,
            context.enterprise_id,
            _team(body, context),
            bots=list(tokens.get("bot") or []),
            users=list(tokens.get("oauth") or []),
        )


def _team(body: dict[str, Any], context: Any) -> str | None:
    return context.team_id or body.get("team_id")


def uninstalled(bot: SlackBot, enterprise: str | None, team: str | None) -> None:
    """The workspace removed procurebot: forget its token and delete its installation."""
    clients = bot.clients
    clients.refuse(clients.token_for(team), team, "says procurebot was uninstalled")
    store = clients.installation_store
    if store is not None and not clients.single:
        store.delete_bot(enterprise_id=enterprise, team_id=team)
        store.delete_installation(enterprise_id=enterprise, team_id=team)
        log.info("procurebot was uninstalled from the Slack workspace %s; its installation is deleted", team)


def revoked(bot: SlackBot, enterprise: str | None, team: str | None, *, bots: list[str], users: list[str]) -> None:
    """Tokens of the workspace were revoked: the bot's (nothing can be posted there any more), or users'."""
    clients = bot.clients
    store = clients.installation_store if not clients.single else None
    if bots:
        clients.refuse(clients.token_for(team), team, "says procurebot's bot token was revoked")
        if store is not None:
            store.delete_bot(enterprise_id=enterprise, team_id=team)
    if store is not None:
        for user in users:
            store.delete_installation(enterprise_id=enterprise, team_id=team, user_id=user)
    if store is not None and (bots or users):
        log.info("revoked Slack tokens of the workspace %s deleted (bot: %s, users: %d)", team, bool(bots), len(users))
